/* http.c — placeholder */
#include "internal.h"
