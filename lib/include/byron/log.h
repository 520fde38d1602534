/* log.h — structured logs: one JSON object per line on stderr.
 *
 *   byron_log(BYRON_LOG_INFO, "reconciled", "name", "orders", "namespace", "shop", NULL);
 *   →
 * {"ts":"2026-11-26T06:40:00.123Z","level":"info","logger":"operator","msg":"reconciled","name":"orders","namespace":"shop"}
 *
 * Fields are key/value string pairs terminated by NULL. Each line is written
 * with a single write(2), so lines from several threads never interleave.
 * The process-wide settings (level, logger name) are set once from main(). */
#ifndef BYRON_LOG_H
#define BYRON_LOG_H

typedef enum { BYRON_LOG_DEBUG, BYRON_LOG_INFO, BYRON_LOG_WARN, BYRON_LOG_ERROR } byron_log_level_t;

/* Process-wide: call from main() before threads start. */
void byron_log_setup(const char *logger, byron_log_level_t min_level, int fd);
/* Parse "debug" | "info" | "warn" | "error"; returns -1 when unknown. */
int byron_log_level_parse(const char *s);
int byron_log_enabled(byron_log_level_t lvl);

void byron_log(byron_log_level_t lvl, const char *msg, ...) __attribute__((sentinel));
/* Same with a printf-formatted message and no extra fields. */
void byron_logf(byron_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
