/*
 * Log lines to stderr or syslog (see log.h). The level is an atomic so that
 * a reload on the control thread may change it while workers log.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static atomic_int current_level = LOG_LEVEL_INFO;
static log_target current_target = LOG_TO_STDERR;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int log_level_parse(const char *text, log_level *out) {
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++) {
        if (text && !strcmp(text, level_names[i])) {
            *out = (log_level)i;
            return 1;
        }
    }
    return 0;
}

int log_target_parse(const char *text, log_target *out) {
    if (text && !strcmp(text, "stderr")) {
        *out = LOG_TO_STDERR;
        return 1;
    }
    if (text && !strcmp(text, "syslog")) {
        *out = LOG_TO_SYSLOG;
        return 1;
    }
    return 0;
}

void log_open(log_target target, log_level level) {
    current_target = target;
    atomic_store(&current_level, (int)level);
    if (target == LOG_TO_SYSLOG)
        openlog("apisensor", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(log_level level) {
    atomic_store(&current_level, (int)level);
}

int log_enabled(log_level level) {
    return (int)level <= atomic_load(&current_level);
}

void log_write(log_level level, const char *fmt, ...) {
    if (!log_enabled(level))
        return;
    char text[2048];
    va_list args;
    va_start(args, fmt);
    vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (current_target == LOG_TO_SYSLOG) {
        static const int priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(priorities[level], "%s", text);
        return;
    }
    const char *tag = level == LOG_LEVEL_WARNING ? "warning: "
                      : level == LOG_LEVEL_DEBUG ? "debug: "
                                                 : "";
    fprintf(stderr, "apisensor: %s%s\n", tag, text);
}

void log_close(void) {
    if (current_target == LOG_TO_SYSLOG)
        closelog();
}
