/*
 * Command line and configuration file of apisensor (CONTRACT.md).
 *
 * The configuration file holds "key = value" lines (# starts a comment);
 * keys are the long option names without dashes and the limit keys of
 * common/limits.h. Options on the command line win over the file.
 */
#ifndef APISENSOR_APP_OPTIONS_H
#define APISENSOR_APP_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "budget.h"
#include "common/limits.h"
#include "parse/credential.h"

#define APP_MAX_INPUTS 64

typedef enum {
    APP_RUN,
    APP_HELP,
    APP_VERSION,
    APP_CHECK_CONFIG /* --check-config: validate the options, the config file and the spec */
} app_action;

typedef struct app_options {
    app_action action;
    const char *inputs[APP_MAX_INPUTS]; /* -r files, in order */
    int input_count;
    const char *interfaces[APP_MAX_INPUTS]; /* -i interfaces */
    int interface_count;
    const char *config_path;
    const char *spec_path;
    const char *db_path;
    const char *out_path;           /* events; "-" = stdout; NULL = not given */
    const char *transactions_path;  /* NULL = off */
    const char *keylog_path;        /* TLS key log; NULL = none */
    const char *pseudonym_key_path; /* key of identity pseudonyms; NULL = the db's */
    const char *format;
    const char *kafka_brokers;                    /* NULL = no Kafka */
    const char *kafka_properties[APP_MAX_INPUTS]; /* -X key=value, in order */
    int kafka_property_count;
    const char *kafka_topic_prefix;
    const char *kafka_compression;
    int kafka_transactions; /* 1 = transactions to <prefix>.transactions */
    const char *spool_dir;
    int flush_timeout_seconds;
    int stats_interval_seconds;    /* packet-time period of stats events; 0 = at the end only */
    int snapshot_interval_seconds; /* live: packet-time period of endpoint snapshots; 0 = none */
    int workers;                   /* worker threads (app/workers.h); 1 = single-threaded */
    const char *sensor_name;
    const char *bpf_filter;
    int snaplen;
    int64_t capture_buffer_bytes; /* kernel ring per live interface */
    int immediate;                /* 1 = packets delivered at once (no block batching) */
    int promiscuous;
    const char *user;       /* drop privileges to this user after opening; NULL = stay */
    int64_t memory_budget;  /* bytes the big tables are sized from; 0 = the limits as set */
    const char *log_target; /* "stderr" or "syslog" */
    const char *log_level;  /* "error", "warning", "info" or "debug" */
    int raw_identities;
    int verbosity; /* -1 quiet (log level error), 0 normal, 1+ verbose (-v) */
    int progress;  /* 1 = progress line on a TTY */
    limits lim;
    uint8_t limit_explicit[LIMITS_COUNT]; /* 1 = set in the file or on the command line */
    budget_report budget;                 /* the split of --memory-budget */
    credential_config credentials;   /* credential names and trusted proxies (docs/identity.md) */
    char *owned[APP_MAX_INPUTS * 4]; /* strings copied from the config file */
    int owned_count;
} app_options;

/*
 * Parses argv (and the -c file it names). Returns 0 on success; on bad usage
 * or configuration returns 2 with a message in err naming the option, or the
 * file and line.
 */
int app_options_parse(app_options *opts, int argc, char **argv, char *err, unsigned errlen);

void app_options_free(app_options *opts);

/* Calls changed(key, arg) for every setting and limit whose value differs
 * between a and b (a SIGHUP reload reports what it cannot apply live). */
void app_options_diff(const app_options *a, const app_options *b,
                      void (*changed)(const char *key, void *arg), void *arg);

/* 1 when key is a credential setting (names, trusted proxies): kept in
 * app_options.credentials, which a running model can take (SIGHUP). */
int app_options_is_credential_setting(const char *key);

/* Writes the --help text. */
void app_options_usage(FILE *out);

#endif
