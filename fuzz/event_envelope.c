/* event_envelope.c — fuzz the envelope parser/validator: every event received
 * from the stream or an app goes through byron_event_parse. Must never crash,
 * leak or accept something byron_event_validate rejects on re-check. */
#include "envelope.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_object *ev = NULL;
    byron_err_t err;
    if (byron_event_parse((const char *)data, size, &ev, &err) == BYRON_OK) {
        if (byron_event_validate(ev, &err) != BYRON_OK) abort();
        json_object_put(ev);
    }
    return 0;
}
