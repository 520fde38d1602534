/* cli_runner.c — the component's work in its sink pod, or here (cli_runner.h). */
#include "cli_runner.h"

#include "byron/clock.h"
#include "byron/json.h"
#include "byron/kube_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ERR (64u << 10)
#define MAX_LINE (32u << 20)

typedef struct sink {
    const byron_cli_run_t *r;
    char *line; /* stdout since the last newline */
    size_t len, cap;
    char *errtext;
    size_t elen;
    int stopped, overflow;
} sink_t;

static int take(sink_t *s, int stream, const char *data, size_t n) {
    if (stream == 2) { /* stderr: kept (bounded) for the message */
        size_t room = MAX_ERR - s->elen;
        if (n > room) n = room;
        char *e = realloc(s->errtext, s->elen + n + 1);
        if (!e) return 0;
        memcpy(e + s->elen, data, n);
        s->elen += n;
        e[s->elen] = '\0';
        s->errtext = e;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            if (s->r->on_line && s->r->on_line(s->r->ud, s->line ? s->line : "", s->len)) {
                s->stopped = 1;
                return 1;
            }
            s->len = 0;
            if (s->line) s->line[0] = '\0';
            continue;
        }
        if (s->len + 2 > s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 4096;
            char *l = nc <= MAX_LINE ? realloc(s->line, nc) : NULL;
            if (!l) {
                s->overflow = 1;
                return 1;
            }
            s->line = l;
            s->cap = nc;
        }
        s->line[s->len++] = data[i];
        s->line[s->len] = '\0';
    }
    return 0;
}

static int on_output(void *ud, int stream, const char *data, size_t len) {
    return take(ud, stream, data, len);
}

/* The last line, when the command ended without a newline. */
static void flush_line(sink_t *s) {
    if (s->len && !s->stopped && s->r->on_line) s->r->on_line(s->r->ud, s->line, s->len);
    s->len = 0;
}

/* ---- in the sink pod --------------------------------------------------- */

static byron_status_t run_exec(byron_cli_kube_t *k, const byron_cli_run_t *r, sink_t *s, int *code,
                               byron_err_t *err) {
    char pod[256], mode[64];
    byron_status_t st = byron_cli_sink_pod(k, r->component, pod, sizeof pod, err);
    if (st != BYRON_OK) return st;
    const char *argv[80];
    int n = 0;
    argv[n++] = "byron-sidecar";
    snprintf(mode, sizeof mode, "--mode=%s", r->mode);
    argv[n++] = mode;
    for (const char *const *a = r->args; a && *a && n < 78; a++) argv[n++] = *a;
    argv[n] = NULL;
    byron_kube_exec_t x = {.namespace_ = k->namespace_,
                           .pod = pod,
                           .container = "byron-sidecar",
                           .argv = argv,
                           .stdin_open = r->stdin_open,
                           .timeout_s = r->timeout_s};
    return byron_kube_exec_run(k->client, &x, on_output, s, code, err);
}

/* ---- here (--direct) --------------------------------------------------- */

/* byron-sidecar beside our own executable (installed together, or the build
 * tree's sidecar/), else the first on PATH. */
static void find_sidecar(char *out, size_t cap) {
    char self[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    struct stat sb;
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
        snprintf(out, cap, "%s/byron-sidecar", self);
        if (stat(out, &sb) == 0 && (sb.st_mode & S_IXUSR)) return;
        snprintf(out, cap, "%s/../sidecar/byron-sidecar", self);
        if (stat(out, &sb) == 0 && (sb.st_mode & S_IXUSR)) return;
    }
    snprintf(out, cap, "byron-sidecar");
}

/* The component's config.json in a new temporary file (its path in cfg,
 * which the caller unlinks). */
static byron_status_t write_config(byron_cli_kube_t *k, const char *component, char *cfg, size_t cap,
                                   byron_err_t *err) {
    json_object *config = NULL;
    char *text = NULL;
    byron_status_t st = byron_cli_component_config(k, component, &config, &text, err);
    json_object_put(config);
    if (st != BYRON_OK) return st;
    const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(cfg, cap, "%s/kubectl-byron-XXXXXX", tmpdir);
    int fd = mkstemp(cfg);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        if (fd >= 0) close(fd), unlink(cfg);
        free(text);
        return byron_err_set(err, BYRON_EIO, "%s: %s", cfg, strerror(errno));
    }
    close(fd);
    free(text);
    return BYRON_OK;
}

/* Forks bin with argv, its stdin, stdout and stderr on pipes (stdin from
 * /dev/null unless the command reads it): fds[0] writes its stdin, fds[1]
 * and fds[2] read its stdout and stderr. */
static byron_status_t spawn(const char *bin, char *const argv[], int stdin_open, pid_t *pid, int fds[3],
                            byron_err_t *err) {
    int out[2], errp[2], in[2];
    if (pipe(out) || pipe(errp) || pipe(in))
        return byron_err_set(err, BYRON_EIO, "pipe: %s", strerror(errno));
    *pid = fork();
    if (*pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(errp[1], 2);
        for (int f = 3; f < 64; f++) close(f);
        if (!stdin_open) { /* no stdin: /dev/null, as kubectl exec without -i */
            int nul = open("/dev/null", O_RDONLY);
            if (nul >= 0) dup2(nul, 0);
        }
        execvp(bin, argv);
        fprintf(stderr, "cannot run %s: %s (install byron-sidecar beside kubectl-byron, or on PATH)\n", bin,
                strerror(errno));
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    if (*pid < 0) {
        close(in[1]), close(out[0]), close(errp[0]);
        return byron_err_set(err, BYRON_EIO, "fork: %s", strerror(errno));
    }
    fds[0] = in[1];
    fds[1] = out[0];
    fds[2] = errp[0];
    return BYRON_OK;
}

/* Feeds the child's stdout and stderr to the sink until both end; SIGTERM
 * when the sink has had enough (1) or after timeout_s (2). Returns which. */
static int pump(pid_t pid, int out_fd, int err_fd, int timeout_s, sink_t *s) {
    int64_t t0 = byron_clock_mono_ms();
    struct pollfd p[2] = {{.fd = out_fd, .events = POLLIN}, {.fd = err_fd, .events = POLLIN}};
    int open_fds = 2, killed = 0;
    char buf[65536];
    while (open_fds) {
        int rc = poll(p, 2, 1000);
        if (rc < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = read(p[i].fd, buf, sizeof buf);
            if (got <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
                continue;
            }
            if (take(s, i + 1, buf, (size_t)got) && !killed) {
                kill(pid, SIGTERM);
                killed = 1;
            }
        }
        if (timeout_s > 0 && (byron_clock_mono_ms() - t0) / 1000 > timeout_s && !killed) {
            kill(pid, SIGTERM);
            killed = 2;
        }
    }
    return killed;
}

static byron_status_t run_here(byron_cli_kube_t *k, const byron_cli_run_t *r, sink_t *s, int *code,
                               byron_err_t *err) {
    char cfg[PATH_MAX], bin[PATH_MAX], mode[64], cfgflag[PATH_MAX + 16];
    byron_status_t st = write_config(k, r->component, cfg, sizeof cfg, err);
    if (st != BYRON_OK) return st;
    find_sidecar(bin, sizeof bin);
    snprintf(mode, sizeof mode, "--mode=%s", r->mode);
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", cfg);
    char *argv[80];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = mode;
    argv[n++] = cfgflag;
    for (const char *const *a = r->args; a && *a && n < 78; a++) argv[n++] = (char *)*a;
    argv[n] = NULL;
    pid_t pid = -1;
    int fds[3] = {-1, -1, -1};
    if ((st = spawn(bin, argv, r->stdin_open, &pid, fds, err)) != BYRON_OK) {
        unlink(cfg);
        return st;
    }
    int killed = pump(pid, fds[1], fds[2], r->timeout_s, s);
    close(fds[0]); /* the command's stdin ends: --follow stops */
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(cfg);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    if (killed == 2) return byron_err_set(err, BYRON_ETIMEDOUT, "%s: no end within %d s", bin, r->timeout_s);
    if (*code == 127 && s->errtext && strstr(s->errtext, "cannot run"))
        return byron_err_set(err, BYRON_ENOTFOUND, "%s", s->errtext);
    return BYRON_OK;
}

byron_status_t byron_cli_run(byron_cli_kube_t *k, const byron_cli_run_t *r, int *exit_code, char **errtext,
                             byron_err_t *err) {
    sink_t s = {.r = r};
    *exit_code = -1;
    if (errtext) *errtext = NULL;
    byron_status_t st = r->direct ? run_here(k, r, &s, exit_code, err) : run_exec(k, r, &s, exit_code, err);
    if (st == BYRON_OK && s.overflow)
        st = byron_err_set(err, BYRON_ELIMIT, "a line of output larger than %u bytes", MAX_LINE);
    if (st == BYRON_OK || s.stopped) flush_line(&s);
    if (s.stopped && st != BYRON_OK) st = BYRON_OK, byron_err_clear(err); /* we stopped it ourselves */
    /* trailing newlines of stderr are noise in a message */
    while (s.elen && (s.errtext[s.elen - 1] == '\n' || s.errtext[s.elen - 1] == '\r'))
        s.errtext[--s.elen] = '\0';
    if (errtext)
        *errtext = s.errtext;
    else
        free(s.errtext);
    free(s.line);
    return st;
}
