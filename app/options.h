/*
 * Command line and configuration file of apisensor (CONTRACT.md).
 *
 * The configuration file holds "key = value" lines (# starts a comment);
 * keys are the long option names without dashes and the limit keys of
 * common/limits.h. Options on the command line win over the file.
 */
#ifndef APISENSOR_APP_OPTIONS_H
#define APISENSOR_APP_OPTIONS_H

#include <stdio.h>

#include "common/limits.h"
#include "parse/credential.h"

#define APP_MAX_INPUTS 64

typedef enum { APP_RUN, APP_HELP, APP_VERSION } app_action;

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
    int stats_interval_seconds; /* packet-time period of stats events; 0 = at the end only */
    int workers;                /* worker threads (app/workers.h); 1 = single-threaded */
    const char *sensor_name;
    const char *bpf_filter;
    int snaplen;
    int promiscuous;
    int raw_identities;
    int verbosity; /* -1 quiet, 0 normal, 1+ verbose */
    int progress;  /* 1 = progress line on a TTY */
    limits lim;
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

/* Writes the --help text. */
void app_options_usage(FILE *out);

#endif
