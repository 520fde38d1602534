/* handler_answer.c — fuzz the validation of an app's event-handler answer
 * (byron_projector_answer_parse, projector.h): every answer the sink gets from an
 * app goes through it before anything reaches the cache. Must never crash or
 * leak; an accepted answer holds only known models, valid ids and fields, and
 * no delete mixed with set/unset. The first input byte picks own vs
 * subscribed event. */
#include "byron/json.h"
#include "projector.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONFIG[] =
    "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"orders\",\"namespace\":\"shop\",\"partitions\":4,"
    "\"enums\":[{\"name\":\"OrderStatus\",\"values\":[\"OPEN\",\"SHIPPED\"]}],"
    "\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\",\"required\":"
    "true},"
    "{\"name\":\"status\",\"type\":\"OrderStatus\"},{\"name\":\"count\",\"type\":\"Int\"},"
    "{\"name\":\"lines\",\"type\":\"OrderLine\",\"list\":true},{\"name\":\"notes\",\"type\":\"JSON\"}]},"
    "{\"name\":\"OrderLine\",\"fields\":[{\"name\":\"sku\",\"type\":\"String\"},{\"name\":\"at\",\"type\":"
    "\"DateTime\"}]}]}";

static byron_component_t *component(void) {
    static byron_component_t *c;
    if (!c) {
        json_object *root = NULL;
        byron_err_t err;
        if (byron_json_parse(CONFIG, sizeof CONFIG - 1, 32, &root, &err) != BYRON_OK ||
            byron_component_parse(root, &c, &err) != BYRON_OK)
            abort();
        json_object_put(root);
    }
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    byron_component_t *c = component();
    int own = data[0] & 1;
    json_object *o = NULL;
    byron_err_t err = {0};
    if (byron_json_parse((const char *)data + 1, size - 1, 32, &o, &err) != BYRON_OK) return 0;
    byron_projector_answer_t a;
    const byron_model_t *m = own ? byron_component_model(c, "Order") : NULL;
    if (byron_projector_answer_parse(c, o, m, own ? "o-1" : NULL, &a, &err) == BYRON_OK) {
        if (!own && a.has_own) abort();
        if (a.own.del && (a.own.set || a.own.unset)) abort();
        for (size_t i = 0; i < a.nchanges; i++) {
            if (!a.changes[i].model || !byron_id_is_valid(a.changes[i].id)) abort();
            if (a.changes[i].del && (a.changes[i].set || a.changes[i].unset)) abort();
        }
        byron_projector_answer_cleanup(&a);
    } else if (a.changes || a.own.set || a.own.unset || !err.msg[0]) {
        abort();
    }
    json_object_put(o);
    return 0;
}
