/* fold_event.c — fuzz the fold checker's rules (fold.h) with what the stream
 * and the cache can hand it: any subject, Byron-Version header and payload,
 * any cached document. Must never crash or leak, and every finding it reports
 * is counted once, as a difference or as order-dependent.
 *
 * Input: records separated by 0x1e. "subject\nheader\npayload" is a message of
 * the own stream (header "-": absent), in order; a record starting with '#' is
 * a cached Order document, '!' a document of _byron_sink, '%' a dead letter
 * ("<sequence>" of the own stream). */
#include "byron/json.h"
#include "fold.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char CONFIG[] =
    "{\"apiVersion\":\"byron.io/v1alpha1\",\"component\":\"orders\",\"namespace\":\"shop\",\"partitions\":4,"
    "\"enums\":[{\"name\":\"OrderStatus\",\"values\":[\"OPEN\",\"SHIPPED\"]}],"
    "\"models\":[{\"name\":\"Order\",\"fields\":[{\"name\":\"customer\",\"type\":\"String\",\"required\":"
    "true},{\"name\":\"status\",\"type\":\"OrderStatus\"},{\"name\":\"count\",\"type\":\"Int\"},"
    "{\"name\":\"notes\",\"type\":\"JSON\"}]}],"
    "\"commands\":[{\"name\":\"shipOrder\",\"model\":\"Order\",\"emits\":[\"OrderShipped\"]}]}";

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

static void count(void *ud, json_object *o) {
    if (!json_object_object_get(o, "kind")) abort();
    (*(uint64_t *)ud)++;
}

static void record(byron_fold_t *f, const byron_component_t *c, char *r, uint64_t *seq) {
    if (r[0] == '#' || r[0] == '!') {
        json_object *doc = NULL;
        byron_err_t err;
        if (byron_json_parse(r + 1, strlen(r + 1), 64, &doc, &err) == BYRON_OK &&
            json_object_is_type(doc, json_type_object)) {
            if (r[0] == '#')
                byron_fold_cache_doc(f, &c->models[0], doc);
            else
                byron_fold_cache_state(f, doc);
        }
        json_object_put(doc);
        return;
    }
    if (r[0] == '%') {
        byron_fold_dead_letter(f, c->stream, strtoull(r + 1, NULL, 10));
        return;
    }
    char *header = strchr(r, '\n'), *payload = header ? strchr(header + 1, '\n') : NULL;
    if (!payload) return;
    *header++ = '\0';
    *payload++ = '\0';
    byron_fold_msg_t m = {.seq = ++*seq,
                          .subject = r,
                          .version_header = strcmp(header, "-") == 0 ? NULL : header,
                          .data = payload,
                          .len = strlen(payload)};
    byron_err_t err = {0};
    if (byron_fold_own(f, &m, &err) != BYRON_OK) abort(); /* no app: nothing can fail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) return 0;
    const byron_component_t *c = component();
    uint64_t findings = 0, seq = 0;
    byron_fold_options_t o = {.component = c, .report = count, .report_ud = &findings};
    byron_fold_t *f = byron_fold_new(&o);
    if (!f) abort();
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (char *r = buf, *next; r; r = next) {
        next = strchr(r, 0x1e);
        if (next) *next++ = '\0';
        record(f, c, r, &seq);
    }
    byron_fold_stats_t st;
    byron_fold_finish(f, &st);
    if (st.differences + st.order_dependent > findings) abort();
    byron_fold_free(f);
    free(buf);
    return 0;
}
