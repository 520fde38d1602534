/* unique.c — claim subjects for unique values (unique.h). */
#include "unique.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

/* The value's canonical text, tagged with its kind so that "1" (a String)
 * and 1 (an Int) never share a claim. 0: not a scalar. */
static int canonical(const byron_field_t *f, json_object *v, char *buf, size_t cap, const char **text,
                     size_t *len) {
    switch (json_object_get_type(v)) {
    case json_type_string:
        *text = json_object_get_string(v);
        *len = (size_t)json_object_get_string_len(v);
        buf[0] = 's';
        buf[1] = '\0';
        return 1;
    case json_type_int:
    case json_type_double: {
        double d = json_object_get_double(v);
        if (!isfinite(d)) return 0;
        if (f->kind == BYRON_TYPE_INT ||
            (json_object_is_type(v, json_type_int) && f->kind != BYRON_TYPE_FLOAT))
            snprintf(buf, cap, "i%" PRId64, json_object_get_int64(v));
        else
            snprintf(buf, cap, "f%.17g", d);
        break;
    }
    case json_type_boolean: snprintf(buf, cap, "b%d", json_object_get_boolean(v)); break;
    default: return 0;
    }
    *text = NULL;
    *len = 0;
    return 1;
}

int byron_unique_hash(const byron_field_t *f, json_object *v, char out[BYRON_UNIQUE_HASH_LEN + 1]) {
    char tag[64];
    const char *text;
    size_t len;
    out[0] = '\0';
    if (!v || !canonical(f, v, tag, sizeof tag, &text, &len)) return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, tag, strlen(tag)) &&
             (!text || EVP_DigestUpdate(ctx, text, len)) && EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen < BYRON_UNIQUE_HASH_LEN / 2) return -1;
    for (int i = 0; i < BYRON_UNIQUE_HASH_LEN / 2; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

int byron_unique_subject(char *buf, size_t cap, const byron_component_t *c, const byron_model_t *m,
                         const byron_field_t *f, const char *h) {
    int n = snprintf(buf, cap, "%s.%s.%s.%s.%s", c->subject_prefix, BYRON_UNIQUE_TOKEN, m->name, f->name, h);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int is_hash(const char *s, size_t n) {
    if (n != BYRON_UNIQUE_HASH_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

int byron_unique_holdings_parse(const byron_model_t *m, const char *header, byron_unique_holdings_t *out) {
    memset(out, 0, sizeof *out);
    if (strcmp(header, BYRON_UNIQUE_NONE) == 0) return 0;
    for (const char *p = header; *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end) return -1;
        size_t i = 0;
        while (i < m->nfields && !(strlen(m->fields[i].name) == (size_t)(eq - p) &&
                                   strncmp(m->fields[i].name, p, (size_t)(eq - p)) == 0))
            i++;
        if (i == m->nfields || !m->fields[i].unique || !is_hash(eq + 1, (size_t)(end - eq - 1))) return -1;
        memcpy(out->hash[i], eq + 1, BYRON_UNIQUE_HASH_LEN);
        p = *end ? end + 1 : end;
    }
    return 0;
}

int byron_unique_holdings_format(const byron_model_t *m, const byron_unique_holdings_t *h, char *buf,
                                 size_t cap) {
    size_t len = 0;
    if (cap) buf[0] = '\0';
    for (size_t i = 0; i < m->nfields; i++) {
        if (!h->hash[i][0]) continue;
        int n = snprintf(buf + len, cap - len, "%s%s=%s", len ? ";" : "", m->fields[i].name, h->hash[i]);
        if (n < 0 || (size_t)n >= cap - len) return -1;
        len += (size_t)n;
    }
    if (!len && snprintf(buf, cap, "%s", BYRON_UNIQUE_NONE) >= (int)cap) return -1;
    return 0;
}

int byron_unique_same(const byron_field_t *f, json_object *a, json_object *b) {
    char ta[64], tb[64];
    const char *xa, *xb;
    size_t la, lb;
    if (!a || !b || !canonical(f, a, ta, sizeof ta, &xa, &la) || !canonical(f, b, tb, sizeof tb, &xb, &lb))
        return 0;
    return strcmp(ta, tb) == 0 && la == lb && (!xa || memcmp(xa, xb, la) == 0);
}

json_object *byron_unique_payload(const byron_model_t *m, const byron_field_t *f, json_object *v,
                                  const char *h, const char *owner) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "model", json_object_new_string(m->name));
    json_object_object_add(o, "field", json_object_new_string(f->name));
    if (v) json_object_object_add(o, "value", json_object_get(v));
    json_object_object_add(o, "hash", json_object_new_string(h));
    json_object_object_add(o, "owner", json_object_new_string(owner));
    return o;
}
