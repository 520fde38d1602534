/* cli_output.c — tables, JSON and YAML as kubectl prints them (cli_output.h). */
#include "cli_output.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

struct byron_cli_table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major; row 0: the headers */
};

byron_cli_table_t *byron_cli_table_new(const char *const *headers) {
    byron_cli_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    while (headers[t->ncols]) t->ncols++;
    byron_cli_table_row(t, headers);
    return t;
}

void byron_cli_table_row(byron_cli_table_t *t, const char *const *cells) {
    if (!t) return;
    if (t->nrows == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **n = realloc(t->cells, nc * t->ncols * sizeof *n);
        if (!n) return;
        t->cells = n;
        t->cap = nc;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = cells[c] && *cells[c] ? cells[c] : "<none>";
        char *copy = strdup(v);
        /* one line per row: a line break inside a cell would break the columns */
        for (char *p = copy; p && *p; p++)
            if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
        t->cells[t->nrows * t->ncols + c] = copy;
    }
    t->nrows++;
}

/* Characters, not bytes: UTF-8 continuation bytes take no column. */
static size_t width(const char *s) {
    size_t w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

void byron_cli_table_print(byron_cli_table_t *t, FILE *f, size_t max_cell) {
    if (!t) return;
    size_t *w = calloc(t->ncols, sizeof *w);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            char *v = t->cells[r * t->ncols + c];
            if (max_cell && v && width(v) > max_cell) { /* cut at a character boundary */
                size_t k = 0, chars = 0;
                while (v[k] && chars < max_cell - 3) {
                    k++;
                    while (((unsigned char)v[k] & 0xC0) == 0x80) k++;
                    chars++;
                }
                strcpy(v + k, "...");
            }
            size_t l = v ? width(v) : 0;
            if (l > w[c]) w[c] = l;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r * t->ncols + c] ? t->cells[r * t->ncols + c] : "";
            if (c + 1 == t->ncols)
                fprintf(f, "%s", v);
            else
                fprintf(f, "%s%*s", v, (int)(w[c] - width(v) + 3), "");
        }
        fputc('\n', f);
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    free(w);
    free(t);
}

void byron_cli_print_json(FILE *f, json_object *o) {
    fprintf(f, "%s\n",
            json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- YAML -------------------------------------------------------------- */

/* Would a plain scalar read back as something other than this string? */
static int needs_quotes(const char *s) {
    static const char *const WORDS[] = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"};
    if (!*s) return 1;
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (!strcasecmp(s, WORDS[i])) return 1;
    char *end;
    strtod(s, &end);
    if (!*end) return 1; /* a number, or inf/nan */
    if (isspace((unsigned char)s[0]) || isspace((unsigned char)s[strlen(s) - 1])) return 1;
    return strpbrk(s, ":#{}[],&*!|>'\"%@`\n") != NULL || s[0] == '-' || s[0] == '?';
}

static int scalar(yaml_emitter_t *e, const char *v, int quoted) {
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), !quoted, quoted,
                                 quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_PLAIN_SCALAR_STYLE);
    return yaml_emitter_emit(e, &ev);
}

static int emit(yaml_emitter_t *e, json_object *o, int depth) {
    yaml_event_t ev;
    if (depth > 128) return 0;
    switch (json_object_get_type(o)) {
    case json_type_object: {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(e, &ev)) return 0;
        json_object_object_foreach(o, k, v) {
            if (!scalar(e, k, needs_quotes(k)) || !emit(e, v, depth + 1)) return 0;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev);
    }
    case json_type_array: {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(e, &ev)) return 0;
        for (size_t i = 0; i < json_object_array_length(o); i++)
            if (!emit(e, json_object_array_get_idx(o, i), depth + 1)) return 0;
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(e, &ev);
    }
    case json_type_string: {
        const char *s = json_object_get_string(o);
        return scalar(e, s, needs_quotes(s));
    }
    case json_type_null: return scalar(e, "null", 0);
    default: return scalar(e, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), 0);
    }
}

static int write_file(void *ud, unsigned char *buf, size_t n) { return fwrite(buf, 1, n, ud) == n; }

int byron_cli_print_yaml(FILE *f, json_object *o, int separate) {
    yaml_emitter_t e;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e)) return -1;
    yaml_emitter_set_output(&e, write_file, f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    int ok = 1;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = ok && yaml_emitter_emit(&e, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, !separate);
    ok = ok && yaml_emitter_emit(&e, &ev);
    ok = ok && emit(&e, o, 0);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&e, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&e, &ev);
    ok = ok && yaml_emitter_flush(&e);
    yaml_emitter_delete(&e);
    return ok ? 0 : -1;
}

/* ---- units ------------------------------------------------------------- */

void byron_cli_bytes(uint64_t n, char *buf, size_t cap) {
    static const char *const U[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof U / sizeof U[0]) v /= 1024, u++;
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 " B", n);
    else if (v < 10)
        snprintf(buf, cap, "%.1f %s", v, U[u]);
    else
        snprintf(buf, cap, "%.0f %s", v, U[u]);
}

/* "YYYY-MM-DDTHH:MM:SS" at the start of t into tm; 0, or -1 if it is not there. */
static int rfc3339(const char *t, struct tm *tm) {
    static const int WIDTH[] = {4, 2, 2, 2, 2, 2};
    static const char SEP[] = "--T::";
    int v[6];
    for (int i = 0; i < 6; i++) {
        v[i] = 0;
        for (int k = 0; k < WIDTH[i]; k++, t++) {
            if (*t < '0' || *t > '9') return -1;
            v[i] = v[i] * 10 + (*t - '0');
        }
        if (i < 5 && *t++ != SEP[i]) return -1;
    }
    memset(tm, 0, sizeof *tm);
    tm->tm_year = v[0] - 1900, tm->tm_mon = v[1] - 1, tm->tm_mday = v[2];
    tm->tm_hour = v[3], tm->tm_min = v[4], tm->tm_sec = v[5];
    return 0;
}

void byron_cli_age(const char *t, int64_t now, char *buf, size_t cap) {
    struct tm tm;
    if (!t || rfc3339(t, &tm)) {
        snprintf(buf, cap, "<unknown>");
        return;
    }
    int64_t d = now - (int64_t)timegm(&tm);
    if (d < 0) d = 0;
    if (d < 120)
        snprintf(buf, cap, "%" PRId64 "s", d);
    else if (d < 7200)
        snprintf(buf, cap, "%" PRId64 "m", d / 60);
    else if (d < 172800)
        snprintf(buf, cap, "%" PRId64 "h", d / 3600);
    else
        snprintf(buf, cap, "%" PRId64 "d", d / 86400);
}
