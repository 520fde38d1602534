/* envelope.c — build and validate CloudEvents envelopes. */
#include "envelope.h"

#include "byron/json.h"
#include "component.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static void random_bytes(unsigned char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r > 0) got += (size_t)r;
    }
}

static void hex(char *out, const unsigned char *b, size_t n) {
    static const char H[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = H[b[i] >> 4];
        out[2 * i + 1] = H[b[i] & 15];
    }
}

void byron_uuid4(char *out) {
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    char h[32];
    hex(h, b, 16);
    snprintf(out, BYRON_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void byron_traceparent_new(char *out) {
    unsigned char b[24];
    random_bytes(b, sizeof b);
    char h[48];
    hex(h, b, 24);
    snprintf(out, BYRON_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-01", h, h + 32);
}

static int is_lower_hex(const char *s, size_t n) {
    int nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
        if (s[i] != '0') nonzero = 1;
    }
    return nonzero;
}

int byron_traceparent_is_valid(const char *s) {
    /* W3C trace context, version 00: 00-<trace-id 32>-<parent-id 16>-<flags 2>, ids not all zero. */
    return s && strlen(s) == BYRON_TRACEPARENT_LEN && s[0] == '0' && s[1] == '0' && s[2] == '-' &&
           is_lower_hex(s + 3, 32) && s[35] == '-' && is_lower_hex(s + 36, 16) && s[52] == '-' &&
           isxdigit((unsigned char)s[53]) && isxdigit((unsigned char)s[54]);
}

void byron_time_now_rfc3339(char *out, size_t cap) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    /* cap >= 25 in every caller; a smaller buffer gets a cut, terminated string. */
    if (snprintf(out, cap, "%s.%03ldZ", base, ts.tv_nsec / 1000000) >= (int)cap && cap) out[cap - 1] = '\0';
}

json_object *byron_event_build(const byron_event_spec_t *spec) {
    char id[BYRON_UUID_LEN + 1], now[32];
    if (!spec->id) byron_uuid4(id);
    byron_time_now_rfc3339(now, sizeof now);
    json_object *ev = json_object_new_object();
    if (!ev) return NULL;
    json_object_object_add(ev, "specversion", json_object_new_string("1.0"));
    json_object_object_add(ev, "id", json_object_new_string(spec->id ? spec->id : id));
    json_object_object_add(ev, "source", json_object_new_string(spec->source));
    json_object_object_add(ev, "type", json_object_new_string(spec->type));
    json_object_object_add(ev, "subject", json_object_new_string(spec->subject));
    json_object_object_add(ev, "time", json_object_new_string(now));
    json_object_object_add(ev, "datacontenttype", json_object_new_string("application/json"));
    json_object_object_add(ev, "data", spec->data ? json_object_get(spec->data) : json_object_new_object());
    json_object_object_add(ev, "byronmodel", json_object_new_string(spec->model));
    json_object_object_add(ev, "byronversion", json_object_new_int64(spec->version));
    if (spec->command) json_object_object_add(ev, "byroncommand", json_object_new_string(spec->command));
    if (spec->traceparent)
        json_object_object_add(ev, "traceparent", json_object_new_string(spec->traceparent));
    if (spec->generation > 0)
        json_object_object_add(ev, "byrongeneration", json_object_new_int64(spec->generation));
    if (spec->principal)
        json_object_object_add(ev, "byronprincipal", json_object_new_string(spec->principal));
    if (spec->request) json_object_object_add(ev, "byronrequest", json_object_new_string(spec->request));
    return ev;
}

/* CloudEvents: extension names are lower-case ASCII letters and digits. */
static int is_attr_name(const char *s) {
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s))) return 0;
    return 1;
}

static byron_status_t want_string(json_object *ev, const char *key, int required, const char **out,
                                  byron_err_t *err) {
    *out = NULL;
    byron_status_t st = byron_json_get_string(ev, "event", key, required ? 0 : BYRON_JSON_OPTIONAL, out, err);
    if (st != BYRON_OK) return st;
    if (*out && !**out) return byron_err_set(err, BYRON_EINVAL, "event.%s: must not be empty", key);
    return BYRON_OK;
}

byron_status_t byron_event_validate(json_object *ev, byron_err_t *err) {
    if (!json_object_is_type(ev, json_type_object))
        return byron_err_set(err, BYRON_EINVAL, "event: must be a JSON object");
    const char *s;
    byron_status_t st;
    if ((st = want_string(ev, "specversion", 1, &s, err))) return st;
    if (strcmp(s, "1.0") != 0)
        return byron_err_set(err, BYRON_EINVAL, "event.specversion: \"%.16s\" is not supported (want 1.0)",
                             s);
    if ((st = want_string(ev, "id", 1, &s, err))) return st;
    if (strlen(s) > 256) return byron_err_set(err, BYRON_EINVAL, "event.id: longer than 256 bytes");
    if ((st = want_string(ev, "source", 1, &s, err))) return st;
    if ((st = want_string(ev, "type", 1, &s, err))) return st;
    if (!byron_name_is_type(s))
        return byron_err_set(err, BYRON_EINVAL, "event.type: \"%.64s\" must match ^[A-Z][A-Za-z0-9]*$", s);
    if ((st = want_string(ev, "subject", 1, &s, err))) return st;
    if (!byron_id_is_valid(s))
        return byron_err_set(err, BYRON_EINVAL, "event.subject: \"%.64s\" is not a valid aggregate id", s);
    if ((st = want_string(ev, "time", 1, &s, err))) return st;
    if (!byron_datetime_is_valid(s))
        return byron_err_set(err, BYRON_EINVAL, "event.time: \"%.64s\" is not an RFC 3339 date-time", s);
    if ((st = want_string(ev, "datacontenttype", 0, &s, err))) return st;
    if (s && strcmp(s, "application/json") != 0)
        return byron_err_set(err, BYRON_EINVAL, "event.datacontenttype: \"%.64s\" (want application/json)",
                             s);
    json_object *data;
    if ((st = byron_json_get_object(ev, "event", "data", 0, &data, err))) return st;
    if ((st = want_string(ev, "byronmodel", 1, &s, err))) return st;
    if (!byron_name_is_type(s))
        return byron_err_set(err, BYRON_EINVAL, "event.byronmodel: \"%.64s\" must match ^[A-Z][A-Za-z0-9]*$",
                             s);
    int64_t i;
    if ((st = byron_json_get_int(ev, "event", "byronversion", 0, 1, INT64_MAX, &i, err))) return st;
    if ((st = byron_json_get_int(ev, "event", "byronsequence", BYRON_JSON_OPTIONAL, 1, INT64_MAX, &i, err)))
        return st;
    if ((st = byron_json_get_int(ev, "event", "byrongeneration", BYRON_JSON_OPTIONAL, 0, INT64_MAX, &i, err)))
        return st;
    if ((st = want_string(ev, "byroncommand", 0, &s, err))) return st;
    if ((st = want_string(ev, "byronrequest", 0, &s, err))) return st;
    if (s && strlen(s) > 64) return byron_err_set(err, BYRON_EINVAL, "event.byronrequest: at most 64 bytes");
    if ((st = want_string(ev, "byronprincipal", 0, &s, err))) return st;
    if (s && (!*s || strlen(s) > 256))
        return byron_err_set(err, BYRON_EINVAL, "event.byronprincipal: must be 1 to 256 bytes");
    if ((st = want_string(ev, "traceparent", 0, &s, err))) return st;
    if (s && !byron_traceparent_is_valid(s))
        return byron_err_set(err, BYRON_EINVAL, "event.traceparent: not a W3C traceparent");
    /* Other attributes: CloudEvents names, scalar values. */
    json_object_object_foreach(ev, key, val) {
        if (!is_attr_name(key))
            return byron_err_set(err, BYRON_EINVAL, "event: \"%.64s\" is not a valid attribute name", key);
        if (strcmp(key, "data") == 0) continue;
        json_type t = json_object_get_type(val);
        if (t == json_type_object || t == json_type_array || t == json_type_null)
            return byron_err_set(err, BYRON_EINVAL,
                                 "event.%s: attribute values must be strings, numbers or booleans", key);
    }
    return BYRON_OK;
}

byron_status_t byron_event_parse(const char *buf, size_t len, json_object **out, byron_err_t *err) {
    *out = NULL;
    if (len > BYRON_EVENT_MAX_BYTES)
        return byron_err_set(err, BYRON_ELIMIT, "event: larger than %u bytes", BYRON_EVENT_MAX_BYTES);
    json_object *ev = NULL;
    byron_status_t st = byron_json_parse(buf, len, 64, &ev, err);
    if (st != BYRON_OK) {
        byron_err_prefix(err, "event");
        return st;
    }
    if ((st = byron_event_validate(ev, err)) != BYRON_OK) {
        json_object_put(ev);
        return st;
    }
    *out = ev;
    return BYRON_OK;
}
