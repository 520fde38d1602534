/* clock.h — the one clock of Byron's processes.
 *
 * Deadlines, timeouts and durations read the monotonic clock (immune to the
 * wall clock being set); timestamps written into events, logs and Kubernetes
 * objects read the real-time clock. */
#ifndef BYRON_CLOCK_H
#define BYRON_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds (deadlines, backoff, leases). */
int64_t byron_clock_mono_ms(void);
/* Monotonic seconds with a fraction (durations for metrics). */
double byron_clock_mono_s(void);
/* Real-time seconds since the epoch, with a fraction. */
double byron_clock_real_s(void);
/* Real-time nanoseconds since the epoch. */
int64_t byron_clock_real_ns(void);
/* Sleep ms milliseconds (a poll's pause; resumed if a signal interrupts it). */
void byron_clock_sleep_ms(long ms);

#endif
