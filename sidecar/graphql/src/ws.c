/* ws.c — placeholder */
#include "internal.h"
