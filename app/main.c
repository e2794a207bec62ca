/*
 * apisensor: the composition root. Parses options, opens inputs and outputs,
 * builds the pipeline, handles signals, prints the run summary and maps
 * outcomes to exit codes (0 success, 1 runtime failure, 2 bad usage).
 * Only this folder prints; library code reports through statuses and
 * last-error strings.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "inventory_cmd.h"
#include "export/kafka_sink.h"
#include "export/sink_router.h"
#include "options.h"
#include "parse/tls_keylog.h"
#include "pipeline.h"
#include "workers.h"

static volatile int stop_requested;
static capture_source *live_source; /* broken out of its wait on a signal */

static void on_signal(int signo) {
    (void)signo;
    stop_requested = 1;
    if (live_source)
        capture_source_break(live_source);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct progress_state {
    capture_source *src;
    const char *name;
    double started;
    double last_print;
    int shown;
} progress_state;

static void show_progress(void *arg) {
    progress_state *ps = arg;
    double t = now_seconds();
    if (t - ps->last_print < 1.0)
        return;
    ps->last_print = t;
    uint64_t offset = 0, size = 0;
    capture_source_progress(ps->src, &offset, &size);
    double rate = (double)offset / 1e6 / (t - ps->started);
    if (size > 0)
        fprintf(stderr, "\r%s: %5.1f%% of %.0f MB, %.0f MB/s   ", ps->name,
                100.0 * (double)offset / (double)size, (double)size / 1e6, rate);
    else
        fprintf(stderr, "\r%s: %.0f MB, %.0f MB/s   ", ps->name, (double)offset / 1e6, rate);
    ps->shown = 1;
}

/* Opens the outputs the options ask for: -o (stdout by default unless Kafka
 * is configured), --transactions, --kafka. Returns an exit code. */
static int open_sinks(const app_options *o, sink_router_config *config, char *err, size_t errlen) {
    const char *out_path = o->out_path ? o->out_path : (o->kafka_brokers ? NULL : "-");
    if (out_path && sink_file_create(out_path, err, errlen, &config->events) != AS_OK)
        return 1;
    if (o->transactions_path &&
        sink_file_create(o->transactions_path, err, errlen, &config->transactions) != AS_OK)
        return 1;
    if (!o->kafka_brokers)
        return 0;
    kafka_sink_config kc = {
        .brokers = o->kafka_brokers,
        .topic_prefix = o->kafka_topic_prefix,
        .compression = o->kafka_compression,
        .properties = o->kafka_properties,
        .property_count = o->kafka_property_count,
        .queue_messages = o->lim.kafka_queue_messages,
        .queue_kbytes = o->lim.kafka_queue_kbytes,
        .spool_dir = o->spool_dir,
        .spool_max_bytes = (uint64_t)o->lim.spool_max_bytes,
    };
    as_status st = kafka_sink_create(&kc, err, errlen, &config->kafka);
    if (st == AS_OK)
        return 0;
    return st == AS_ERR_CONFIG ? 2 : 1;
}

/* Flushes every sink; Kafka waits at most --flush-timeout, then spools. */
static int flush_sinks(const sink_router_config *config, const app_options *o) {
    int rc = 0;
    if (config->kafka)
        sink_flush(config->kafka, o->flush_timeout_seconds * 1000);
    sink *files[2] = {config->events, config->transactions};
    const char *names[2] = {o->out_path ? o->out_path : "-", o->transactions_path};
    for (int i = 0; i < 2; i++) {
        if (files[i] && sink_flush(files[i], 0) != AS_OK) {
            fprintf(stderr, "apisensor: %s: %s\n", names[i], sink_error(files[i]));
            rc = 1;
        }
    }
    return rc;
}

/* Says what Kafka could not take: spooled events wait for the next run,
 * dropped ones are lost (exit status 1). */
static int report_kafka(const sink_router_config *config, const app_options *o) {
    if (!config->kafka)
        return 0;
    sink_stats k = sink_get_stats(config->kafka);
    if (o->verbosity >= 0)
        fprintf(stderr,
                "  kafka: %llu events, %llu delivered, %llu failed deliveries, %llu spooled, "
                "%llu replayed, %llu dropped; spool holds %llu events (%llu bytes)\n",
                (unsigned long long)k.written, (unsigned long long)k.delivered,
                (unsigned long long)k.delivery_failed, (unsigned long long)k.spooled,
                (unsigned long long)k.replayed, (unsigned long long)k.dropped,
                (unsigned long long)k.spool_records, (unsigned long long)k.spool_bytes);
    const char *problem = sink_error(config->kafka);
    if (*problem && (k.dropped || k.spool_records || k.delivery_failed || o->verbosity > 0))
        fprintf(stderr, "apisensor: warning: %s\n", problem);
    if (k.spool_records)
        fprintf(stderr,
                "apisensor: kafka: %llu events wait in the spool %s; they are sent first on the "
                "next run\n",
                (unsigned long long)k.spool_records, o->spool_dir);
    if (k.dropped) {
        fprintf(stderr, "apisensor: kafka: %llu events dropped (see above)\n",
                (unsigned long long)k.dropped);
        return 1;
    }
    return 0;
}

static void close_sinks(sink_router_config *config) {
    sink_destroy(config->kafka);
    sink_destroy(config->transactions);
    sink_destroy(config->events);
    config->kafka = config->transactions = config->events = NULL;
}

/* Reads the pseudonym key: the file's bytes (a trailing newline dropped),
 * 16 to 256 of them. Returns 0, or -1 with the reason in err. */
static int read_key_file(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "--pseudonym-key-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(key, 1, 256, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (key[n - 1] == '\n' || key[n - 1] == '\r'))
        n--;
    if (more || n < 16) {
        snprintf(err, errlen, "--pseudonym-key-file %s: the key must be 16 to 256 bytes", path);
        return -1;
    }
    *len = n;
    return 0;
}

/* Runs one source to its end; returns the exit code contribution (0 or 1). */
/* With --workers N > 1, wk runs it (and writes the inventory snapshot). */
static int run_source(pipeline *p, workers *wk, capture_source *src, const char *name,
                      const app_options *o) {
    progress_state ps = {src, name, now_seconds(), now_seconds(), 0};
    int tty = o->progress && o->verbosity >= 0 && isatty(STDERR_FILENO);
    void (*progress)(void *) = tty ? show_progress : NULL;
    as_status st = wk ? workers_run(wk, src, &stop_requested, progress, &ps)
                      : pipeline_run(p, src, &stop_requested, progress, &ps);
    if (ps.shown)
        fprintf(stderr, "\r%*s\r", 60, "");
    if (st == AS_DONE)
        return 0;
    if (st == AS_ERR_TRUNCATED) {
        fprintf(stderr, "apisensor: warning: %s\n", capture_source_error(src));
        return 0;
    }
    fprintf(stderr, "apisensor: %s\n", capture_source_error(src));
    return 1;
}

/* --workers N with several -i: every interface at once, a capture thread
 * each (workers_run_live). Returns the exit code contribution. */
static int run_live_together(workers *wk, const app_options *o, int *opened) {
    capture_source *srcs[APP_MAX_INPUTS] = {NULL};
    as_status statuses[APP_MAX_INPUTS];
    capture_live_options live = {o->snaplen, o->promiscuous, 0, 0, o->bpf_filter};
    char err[512];
    int rc = 0, n = 0;
    for (; n < o->interface_count && !rc; n++) {
        as_status st =
            capture_source_open_live(o->interfaces[n], &live, NULL, err, sizeof err, &srcs[n]);
        if (st != AS_OK) {
            fprintf(stderr, "apisensor: %s\n", err);
            rc = st == AS_ERR_ARG ? 2 : 1; /* a bad filter or option is a usage error */
        }
    }
    if (!rc) {
        *opened = n;
        if (workers_run_live(wk, srcs, (unsigned)n, &stop_requested, statuses) != AS_OK) {
            fprintf(stderr, "apisensor: cannot start the capture threads\n");
            rc = 1;
        }
        for (int i = 0; i < n && !rc; i++)
            if (statuses[i] != AS_DONE) {
                fprintf(stderr, "apisensor: %s\n", capture_source_error(srcs[i]));
                rc = 1;
            }
    }
    for (int i = 0; i < n; i++)
        capture_source_destroy(srcs[i]);
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "inventory") == 0)
        return inventory_cmd_main(argc - 1, argv + 1);
    app_options o;
    char err[512] = "";
    int rc = app_options_parse(&o, argc, argv, err, sizeof err);
    if (rc) {
        fprintf(stderr, "apisensor: %s\n", err);
        app_options_free(&o);
        return rc;
    }
    if (o.action == APP_HELP) {
        app_options_usage(stdout);
        return 0;
    }
    if (o.action == APP_VERSION) {
        printf("apisensor %s\n", APISENSOR_VERSION);
        return 0;
    }

    /* The declared inventory is read before any capture: a broken spec is a
     * configuration error, reported with file and line. */
    openapi_spec *spec = NULL;
    if (o.spec_path) {
        as_status sst = openapi_load_file(o.spec_path, &o.lim, err, sizeof err, &spec);
        if (sst != AS_OK) {
            fprintf(stderr, "apisensor: %s\n", err);
            app_options_free(&o);
            return sst == AS_ERR_NOMEM ? 1 : 2;
        }
    }

    char hostname[256] = "apisensor";
    if (!o.sensor_name && gethostname(hostname, sizeof hostname) == 0)
        hostname[sizeof hostname - 1] = '\0';
    sink_router_config outputs = {
        .sensor = {o.sensor_name ? o.sensor_name : hostname, APISENSOR_VERSION},
        .kafka_transactions = o.kafka_transactions,
    };
    format_parse(o.format, &outputs.format);
    tls_keylog *keylog = NULL;
    if (o.keylog_path) {
        as_status kst = tls_keylog_open(o.keylog_path, &o.lim, err, sizeof err, &keylog);
        if (kst != AS_OK) {
            fprintf(stderr, "apisensor: %s\n", kst == AS_ERR_NOMEM ? status_message(kst) : err);
            openapi_destroy(spec);
            app_options_free(&o);
            return kst == AS_ERR_CONFIG ? 2 : 1;
        }
    }
    static char out_buffer[1 << 16];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
    rc = open_sinks(&o, &outputs, err, sizeof err);
    sink_router *router = NULL;
    if (!rc && sink_router_create(&outputs, &router) != AS_OK) {
        snprintf(err, sizeof err, "out of memory");
        rc = 1;
    }
    if (rc) {
        fprintf(stderr, "apisensor: %s\n", err);
        close_sinks(&outputs);
        openapi_destroy(spec);
        tls_keylog_destroy(keylog);
        app_options_free(&o);
        return rc;
    }
    if (outputs.kafka && *sink_error(outputs.kafka))
        fprintf(stderr, "apisensor: warning: %s\n", sink_error(outputs.kafka));
    pipeline_config config = {
        .lim = o.lim,
        .sensor = outputs.sensor,
        .router = router,
        .stats_interval_seconds = (uint32_t)o.stats_interval_seconds,
        .spec = spec,
        .keylog = keylog,
    };

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    store *db = strcmp(o.db_path, ":memory:") != 0 ? model_open_store(o.db_path, 0, &rc) : NULL;
    /* Pseudonyms of secrets need a key that stays the same for a deployment:
     * the inventory database keeps one; without a database a key is drawn
     * for this run only. */
    uint8_t pseudonym_key[256];
    size_t pseudonym_key_len = 32;
    if (o.pseudonym_key_path ? read_key_file(o.pseudonym_key_path, pseudonym_key,
                                             &pseudonym_key_len, err, sizeof err) != 0
        : db                 ? store_get_or_create_secret(db, "identity_hmac_key", pseudonym_key,
                                                          pseudonym_key_len) != AS_OK
                             : RAND_bytes(pseudonym_key, (int)pseudonym_key_len) != 1) {
        fprintf(stderr, "apisensor: %s\n",
                o.pseudonym_key_path ? err : "cannot get the pseudonym key");
        rc = o.pseudonym_key_path ? 2 : 1;
        store_close(db);
        sink_router_destroy(router);
        close_sinks(&outputs);
        openapi_destroy(spec);
        tls_keylog_destroy(keylog);
        app_options_free(&o);
        return rc;
    }
    model_config mc = {.lim = &o.lim,
                       .sensor = config.sensor,
                       .router = router,
                       .spec = spec,
                       .credentials = &o.credentials,
                       .raw_identities = o.raw_identities,
                       .pseudonym_key = pseudonym_key,
                       .pseudonym_key_len = pseudonym_key_len,
                       .db = db};
    model *m = NULL;
    as_status st = rc ? AS_ERR_IO : model_create(&mc, &m);
    if (st != AS_OK && !rc) {
        if (db && store_error(db)[0])
            fprintf(stderr, "apisensor: %s\n", store_error(db));
        else
            fprintf(stderr, "apisensor: cannot start the inventory: %s\n", status_message(st));
        rc = 1;
    }
    config.model = m;
    pipeline *p = NULL;
    workers *wk = NULL;
    workers_config wc = {
        .count = (unsigned)o.workers,
        .pipeline = config,
        .live = o.interface_count > 0,
        .keylog_path = o.keylog_path,
    };
    if (m)
        st = o.workers > 1 ? workers_create(&wc, &wk) : pipeline_create(&config, &p);
    if (m && st != AS_OK) {
        fprintf(stderr, "apisensor: cannot start the pipeline: %s\n", status_message(st));
        rc = 1;
    }
    double started = now_seconds();
    int sources_opened = 0;
    for (int i = 0; (p || wk) && i < o.input_count && !stop_requested; i++) {
        capture_source *src = NULL;
        st = capture_source_open_file(o.inputs[i], NULL, err, sizeof err, &src);
        if (st != AS_OK) {
            fprintf(stderr, "apisensor: %s\n", err);
            rc = 1;
            continue;
        }
        sources_opened++;
        rc |= run_source(p, wk, src, o.inputs[i], &o);
        capture_source_destroy(src);
        if (p)
            model_snapshot(m, pipeline_now(p));
    }
    if (wk && o.interface_count > 1)
        rc |= run_live_together(wk, &o, &sources_opened);
    for (int i = 0;
         (p || (wk && o.interface_count == 1)) && i < o.interface_count && !stop_requested; i++) {
        capture_live_options live = {o.snaplen, o.promiscuous, 0, 0, o.bpf_filter};
        capture_source *src = NULL;
        st = capture_source_open_live(o.interfaces[i], &live, NULL, err, sizeof err, &src);
        if (st != AS_OK) {
            fprintf(stderr, "apisensor: %s\n", err);
            rc = st == AS_ERR_ARG ? 2 : 1; /* a bad filter or option is a usage error */
            break;
        }
        sources_opened++;
        live_source = src;
        rc |= run_source(p, wk, src, o.interfaces[i], &o);
        live_source = NULL;
        capture_source_destroy(src);
        if (p)
            model_snapshot(m, pipeline_now(p));
    }
    double elapsed = now_seconds() - started;

    if (p && sources_opened)
        pipeline_finish(p);
    workers_finish(wk); /* the final stats event, if a source was opened: always */
    rc |= flush_sinks(&outputs, &o);

    if ((p || wk) && sources_opened && o.verbosity >= 0) {
        if (wk)
            workers_write_summary(wk, stderr, elapsed);
        else
            pipeline_write_summary(p, stderr, elapsed);
        model_write_summary(m, stderr);
    }
    rc |= report_kafka(&outputs, &o);
    if (sink_router_errors(router))
        rc = 1;
    if (m && model_get_totals(m).db_errors)
        rc = 1;
    pipeline_destroy(p);
    workers_destroy(wk);
    model_destroy(m);
    sink_router_destroy(router);
    close_sinks(&outputs);
    if (fflush(stdout)) {
        fprintf(stderr, "apisensor: standard output: write failed: %s\n", strerror(errno));
        rc = 1;
    }
    openapi_destroy(spec);
    store_close(db);
    tls_keylog_destroy(keylog);
    app_options_free(&o);
    return rc;
}
