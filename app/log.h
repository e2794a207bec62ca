/*
 * Messages of the apisensor program (the only code that prints them), with
 * levels, to stderr or to syslog. Library code reports through statuses and
 * last-error strings; the composition root turns them into log lines here.
 *
 * log_open() is called once before any thread starts; log_set_level() may be
 * called from any thread (SIGHUP reload), and log_write() from any thread:
 * each message is one stdio call on stderr (glibc locks the stream) or one
 * syslog() call. The run summary is a report, not a log line, and stays on
 * stderr.
 */
#ifndef APISENSOR_APP_LOG_H
#define APISENSOR_APP_LOG_H

typedef enum log_level {
    LOG_LEVEL_ERROR,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
} log_level;

typedef enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG } log_target;

/* Parses "error", "warning", "info", "debug" / "stderr", "syslog"; 0 when unknown. */
int log_level_parse(const char *text, log_level *out);
int log_target_parse(const char *text, log_target *out);

/* Starts logging (stderr until called, at level info). */
void log_open(log_target target, log_level level);
void log_set_level(log_level level);

/* 1 when messages of this level are written. */
int log_enabled(log_level level);

/* Writes one message (no trailing newline needed). On stderr: "apisensor: "
 * then "warning: " or "debug: " for those levels. */
void log_write(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* Stops logging to syslog (closelog); stderr needs nothing. */
void log_close(void);

#endif
