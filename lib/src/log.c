/* log.c — JSON-lines logger. Formatting is done in a stack buffer and emitted
 * with one write(2); a line longer than the buffer is truncated, never split. */
#include "byron/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192

static struct {
    const char *logger;
    byron_log_level_t min;
    int fd;
} g_log = {"byron", BYRON_LOG_INFO, 2};

static const char *level_name[] = {"debug", "info", "warn", "error"};

void byron_log_setup(const char *logger, byron_log_level_t min_level, int fd) {
    g_log.logger = logger ? logger : "byron";
    g_log.min = min_level;
    g_log.fd = fd;
}

int byron_log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_name[i]) == 0) return i;
    return -1;
}

int byron_log_enabled(byron_log_level_t lvl) { return lvl >= g_log.min; }

typedef struct {
    char buf[LINE_MAX_BYTES];
    size_t len;
} line_t;

static void put_raw(line_t *l, const char *s, size_t n) {
    size_t room = sizeof l->buf - 2 - l->len; /* keep room for "}\n" */
    if (n > room) n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* JSON string escaping per RFC 8259; invalid control bytes become \u00XX. */
static void put_str(line_t *l, const char *s) {
    put_raw(l, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put_raw(l, "\\\"", 2); break;
        case '\\': put_raw(l, "\\\\", 2); break;
        case '\n': put_raw(l, "\\n", 2); break;
        case '\r': put_raw(l, "\\r", 2); break;
        case '\t': put_raw(l, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                int n = snprintf(esc, sizeof esc, "\\u%04x", *p);
                put_raw(l, esc, (size_t)n);
            } else {
                put_raw(l, (const char *)p, 1);
            }
        }
    }
    put_raw(l, "\"", 1);
}

static void put_field(line_t *l, const char *k, const char *v) {
    put_raw(l, ",", 1);
    put_str(l, k);
    put_raw(l, ":", 1);
    put_str(l, v);
}

static void emit(byron_log_level_t lvl, const char *msg, va_list ap) {
    line_t l;
    l.len = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[40];
    size_t n = strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(tbuf + n, sizeof tbuf - n, ".%03ldZ", ts.tv_nsec / 1000000);

    put_raw(&l, "{\"ts\":", 6);
    put_str(&l, tbuf);
    put_field(&l, "level", level_name[lvl]);
    put_field(&l, "logger", g_log.logger);
    put_field(&l, "msg", msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (!k) break;
        const char *v = va_arg(ap, const char *);
        put_field(&l, k, v ? v : "");
    }
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    ssize_t w = write(g_log.fd, l.buf, l.len);
    (void)w; /* nowhere to report a failed log write */
}

void byron_log(byron_log_level_t lvl, const char *msg, ...) {
    if (lvl < g_log.min) return;
    va_list ap;
    va_start(ap, msg);
    emit(lvl, msg, ap);
    va_end(ap);
}

static void emit_msg(byron_log_level_t lvl, const char *msg, ...) {
    va_list ap;
    va_start(ap, msg);
    emit(lvl, msg, ap);
    va_end(ap);
}

void byron_logf(byron_log_level_t lvl, const char *fmt, ...) {
    if (lvl < g_log.min) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit_msg(lvl, msg, (const char *)NULL);
}
