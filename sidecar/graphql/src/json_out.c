/*
 * json_out.c — the response's `data` written as JSON text while it is
 * executed, instead of a json-c tree built, printed and freed per request.
 *
 * The executor appends keys and values to a gql_out_t; a field that fails
 * takes back what it wrote by truncating to a mark (null propagation). The
 * text is exactly what json-c prints for the same tree with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE: strings are
 * escaped as json-c escapes them, integers, booleans and doubles printed
 * as json-c prints them (a double's own text when it has one), and the JSON
 * scalar's objects and arrays printed by json-c itself. gql_out_finish wraps
 * the text in a json-c value whose serializer copies it, so callers keep one
 * json-c response.
 */
#include "internal.h"

#include <ctype.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRINT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void gql_out_append(gql_out_t *o, const char *s, size_t n) {
    if (!o->failed && byron_buf_append(&o->b, s, n) < 0) o->failed = true;
}

void gql_out_truncate(gql_out_t *o, size_t mark) {
    if (mark < o->b.len) {
        o->b.len = mark;
        o->b.buf[mark] = '\0';
    }
}

/* json-c's json_escape_str with JSON_C_TO_STRING_NOSLASHESCAPE: the
 * short escapes, \u00XX (lower-case hex) for the other control characters,
 * every other byte as it is. Runs of plain bytes are copied at once. */
void gql_out_string(gql_out_t *o, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    gql_out_raw(o, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        gql_out_raw(o, s + start, i - start);
        start = i + 1;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '\b': esc[1] = 'b'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\f': esc[1] = 'f'; break;
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        default:
            esc[1] = 'u';
            esc[2] = esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            len = 6;
        }
        gql_out_raw(o, esc, len);
    }
    gql_out_raw(o, s + start, n - start);
    gql_out_raw(o, "\"", 1);
}

void gql_out_key(gql_out_t *o, const char *key) {
    gql_out_string(o, key, strlen(key));
    gql_out_raw(o, ":", 1);
}

static void out_decimal(gql_out_t *o, bool negative, uint64_t u) {
    char num[24];
    char *p = num + sizeof(num);
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative) *--p = '-';
    gql_out_raw(o, p, (size_t)(num + sizeof(num) - p));
}

void gql_out_int(gql_out_t *o, int64_t v) {
    out_decimal(o, v < 0, v < 0 ? 0 - (uint64_t)v : (uint64_t)v); /* INT64_MIN too */
}

/* An integer as json-c prints it: signed, or unsigned past INT64_MAX
 * (json_object_new_uint64). */
static void out_json_int(gql_out_t *o, json_object *v) {
    int64_t i = json_object_get_int64(v);
    uint64_t u;
    if (i == INT64_MAX && (u = json_object_get_uint64(v)) > (uint64_t)INT64_MAX)
        out_decimal(o, false, u);
    else
        gql_out_int(o, i);
}

/* A double as json-c 0.16 prints it: the text it was made with
 * (json_object_new_double_s, as every double the engine and the sidecar
 * make), else "%.17g" with ".0" added to what reads as an integer, and
 * NaN, Infinity, -Infinity as json-c writes them. */
static void out_double(gql_out_t *o, json_object *v) {
    const char *text = json_object_get_userdata(v);
    if (text) {
        gql_out_raw(o, text, strlen(text));
        return;
    }
    double d = json_object_get_double(v);
    char num[64];
    int n;
    if (isnan(d))
        n = snprintf(num, sizeof(num), "NaN");
    else if (isinf(d))
        n = snprintf(num, sizeof(num), d > 0 ? "Infinity" : "-Infinity");
    else {
        n = snprintf(num, sizeof(num), "%.17g", d);
        bool numeric = isdigit((unsigned char)num[0]) || (num[0] == '-' && isdigit((unsigned char)num[1]));
        if (numeric && !strpbrk(num, ".,e") && n < (int)sizeof(num) - 2) {
            memcpy(num + n, ".0", 3);
            n += 2;
        }
    }
    gql_out_raw(o, num, (size_t)n);
}

void gql_out_bool(gql_out_t *o, bool v) {
    if (v)
        gql_out_raw(o, "true", 4);
    else
        gql_out_raw(o, "false", 5);
}

void gql_out_value(gql_out_t *o, json_object *v) {
    switch (json_object_get_type(v)) {
    case json_type_null: gql_out_raw(o, "null", 4); return;
    case json_type_boolean: gql_out_bool(o, json_object_get_boolean(v)); return;
    case json_type_string:
        gql_out_string(o, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        return;
    case json_type_int: out_json_int(o, v); return;
    case json_type_double: out_double(o, v); return;
    default: { /* the JSON scalar's objects and arrays */
        size_t len = 0;
        const char *s = json_object_to_json_string_length(v, PRINT_FLAGS, &len);
        gql_out_raw(o, s, len);
    }
    }
}

/* The serializer of the value gql_out_finish makes: the text, with '/'
 * escaped when the caller prints without NOSLASHESCAPE, as json-c would
 * (a '/' occurs in JSON text only inside strings). */
static int print_text(json_object *jso, struct printbuf *pb, int level, int flags) {
    (void)level;
    const byron_buf_t *b = json_object_get_userdata(jso);
    if (flags & JSON_C_TO_STRING_NOSLASHESCAPE) return printbuf_memappend(pb, b->buf, (int)b->len);
    size_t start = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (b->buf[i] != '/') continue;
        printbuf_memappend(pb, b->buf + start, (int)(i - start));
        printbuf_memappend(pb, "\\/", 2);
        start = i + 1;
    }
    return printbuf_memappend(pb, b->buf + start, (int)(b->len - start));
}

static void free_text(json_object *jso, void *userdata) {
    (void)jso;
    byron_buf_t *b = userdata;
    byron_buf_free(b);
    free(b);
}

json_object *gql_out_finish(gql_out_t *o) {
    byron_buf_t *b = malloc(sizeof(*b));
    json_object *v = b ? json_object_new_object() : NULL;
    if (v == NULL || o->failed || o->b.len == 0) {
        free(b);
        json_object_put(v);
        gql_out_cleanup(o);
        return NULL;
    }
    *b = o->b;
    memset(&o->b, 0, sizeof(o->b));
    json_object_set_serializer(v, print_text, b, free_text);
    return v;
}

void gql_out_cleanup(gql_out_t *o) {
    byron_buf_free(&o->b);
    o->failed = false;
}
