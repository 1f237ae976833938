/* Leveled logging: one formatted line per call, handed whole to a sink. */
#include "core/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

static char log_host[128] = "algo-1";
static int log_level = -1; /* -1: not yet read from the environment */
static ar_log_sink_fn log_sink;
static void *log_user;

static void stderr_sink(enum ar_log_level level, const char *line, size_t len, void *user)
{
    (void)level;
    (void)user;
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, line, len);
        if (w <= 0)
            return;
        line += w;
        len -= (size_t)w;
    }
}

int ar_log_level_parse(const char *s, enum ar_log_level *out)
{
    static const struct {
        const char *name;
        enum ar_log_level level;
    } names[] = {{"debug", AR_LOG_DEBUG},  {"info", AR_LOG_INFO},   {"warn", AR_LOG_WARN},
                 {"warning", AR_LOG_WARN}, {"error", AR_LOG_ERROR}, {"off", AR_LOG_OFF}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return AR_OK;
        }
    }
    return ar_err_set(AR_ERR_PARAM, "unknown log level '%s' (debug, info, warn, error, off)", s);
}

enum ar_log_level ar_log_get_level(void)
{
    if (log_level < 0) {
        enum ar_log_level lv = AR_LOG_INFO;
        const char *env = getenv("ALGORUN_LOG_LEVEL");
        if (env && ar_log_level_parse(env, &lv) != AR_OK)
            lv = AR_LOG_INFO;
        log_level = (int)lv;
    }
    return (enum ar_log_level)log_level;
}

void ar_log_set_host(const char *host)
{
    snprintf(log_host, sizeof log_host, "%s", host);
}

const char *ar_log_host(void)
{
    return log_host;
}

void ar_log_set_level(enum ar_log_level level)
{
    log_level = (int)level;
}

void ar_log_set_sink(ar_log_sink_fn sink, void *user, ar_log_sink_fn *prev, void **prev_user)
{
    if (prev)
        *prev = log_sink;
    if (prev_user)
        *prev_user = log_user;
    log_sink = sink;
    log_user = user;
}

static void emit(enum ar_log_level level, char *buf, size_t len, size_t cap)
{
    if (len >= cap)
        len = cap - 1;
    if (len == 0 || buf[len - 1] != '\n') {
        if (len + 1 >= cap)
            len = cap - 2;
        buf[len++] = '\n';
        buf[len] = '\0';
    }
    (log_sink ? log_sink : stderr_sink)(level, buf, len, log_user);
}

/* Per-thread cache of the line prefix: the thread id (a syscall) and the formatted date only
 * change when the second or the level does, so a busy thread (the server's access log)
 * formats its prefix once a second. */
static _Thread_local struct {
    long tid;
    time_t sec;
    int level;
    int len;
    char text[96];
} log_prefix = {0, (time_t)-1, -1, 0, ""};

/* A forked child (the Pipe-mode feeders) has a new thread id: forget the cached prefix. */
static void log_after_fork(void)
{
    log_prefix.tid = 0;
    log_prefix.sec = (time_t)-1;
}

static void log_register_fork(void)
{
    pthread_atfork(NULL, NULL, log_after_fork);
}

void ar_log_printf(enum ar_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "OFF"};
    char buf[4096];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != log_prefix.sec || (int)level != log_prefix.level) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        if (!log_prefix.tid) {
            static pthread_once_t once = PTHREAD_ONCE_INIT;
            pthread_once(&once, log_register_fork);
            log_prefix.tid = (long)syscall(SYS_gettid);
        }
        int k = snprintf(log_prefix.text, sizeof log_prefix.text,
                         "[%02d/%02d/%04d %02d:%02d:%02d %s %ld] ", tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                         names[level <= AR_LOG_OFF ? level : AR_LOG_OFF], log_prefix.tid);
        if (k < 0 || k >= (int)sizeof log_prefix.text)
            return;
        log_prefix.len = k;
        log_prefix.sec = ts.tv_sec;
        log_prefix.level = (int)level;
    }
    int n = log_prefix.len;
    memcpy(buf, log_prefix.text, (size_t)n);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    emit(level, buf, (size_t)n + (size_t)m, sizeof buf);
}

void ar_log_raw(const char *fmt, ...)
{
    char buf[4096];
    if (AR_LOG_INFO < ar_log_get_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    emit(AR_LOG_INFO, buf, (size_t)m, sizeof buf);
}
