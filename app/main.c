/*
 * apisensor: the composition root. Parses options, opens inputs and outputs,
 * builds the pipeline, handles signals, prints the run summary and maps
 * outcomes to exit codes (0 success, 1 runtime failure, 2 bad usage).
 * Only this folder prints; library code reports through statuses and
 * last-error strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "inventory_cmd.h"
#include "export/kafka_sink.h"
#include "export/sink_router.h"
#include "log.h"
#include "options.h"
#include "parse/tls_keylog.h"
#include "pipeline.h"
#include "privileges.h"
#include "reload.h"
#include "workers.h"

/* Set by the control thread on SIGTERM/SIGINT (reload.h). */
static volatile int stop_requested;

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
            log_error("%s: %s", names[i], sink_error(files[i]));
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
        log_warning("%s", problem);
    if (k.spool_records)
        log_info("kafka: %llu events wait in the spool %s; they are sent first on the next run",
                 (unsigned long long)k.spool_records, o->spool_dir);
    if (k.dropped) {
        log_error("kafka: %llu events dropped (see above)", (unsigned long long)k.dropped);
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
/* A limit split over n workers, at least floor. */
static int64_t share(int64_t value, int n, int64_t floor) {
    return value / n > floor ? value / n : floor;
}

/* workers_config.model_tick: a spec offered by a SIGHUP reload is taken
 * on the model thread while it waits for transactions. */
static void take_spec(void *arg) {
    model_take_spec(arg);
}

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
        log_warning("%s", capture_source_error(src));
        return 0;
    }
    log_error("%s", capture_source_error(src));
    return 1;
}

/* Opens every -i interface (all before privileges are dropped); one source
 * reads them all (a group when there are several). Returns an exit code:
 * 2 for a missing interface or a bad filter, 1 for the rest. */
static int open_interfaces(const app_options *o, capture_source **out, capture_source **members,
                           int *member_count) {
    capture_live_options live = {o->snaplen, o->promiscuous, (int)o->capture_buffer_bytes,
                                 o->immediate, o->bpf_filter};
    char err[512];
    *out = NULL;
    *member_count = 0;
    /* immediate mode hands packets over in fixed frames of the snapshot length */
    long long frames = o->capture_buffer_bytes / (o->snaplen > 0 ? o->snaplen : 262144);
    if (o->immediate && frames < 4096)
        log_warning("--immediate: a ring of %lld MiB holds only %lld packets of snaplen %d; the "
                    "kernel will drop bursts (lower --snaplen or raise --buffer-size)",
                    (long long)(o->capture_buffer_bytes >> 20), frames, o->snaplen);
    for (int i = 0; i < o->interface_count; i++) {
        as_status st =
            capture_source_open_live(o->interfaces[i], &live, NULL, err, sizeof err, &members[i]);
        if (st != AS_OK) {
            log_error("%s", err);
            for (int k = 0; k < i; k++)
                capture_source_destroy(members[k]);
            return st == AS_ERR_ARG ? 2 : 1; /* a missing interface, a bad filter: usage */
        }
        log_info("capturing on %s (buffer %lld MiB, snaplen %d%s%s%s)", o->interfaces[i],
                 (long long)(o->capture_buffer_bytes >> 20), o->snaplen,
                 o->immediate ? ", immediate" : "", o->bpf_filter ? ", filter " : "",
                 o->bpf_filter ? o->bpf_filter : "");
    }
    if (o->interface_count == 1) {
        *out = members[0];
    } else if (capture_source_open_group(members, (unsigned)o->interface_count, err, sizeof err,
                                         out) != AS_OK) {
        log_error("%s", err);
        for (int k = 0; k < o->interface_count; k++)
            capture_source_destroy(members[k]);
        return 1;
    }
    *member_count = o->interface_count;
    return 0;
}

/* The live capture figures of the run summary: per interface, packets and the
 * drops the kernel (ring full) and the interface reported. */
static void write_capture_summary(capture_source *const *members, int count, const app_options *o,
                                  FILE *out) {
    for (int i = 0; i < count; i++) {
        capture_source_stats cs = capture_source_get_stats(members[i]);
        fprintf(out,
                "  capture %s: %llu packets, %.1f MB; dropped by the kernel %llu, by the "
                "interface %llu\n",
                o->interfaces[i], (unsigned long long)cs.packets, (double)cs.bytes / 1e6,
                (unsigned long long)cs.kernel_drops, (unsigned long long)cs.iface_drops);
    }
}

/* Logs the split of --memory-budget. */
static void log_budget(const budget_report *b) {
    if (!b->budget)
        return;
    char text[1024];
    size_t used = 0;
    for (int i = 0; i < b->line_count && used < sizeof text; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s%s %lld (%lld MiB%s)", i ? ", " : "",
                         b->lines[i].key, (long long)b->lines[i].value,
                         (long long)(b->lines[i].bytes >> 20),
                         b->lines[i].explicit_setting ? ", set" : "");
        if (n < 0)
            break;
        used += (size_t)n;
    }
    log_info("memory budget %lld MiB: %lld MiB fixed; %s", (long long)(b->budget >> 20),
             (long long)(BUDGET_FIXED_BYTES >> 20), text);
}

/* --workers N with several -i: every interface at once, a capture thread
 * each (workers_run_live), instead of the group one thread reads. Returns
 * the exit code contribution. */
static int run_live_together(workers *wk, capture_source **members, int n) {
    as_status statuses[APP_MAX_INPUTS];
    if (workers_run_live(wk, members, (unsigned)n, &stop_requested, statuses) != AS_OK) {
        log_error("cannot start the capture threads");
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++)
        if (statuses[i] != AS_DONE) {
            log_error("%s", capture_source_error(members[i]));
            rc = 1;
        }
    return rc;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "inventory") == 0)
        return inventory_cmd_main(argc - 1, argv + 1);
    /* before any thread exists: signals reach only the control thread */
    reload_block_signals();
    app_options o;
    char err[1024] = "";
    int rc = app_options_parse(&o, argc, argv, err, sizeof err);
    if (rc) {
        log_error("%s", err);
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
    log_target target = LOG_TO_STDERR;
    log_level level = LOG_LEVEL_INFO;
    log_target_parse(o.log_target, &target);
    log_level_parse(o.log_level, &level);
    log_open(target, level);
    log_budget(&o.budget);

    /* The declared inventory is read before any capture: a broken spec is a
     * configuration error, reported with file and line. */
    openapi_spec *spec = NULL;
    if (o.spec_path) {
        as_status sst = openapi_load_file(o.spec_path, &o.lim, err, sizeof err, &spec);
        if (sst != AS_OK) {
            log_error("%s", err);
            app_options_free(&o);
            return sst == AS_ERR_NOMEM ? 1 : 2;
        }
    }
    if (o.action == APP_CHECK_CONFIG) {
        printf("apisensor: configuration %s%s%s is valid\n", o.config_path ? o.config_path : "",
               o.config_path && o.spec_path ? " and spec " : "", o.spec_path ? o.spec_path : "");
        openapi_destroy(spec);
        app_options_free(&o);
        return 0;
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
            log_error("%s", kst == AS_ERR_NOMEM ? status_message(kst) : err);
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
        log_error("%s", err);
        close_sinks(&outputs);
        openapi_destroy(spec);
        tls_keylog_destroy(keylog);
        app_options_free(&o);
        return rc;
    }
    if (outputs.kafka && *sink_error(outputs.kafka))
        log_warning("%s", sink_error(outputs.kafka));
    pipeline_config config = {
        .lim = o.lim,
        .sensor = outputs.sensor,
        .router = router,
        .stats_interval_seconds = (uint32_t)o.stats_interval_seconds,
        .spec = spec,
        .keylog = keylog,
    };

    store *db = strcmp(o.db_path, ":memory:") != 0 ? model_open_store(o.db_path, 0, &rc) : NULL;
    /* Live interfaces are opened with the files, before privileges are dropped. */
    capture_source *live = NULL;
    capture_source *members[APP_MAX_INPUTS];
    int member_count = 0;
    if (!rc && o.interface_count > 0)
        rc = open_interfaces(&o, &live, members, &member_count);
    if (!rc && o.user) {
        if (privileges_drop(o.user, err, sizeof err) != 0) {
            log_error("%s; not running on as uid %u", err, (unsigned)geteuid());
            rc = 1;
        } else {
            log_info("running as user %s (uid %u, gid %u)", o.user, (unsigned)getuid(),
                     (unsigned)getgid());
        }
    }
    /* Pseudonyms of secrets need a key that stays the same for a deployment:
     * the inventory database keeps one; without a database a key is drawn
     * for this run only. */
    uint8_t pseudonym_key[256];
    size_t pseudonym_key_len = 32;
    if (!rc && (o.pseudonym_key_path ? read_key_file(o.pseudonym_key_path, pseudonym_key,
                                                     &pseudonym_key_len, err, sizeof err) != 0
                : db ? store_get_or_create_secret(db, "identity_hmac_key", pseudonym_key,
                                                  pseudonym_key_len) != AS_OK
                     : RAND_bytes(pseudonym_key, (int)pseudonym_key_len) != 1)) {
        log_error("%s", o.pseudonym_key_path ? err : "cannot get the pseudonym key");
        rc = o.pseudonym_key_path ? 2 : 1;
    }
    if (rc) {
        capture_source_destroy(live);
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
                       .db = db,
                       /* capture files get one snapshot at the end of each file */
                       .snapshot_interval_seconds =
                           o.interface_count > 0 ? (uint32_t)o.snapshot_interval_seconds : 0};
    model *m = NULL;
    as_status st = model_create(&mc, &m);
    if (st != AS_OK) {
        if (db && store_error(db)[0])
            log_error("%s", store_error(db));
        else
            log_error("cannot start the inventory: %s", status_message(st));
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
        .model_tick = take_spec,
        .model_tick_arg = m,
    };
    if (o.memory_budget && o.workers > 1) {
        /* the budget sized one flow table, one reassembly pool, one
         * fragment table and one HTTP engine: with N workers each holds its
         * share */
        wc.pipeline.lim.flow_max = share(o.lim.flow_max, o.workers, 1024);
        wc.pipeline.lim.tcp_ooo_bytes_total =
            share(o.lim.tcp_ooo_bytes_total, o.workers, o.lim.tcp_ooo_bytes_per_direction);
        wc.pipeline.lim.ipfrag_max_datagrams = share(o.lim.ipfrag_max_datagrams, o.workers, 1);
        wc.pipeline.lim.http_memory_bytes = share(o.lim.http_memory_bytes, o.workers, 1 << 20);
    }
    if (m)
        st = o.workers > 1 ? workers_create(&wc, &wk) : pipeline_create(&config, &p);
    if (m && st != AS_OK) {
        log_error("cannot start the pipeline: %s", status_message(st));
        rc = 1;
    }
    reload *control = NULL;
    reload_config rcfg = {argc, argv, &o, m, &stop_requested};
    if ((p || wk) && reload_start(&rcfg, &control) != AS_OK) {
        log_error("cannot start the control thread");
        rc = 1;
        pipeline_destroy(p);
        p = NULL;
        workers_destroy(wk);
        wk = NULL;
    }
    double started = now_seconds();
    int sources_opened = 0;
    for (int i = 0; (p || wk) && i < o.input_count && !stop_requested; i++) {
        capture_source *src = NULL;
        st = capture_source_open_input(o.inputs[i], &stop_requested, NULL, err, sizeof err, &src);
        if (st == AS_DONE) { /* stopped while a pipe had not begun: final stats as usual */
            log_info("%s", err);
            sources_opened++;
            break;
        }
        if (st != AS_OK) {
            log_error("%s", err);
            rc = 1;
            continue;
        }
        sources_opened++;
        /* a stop breaks a read blocked on an idle pipe (-r -) */
        reload_watch_sources(control, &src, 1);
        if (stop_requested) /* a signal taken before the source was watched */
            capture_source_break(src);
        rc |= run_source(p, wk, src, o.inputs[i], &o);
        reload_watch_sources(control, NULL, 0);
        capture_source_destroy(src);
        if (p)
            model_snapshot(m, pipeline_now(p));
    }
    if ((p || wk) && live) {
        sources_opened++;
        int together = wk && member_count > 1;
        reload_watch_sources(control, together ? members : &live, together ? member_count : 1);
        if (!stop_requested)
            rc |= together
                      ? run_live_together(wk, members, member_count)
                      : run_source(p, wk, live,
                                   o.interface_count == 1 ? o.interfaces[0] : "interfaces", &o);
        reload_watch_sources(control, NULL, 0);
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
        write_capture_summary(members, member_count, &o, stderr);
        model_write_summary(m, stderr);
    }
    reload_destroy(control);
    capture_source_destroy(live);
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
        log_error("standard output: write failed: %s", strerror(errno));
        rc = 1;
    }
    openapi_destroy(spec);
    store_close(db);
    tls_keylog_destroy(keylog);
    app_options_free(&o);
    log_close();
    return rc;
}
