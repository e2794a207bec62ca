/*
 * The control thread (see reload.h). It owns the options of the last
 * successful reload (to report what changed next time); the options in
 * force at start belong to main. SIGUSR2, sent by reload_destroy(), only
 * ends the thread.
 */
#include "reload.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "log.h"

struct reload {
    reload_config config;
    pthread_t thread;
    pthread_mutex_t lock; /* guards sources */
    capture_source *sources[APP_MAX_INPUTS];
    int source_count;
    app_options last; /* options of the last successful reload */
    int have_last;    /* 1 once `last` holds options to free */
    unsigned done;    /* reloads applied */
    unsigned refused; /* reloads refused (broken configuration or spec) */
};

static void handled_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR2);
}

void reload_block_signals(void) {
    sigset_t set;
    handled_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void stop_sensor(reload *r, int signo) {
    *r->config.stop = 1;
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->source_count; i++)
        capture_source_break(r->sources[i]);
    pthread_mutex_unlock(&r->lock);
    log_info("%s: stopping (flushing the flows and outputs)",
             signo == SIGINT ? "SIGINT" : "SIGTERM");
}

static void report_change(const char *key, void *arg) {
    (void)arg;
    if (!strcmp(key, "spec") || !strcmp(key, "log-level") || analytics_is_threshold(key) ||
        app_options_is_credential_setting(key))
        return; /* applied live */
    log_warning("reload: '%s' changed; it takes effect at the next start", key);
}

static void reload_now(reload *r) {
    app_options fresh;
    char err[1024] = "";
    if (app_options_parse(&fresh, r->config.argc, r->config.argv, err, sizeof err) != 0) {
        log_error("reload: %s; keeping the running configuration and spec", err);
        app_options_free(&fresh);
        return;
    }
    openapi_spec *spec = NULL;
    if (fresh.spec_path) {
        as_status st = openapi_load_file(fresh.spec_path, &fresh.lim, err, sizeof err, &spec);
        if (st != AS_OK) {
            log_error("reload: %s; keeping the running configuration and spec",
                      st == AS_ERR_NOMEM ? status_message(st) : err);
            app_options_free(&fresh);
            return;
        }
    }
    app_options_diff(r->have_last ? &r->last : r->config.running, &fresh, report_change, NULL);
    log_level level;
    if (log_level_parse(fresh.log_level, &level))
        log_set_level(level);
    model_offer_settings(r->config.model, &fresh.lim, &fresh.credentials);
    model_offer_spec(r->config.model, spec);
    if (spec)
        log_info("reload: configuration %s, spec %s (%u operations, %u deprecated) in force; "
                 "inventory, analytics and flows kept",
                 fresh.config_path ? fresh.config_path : "(none)", fresh.spec_path,
                 openapi_operation_count(spec), openapi_deprecated_count(spec));
    else
        log_info("reload: configuration %s in force, no spec; inventory, analytics and flows "
                 "kept",
                 fresh.config_path ? fresh.config_path : "(none)");
    if (r->have_last)
        app_options_free(&r->last);
    r->last = fresh;
    r->have_last = 1;
}

static void *control_main(void *arg) {
    reload *r = arg;
    sigset_t set;
    handled_signals(&set);
    for (;;) {
        int signo = 0;
        if (sigwait(&set, &signo) != 0)
            continue;
        if (signo == SIGUSR2)
            return NULL;
        if (signo == SIGHUP)
            reload_now(r);
        else
            stop_sensor(r, signo);
    }
}

as_status reload_start(const reload_config *config, reload **out) {
    *out = NULL;
    reload *r = calloc(1, sizeof *r);
    if (!r)
        return AS_ERR_NOMEM;
    r->config = *config;
    pthread_mutex_init(&r->lock, NULL);
    if (pthread_create(&r->thread, NULL, control_main, r) != 0) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return AS_ERR_NOMEM;
    }
    *out = r;
    return AS_OK;
}

void reload_watch_sources(reload *r, capture_source *const *sources, int count) {
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->source_count = 0;
    for (int i = 0; i < count && i < APP_MAX_INPUTS; i++)
        r->sources[r->source_count++] = sources[i];
    pthread_mutex_unlock(&r->lock);
}

void reload_destroy(reload *r) {
    if (!r)
        return;
    pthread_kill(r->thread, SIGUSR2);
    pthread_join(r->thread, NULL);
    if (r->have_last)
        app_options_free(&r->last);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
