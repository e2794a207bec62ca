/*
 * Signals of the running sensor, on a control thread of their own.
 *
 * reload_block_signals() blocks SIGINT, SIGTERM and SIGHUP in the calling
 * thread; called first thing in main, every thread started afterwards
 * (workers, librdkafka, sqlite) inherits the mask, so the signals reach only
 * the control thread that reload_start() creates, which waits for them with
 * sigwait() and does the work outside any signal handler:
 *
 *   SIGTERM, SIGINT  set *stop and break the waits of the registered live
 *                    sources; the data path then ends its flows and main
 *                    flushes the outputs.
 *   SIGHUP           parses the command line and the configuration file
 *                    again (app_options_parse) and loads the spec it names.
 *                    A broken configuration or spec is reported and the
 *                    running one kept. Otherwise the new spec is offered to
 *                    the model (model_offer_spec: the model's thread swaps it
 *                    between two transactions), the log level is applied, and
 *                    every other changed setting is reported as taking effect
 *                    at the next start. Inventory, analytics and flows are
 *                    kept.
 */
#ifndef APISENSOR_APP_RELOAD_H
#define APISENSOR_APP_RELOAD_H

#include "capture/source.h"
#include "common/status.h"
#include "model.h"
#include "options.h"

typedef struct reload reload;

typedef struct reload_config {
    int argc;                   /* the command line, parsed again on SIGHUP */
    char **argv;                /* borrowed, outlives the handle */
    const app_options *running; /* options at start, borrowed, outlive the handle */
    model *model;               /* receives reloaded specs, borrowed */
    volatile int *stop;         /* set to 1 on SIGTERM/SIGINT */
} reload_config;

/* Blocks the handled signals in the calling thread (see above). */
void reload_block_signals(void);

/* Starts the control thread. */
as_status reload_start(const reload_config *config, reload **out);

/* Live sources broken out of their wait on a stop (at most APP_MAX_INPUTS);
 * sources must be unregistered (count 0) before they are destroyed. */
void reload_watch_sources(reload *r, capture_source *const *sources, int count);

/* Stops and joins the control thread; NULL is a no-op. Signals stay blocked. */
void reload_destroy(reload *r);

#endif
