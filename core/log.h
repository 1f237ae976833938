/* Leveled logging with a replaceable sink.
 *
 * AR_LOG checks the level before evaluating its arguments. Each line is formatted once and
 * handed to the sink whole (the default sink writes it to stderr in one write), prefixed the
 * way SageMaker's first-party algorithms prefix theirs: "[MM/DD/YYYY HH:MM:SS LEVEL tid] ".
 * ar_log_raw() writes a line without the prefix: XGBoost-style metric lines use it.
 * Never log inside an OpenMP region or a hot loop.
 */
#ifndef AR_CORE_LOG_H
#define AR_CORE_LOG_H

#include <stddef.h>

enum ar_log_level {
    AR_LOG_DEBUG = 0,
    AR_LOG_INFO = 1,
    AR_LOG_WARN = 2,
    AR_LOG_ERROR = 3,
    AR_LOG_OFF = 4
};

/* Receives one complete line (ending in '\n'); `level` is the line's level. */
typedef void (*ar_log_sink_fn)(enum ar_log_level level, const char *line, size_t len, void *user);

/* Lines below `level` are dropped. Default AR_LOG_INFO; ALGORUN_LOG_LEVEL overrides at start. */
void ar_log_set_level(enum ar_log_level level);
enum ar_log_level ar_log_get_level(void);

/* Parses "debug", "info", "warn"/"warning", "error", "off" (any case). AR_ERR_PARAM otherwise. */
int ar_log_level_parse(const char *s, enum ar_log_level *out);

/* Replaces the sink; NULL restores the stderr sink. Returns the previous sink and user data. */
void ar_log_set_sink(ar_log_sink_fn sink, void *user, ar_log_sink_fn *prev, void **prev_user);

/* The host name metric lines carry ("host=algo-1"): resourceconfig.json's current_host,
 * "algo-1" until set. The string is copied. */
void ar_log_set_host(const char *host);
const char *ar_log_host(void);

void ar_log_printf(enum ar_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes `fmt` as a line with no prefix (adds '\n' if missing), at INFO level. */
void ar_log_raw(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define AR_LOG(level, ...)                                                                         \
    do {                                                                                           \
        if ((level) >= ar_log_get_level())                                                         \
            ar_log_printf((level), __VA_ARGS__);                                                   \
    } while (0)

#define AR_DEBUG(...) AR_LOG(AR_LOG_DEBUG, __VA_ARGS__)
#define AR_INFO(...)  AR_LOG(AR_LOG_INFO, __VA_ARGS__)
#define AR_WARN(...)  AR_LOG(AR_LOG_WARN, __VA_ARGS__)
#define AR_ERROR(...) AR_LOG(AR_LOG_ERROR, __VA_ARGS__)

#endif
