/* kube_exec.c — `kubectl exec` over the exec subresource's WebSocket
 * protocol (kube_exec.h): the upgrade by hand on a connection libcurl opened,
 * then frames until the command's status arrives. */
#include "byron/kube_exec.h"

#include "byron/base64.h"
#include "byron/clock.h"
#include "byron/json.h"
#include "byron/ws_frame.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_HEAD (64u << 10)    /* the upgrade answer's header, or an error's whole answer */
#define MAX_MESSAGE (16u << 20) /* one message of the command's output */
#define RECV_CHUNK 65536

typedef struct conn {
    CURL *h;
    curl_socket_t sock;
    uint8_t *buf; /* received, not yet parsed */
    size_t len, cap;
    int64_t deadline_ms; /* 0: none */
} conn_t;

int byron_kube_exec_status_code(json_object *status, const char **message) {
    const char *st = NULL, *reason = NULL, *msg = "";
    byron_json_get_string(status, "", "status", BYRON_JSON_OPTIONAL, &st, NULL);
    byron_json_get_string(status, "", "reason", BYRON_JSON_OPTIONAL, &reason, NULL);
    byron_json_get_string(status, "", "message", BYRON_JSON_OPTIONAL, &msg, NULL);
    if (message) *message = msg;
    if (st && !strcmp(st, "Success")) return 0;
    if (reason && !strcmp(reason, "NonZeroExitCode")) {
        json_object *details = NULL, *causes = NULL;
        byron_json_get_object(status, "", "details", BYRON_JSON_OPTIONAL, &details, NULL);
        if (details) byron_json_get_array(details, "details", "causes", BYRON_JSON_OPTIONAL, &causes, NULL);
        for (size_t i = 0; causes && i < json_object_array_length(causes); i++) {
            json_object *c = json_object_array_get_idx(causes, i);
            const char *r = NULL, *m = NULL;
            byron_json_get_string(c, "", "reason", BYRON_JSON_OPTIONAL, &r, NULL);
            byron_json_get_string(c, "", "message", BYRON_JSON_OPTIONAL, &m, NULL);
            char *end = NULL;
            long code = m ? strtol(m, &end, 10) : -1;
            if (r && !strcmp(r, "ExitCode") && end && !*end && code > 0 && code < 256) return (int)code;
        }
    }
    return -1;
}

/* Wait until the socket can be read (or written) or the deadline passes. */
static byron_status_t wait_socket(conn_t *c, int for_write, byron_err_t *err) {
    for (;;) {
        int timeout = 1000;
        if (c->deadline_ms) {
            int64_t left = c->deadline_ms - byron_clock_mono_ms();
            if (left <= 0) return byron_err_set(err, BYRON_ETIMEDOUT, "exec: no answer in time");
            if (left < timeout) timeout = (int)left;
        }
        struct pollfd p = {.fd = c->sock, .events = for_write ? POLLOUT : POLLIN};
        int r = poll(&p, 1, timeout);
        if (r > 0) return BYRON_OK;
        if (r < 0 && errno != EINTR) return byron_err_set(err, BYRON_EIO, "exec: poll: %s", strerror(errno));
    }
}

static byron_status_t send_all(conn_t *c, const void *data, size_t len, byron_err_t *err) {
    const char *p = data;
    while (len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(c->h, p, len, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_socket(c, 1, err) != BYRON_OK) return err->code;
            continue;
        }
        if (rc != CURLE_OK)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "exec: send: %s", curl_easy_strerror(rc));
        p += n;
        len -= n;
    }
    return BYRON_OK;
}

/* More bytes into c->buf (at most `limit` held). ESTATE: the server closed. */
static byron_status_t recv_more(conn_t *c, size_t limit, byron_err_t *err) {
    if (c->len + RECV_CHUNK > c->cap) {
        size_t nc = c->cap ? c->cap : RECV_CHUNK * 2;
        while (nc < c->len + RECV_CHUNK) nc *= 2;
        if (nc > limit + RECV_CHUNK)
            return byron_err_set(err, BYRON_ELIMIT, "exec: a message larger than %zu bytes", limit);
        uint8_t *nb = realloc(c->buf, nc);
        if (!nb) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        c->buf = nb;
        c->cap = nc;
    }
    for (;;) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(c->h, c->buf + c->len, c->cap - c->len, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_socket(c, 0, err) != BYRON_OK) return err->code;
            continue;
        }
        if (rc != CURLE_OK)
            return byron_err_set(err, BYRON_EUNAVAILABLE, "exec: receive: %s", curl_easy_strerror(rc));
        if (n == 0) return byron_err_set(err, BYRON_ESTATE, "exec: the server closed the connection");
        c->len += n;
        return BYRON_OK;
    }
}

static void consume(conn_t *c, size_t n) {
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* The value of header `name` in the head (CRLF lines), copied into out. */
static int head_value(const char *head, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (strncasecmp(s, name, nl) == 0 && s[nl] == ':') {
            s += nl + 1;
            while (*s == ' ' || *s == '\t') s++;
            size_t vl = strcspn(s, "\r\n");
            snprintf(out, cap, "%.*s", (int)vl, s);
            return 1;
        }
    }
    return 0;
}

/* The upgrade: request, then the answer's head (101) — or the error the API
 * server answered instead, as its Status message. */
static byron_status_t upgrade(conn_t *c, const char *path, const char *headers, byron_err_t *err) {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) return byron_err_set(err, BYRON_EIO, "exec: no random bytes");
    char *key = byron_base64_encode(raw, sizeof raw, 0), accept[29];
    if (!key || byron_ws_accept(key, accept)) {
        free(key);
        return byron_err_set(err, BYRON_ENOMEM, "exec: cannot make the WebSocket key");
    }
    size_t rl = strlen(path) + strlen(headers) + 512;
    char *req = malloc(rl);
    if (!req) {
        free(key);
        return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    }
    snprintf(
        req, rl,
        "GET %s HTTP/1.1\r\n%sUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n\r\n",
        path, headers, key);
    free(key);
    byron_status_t st = send_all(c, req, strlen(req), err);
    free(req);
    if (st != BYRON_OK) return st;
    size_t hl = 0;
    while (!hl) {
        if ((st = recv_more(c, MAX_HEAD, err)) != BYRON_OK) return st;
        for (size_t i = 3; i < c->len && !hl; i++)
            if (!memcmp(c->buf + i - 3, "\r\n\r\n", 4)) hl = i + 1;
    }
    char *head = strndup((char *)c->buf, hl);
    if (!head) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    const char *sp = strchr(head, ' '); /* "HTTP/1.1 101 Switching Protocols" */
    long code = sp ? strtol(sp + 1, NULL, 10) : 0;
    if (code != 101) {
        /* An error answer: its body (Content-Length) holds the API's Status. */
        char cl[32] = "";
        size_t want = head_value(head, "Content-Length", cl, sizeof cl) ? (size_t)strtoul(cl, NULL, 10) : 0;
        if (want > MAX_HEAD) want = MAX_HEAD;
        consume(c, hl);
        while (c->len < want && recv_more(c, MAX_HEAD, NULL) == BYRON_OK) {
        }
        char *body = strndup((char *)c->buf, c->len < want ? c->len : want);
        byron_kube_status_error(code, "exec", path, body, err);
        free(body);
        free(head);
        return err->code;
    }
    char got[64] = "";
    int ok = head_value(head, "Sec-WebSocket-Accept", got, sizeof got) && !strcmp(got, accept);
    free(head);
    if (!ok)
        return byron_err_set(err, BYRON_EPROTO, "exec: the server's WebSocket answer does not match our key");
    consume(c, hl);
    return BYRON_OK;
}

static byron_status_t send_frame(conn_t *c, int opcode, const void *data, size_t len, byron_err_t *err) {
    uint8_t mask[4], out[BYRON_WS_HEADER_MAX + 128];
    if (len > 125 || RAND_bytes(mask, sizeof mask) != 1)
        return byron_err_set(err, BYRON_EINVAL, "exec: frame");
    size_t n = byron_ws_frame_encode(opcode, data, len, mask, out);
    return send_all(c, out, n, err);
}

/* Frames until the status channel speaks (or the server closes). */
static byron_status_t pump(conn_t *c, byron_kube_exec_out_fn out, void *ud, int *exit_code,
                           byron_err_t *err) {
    uint8_t *msg = NULL; /* a fragmented message being put together */
    size_t mlen = 0;
    int mop = 0;
    byron_status_t st = BYRON_OK;
    *exit_code = -1;
    for (;;) {
        byron_ws_frame_t f;
        long used = byron_ws_frame_parse(c->buf, c->len, MAX_MESSAGE, &f);
        if (used < 0) {
            st = byron_err_set(err, BYRON_EPROTO, "exec: a malformed WebSocket frame");
            break;
        }
        if (used == 0) {
            if ((st = recv_more(c, MAX_MESSAGE, err)) != BYRON_OK) break;
            continue;
        }
        if (f.opcode == BYRON_WS_PING) {
            st = send_frame(c, BYRON_WS_PONG, f.payload, (size_t)f.len, err);
        } else if (f.opcode == BYRON_WS_CLOSE) {
            st = byron_err_set(err, BYRON_ESTATE, "exec: the connection closed before the command's status");
        } else if (f.opcode != BYRON_WS_PONG) {
            if (f.opcode != BYRON_WS_CONTINUATION) mop = f.opcode, mlen = 0;
            if (mlen + f.len > MAX_MESSAGE) {
                st = byron_err_set(err, BYRON_ELIMIT, "exec: a message larger than %u bytes", MAX_MESSAGE);
            } else {
                uint8_t *nm = realloc(msg, mlen + (size_t)f.len + 1);
                if (!nm) {
                    st = byron_err_set(err, BYRON_ENOMEM, "out of memory");
                } else {
                    msg = nm;
                    memcpy(msg + mlen, f.payload, (size_t)f.len);
                    mlen += (size_t)f.len;
                }
            }
        }
        consume(c, (size_t)used);
        if (st != BYRON_OK) break;
        if (!f.fin || f.opcode >= 8 || !mlen || mop != BYRON_WS_BINARY) continue;
        int channel = msg[0];
        size_t dl = mlen - 1;
        const char *data = (const char *)msg + 1;
        mlen = 0;
        if ((channel == 1 || channel == 2) && dl && out(ud, channel, data, dl)) {
            st = byron_err_set(err, BYRON_ESTATE, "exec: stopped by the caller");
            break;
        }
        if (channel == 3) { /* the command ended: its Status */
            json_object *s = NULL;
            const char *why = "";
            if (byron_json_parse(data, dl, 16, &s, NULL) != BYRON_OK) {
                st = byron_err_set(err, BYRON_EPROTO, "exec: an unreadable status: %.*s",
                                   (int)(dl > 200 ? 200 : dl), data);
                break;
            }
            *exit_code = byron_kube_exec_status_code(s, &why);
            if (*exit_code < 0)
                st = byron_err_set(err, BYRON_ESTATE, "exec: %s",
                                   why && *why ? why : "the command could not run");
            json_object_put(s);
            break;
        }
    }
    free(msg);
    return st;
}

byron_status_t byron_kube_exec_run(byron_kube_client_t *client, const byron_kube_exec_t *x,
                                   byron_kube_exec_out_fn out, void *ud, int *exit_code, byron_err_t *err) {
    *exit_code = -1;
    /* /api/v1/namespaces/<ns>/pods/<pod>/exec?container=..&stdout=true&stderr=true[&stdin=true]&command=.. */
    size_t cap = 1024;
    for (const char *const *a = x->argv; *a; a++) cap += 3 * strlen(*a) + 16;
    char *path = malloc(cap);
    if (!path) return byron_err_set(err, BYRON_ENOMEM, "out of memory");
    size_t n = (size_t)snprintf(path, cap,
                                "/api/v1/namespaces/%s/pods/%s/exec?container=%s&stdout=true&stderr=true%s",
                                x->namespace_, x->pod, x->container, x->stdin_open ? "&stdin=true" : "");
    for (const char *const *a = x->argv; *a && n < cap; a++) {
        char *e = malloc(3 * strlen(*a) + 8);
        if (!e) {
            free(path);
            return byron_err_set(err, BYRON_ENOMEM, "out of memory");
        }
        byron_kube_urlencode(*a, e, 3 * strlen(*a) + 8);
        n += (size_t)snprintf(path + n, cap - n, "&command=%s", e);
        free(e);
    }
    char headers[9000];
    conn_t c = {0};
    byron_status_t st = BYRON_OK;
    if (!(c.h = byron_kube_client_connect(client, path, headers, sizeof headers, err))) {
        free(path);
        return err->code;
    }
    if (curl_easy_getinfo(c.h, CURLINFO_ACTIVESOCKET, &c.sock) != CURLE_OK || c.sock == CURL_SOCKET_BAD)
        st = byron_err_set(err, BYRON_EIO, "exec: no socket");
    if (x->timeout_s > 0) c.deadline_ms = byron_clock_mono_ms() + (int64_t)x->timeout_s * 1000;
    if (st == BYRON_OK) st = upgrade(&c, path, headers, err);
    if (st == BYRON_OK) st = pump(&c, out, ud, exit_code, err);
    if (st != BYRON_OK && err->code != BYRON_EREJECTED && err->code != BYRON_ENOTFOUND)
        byron_err_prefix(err, "pod %s/%s container %s", x->namespace_, x->pod, x->container);
    free(path);
    free(c.buf);
    curl_easy_cleanup(c.h);
    return st;
}
