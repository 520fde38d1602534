/* component.c — placeholder */
#include "internal.h"
