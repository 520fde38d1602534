/* clock.c — see clock.h. */
#include "byron/clock.h"

#include <errno.h>
#include <time.h>

static struct timespec now(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

int64_t byron_clock_mono_ms(void) {
    struct timespec ts = now(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double byron_clock_mono_s(void) {
    struct timespec ts = now(CLOCK_MONOTONIC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double byron_clock_real_s(void) {
    struct timespec ts = now(CLOCK_REALTIME);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t byron_clock_real_ns(void) {
    struct timespec ts = now(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void byron_clock_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}
