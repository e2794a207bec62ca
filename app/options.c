/*
 * Option parsing: one table of settings shared by the command line and the
 * configuration file, so both accept the same keys with the same checks.
 * Strings from the command line are borrowed from argv; strings from the
 * configuration file are copied and owned by app_options.
 */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    SET_STRING,
    SET_INPUT,
    SET_INTERFACE,
    SET_KAFKA_PROPERTY,
    SET_INT,
    SET_FLAG,
    SET_NAMES,  /* a credential name list; offset is its credential_list_id */
    SET_PROXIES /* trusted proxies */
} setting_kind;

typedef struct setting {
    const char *key;
    setting_kind kind;
    size_t offset; /* into app_options, for SET_STRING / SET_INT / SET_FLAG; SET_NAMES: list */
    const char *help;
} setting;

#define FIELD(f) offsetof(app_options, f)

static const setting settings[] = {
    {"read", SET_INPUT, 0, "capture file to analyse (pcap or pcapng; - = stdin); repeatable"},
    {"interface", SET_INTERFACE, 0, "capture live on this interface; repeatable"},
    {"spec", SET_STRING, FIELD(spec_path), "declared inventory, OpenAPI 3.0/3.1 (inventory: #3)"},
    {"db", SET_STRING, FIELD(db_path), "sqlite3 inventory (default apisensor.db; :memory:)"},
    {"out", SET_STRING, FIELD(out_path), "events as JSON Lines; - = stdout (default)"},
    {"transactions", SET_STRING, FIELD(transactions_path),
     "one JSON line per HTTP transaction (- = stdout; off by default)"},
    {"format", SET_STRING, FIELD(format),
     "shape of exported events: native (default), ecs, ocsf, splunk"},
    {"kafka", SET_STRING, FIELD(kafka_brokers), "produce events to Kafka (host:port,...)"},
    {"kafka-property", SET_KAFKA_PROPERTY, 0, "librdkafka setting key=value (-X); repeatable"},
    {"kafka-topic-prefix", SET_STRING, FIELD(kafka_topic_prefix),
     "Kafka topics <prefix>.findings/.endpoints/.transactions/.stats (default apisensor)"},
    {"kafka-compression", SET_STRING, FIELD(kafka_compression),
     "Kafka compression codec: lz4 (default), zstd, gzip, snappy, none"},
    {"kafka-transactions", SET_FLAG, FIELD(kafka_transactions),
     "also produce transaction events to <prefix>.transactions"},
    {"spool-dir", SET_STRING, FIELD(spool_dir),
     "on-disk spool for events Kafka cannot take now (default apisensor-spool)"},
    {"flush-timeout", SET_INT, FIELD(flush_timeout_seconds),
     "seconds to wait for Kafka at exit before spooling the rest (default 10)"},
    {"workers", SET_INT, FIELD(workers),
     "worker threads sharing the flows (default 1: one thread; at most 64)"},
    {"stats-interval", SET_INT, FIELD(stats_interval_seconds),
     "seconds of packet time between stats events (default 60; 0 = at the end only)"},
    {"pseudonym-key-file", SET_STRING, FIELD(pseudonym_key_path),
     "file holding the HMAC key of identity pseudonyms (16..256 bytes; default: kept in --db)"},
    {"keylog", SET_STRING, FIELD(keylog_path),
     "TLS key log (NSS format, SSLKEYLOGFILE) for decryption; re-read as it grows"},
    {"sensor-name", SET_STRING, FIELD(sensor_name), "sensor name in events (default: host name)"},
    {"filter", SET_STRING, FIELD(bpf_filter), "BPF filter for live capture"},
    {"snaplen", SET_INT, FIELD(snaplen), "bytes kept per packet in live capture (default 262144)"},
    {"promiscuous", SET_FLAG, FIELD(promiscuous), "put live interfaces in promiscuous mode"},
    {"raw-identities", SET_FLAG, FIELD(raw_identities),
     "write credential-derived identities raw (lab audits only)"},
    {"progress", SET_FLAG, FIELD(progress), "progress line on a terminal (default on)"},
    {"api_key_headers", SET_NAMES, CREDENTIAL_LIST_API_KEY_HEADERS,
     "API key header names, a,b (+a,b adds to the defaults)"},
    {"credential_query_params", SET_NAMES, CREDENTIAL_LIST_QUERY_PARAMS,
     "query parameters that carry credentials, a,b (+ adds)"},
    {"session_cookies", SET_NAMES, CREDENTIAL_LIST_SESSION_COOKIES,
     "session cookie names, '*' wildcards, a,b (+ adds)"},
    {"trusted_proxies", SET_PROXIES, 0,
     "addresses or networks whose X-Forwarded-For is honoured, ip[/bits],..."},
};

#define SETTING_COUNT ((int)(sizeof settings / sizeof settings[0]))

static char *keep(app_options *opts, const char *text) {
    if (opts->owned_count >= (int)(sizeof opts->owned / sizeof opts->owned[0]))
        return NULL;
    char *copy = strdup(text);
    if (copy)
        opts->owned[opts->owned_count++] = copy;
    return copy;
}

static int parse_bool(const char *value, int *out) {
    if (!value || !strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes") ||
        !strcmp(value, "on")) {
        *out = 1;
        return 1;
    }
    if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no") ||
        !strcmp(value, "off")) {
        *out = 0;
        return 1;
    }
    return 0;
}

/* Applies one setting; value is borrowed (the caller keeps it alive). */
static int apply(app_options *opts, const char *key, const char *value, char *err,
                 unsigned errlen) {
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting *s = &settings[i];
        if (strcmp(s->key, key) != 0)
            continue;
        char *base = (char *)opts;
        switch (s->kind) {
        case SET_STRING:
            *(const char **)(base + s->offset) = value;
            return 0;
        case SET_INPUT:
        case SET_INTERFACE:
        case SET_KAFKA_PROPERTY: {
            const char **list = s->kind == SET_INPUT       ? opts->inputs
                                : s->kind == SET_INTERFACE ? opts->interfaces
                                                           : opts->kafka_properties;
            int *count = s->kind == SET_INPUT       ? &opts->input_count
                         : s->kind == SET_INTERFACE ? &opts->interface_count
                                                    : &opts->kafka_property_count;
            if (*count >= APP_MAX_INPUTS) {
                snprintf(err, errlen, "too many --%s values (at most %d)", key, APP_MAX_INPUTS);
                return 2;
            }
            list[(*count)++] = value;
            return 0;
        }
        case SET_INT: {
            char *end = NULL;
            errno = 0;
            long v = strtol(value, &end, 10);
            if (errno || end == value || *end || v < 0 || v > 0x7fffffff) {
                snprintf(err, errlen, "--%s: '%s' is not a valid number", key, value);
                return 2;
            }
            *(int *)(base + s->offset) = (int)v;
            return 0;
        }
        case SET_FLAG:
            if (!parse_bool(value, (int *)(base + s->offset))) {
                snprintf(err, errlen, "--%s: '%s' is not true or false", key, value);
                return 2;
            }
            return 0;
        case SET_NAMES:
        case SET_PROXIES: {
            char inner[256];
            as_status st =
                s->kind == SET_NAMES
                    ? credential_config_set_names(&opts->credentials, (credential_list_id)s->offset,
                                                  value ? value : "", inner, sizeof inner)
                    : credential_config_set_proxies(&opts->credentials, value ? value : "", inner,
                                                    sizeof inner);
            if (st != AS_OK) {
                snprintf(err, errlen, "%s: %s", key, inner);
                return 2;
            }
            return 0;
        }
        }
    }
    as_status st = limits_set(&opts->lim, key, value ? value : "");
    if (st == AS_OK)
        return 0;
    if (st == AS_ERR_ARG) {
        const limit_info *info = limits_info();
        for (int i = 0; i < limits_info_count(); i++)
            if (!strcmp(info[i].key, key))
                snprintf(err, errlen, "%s: '%s' is not a number from %lld to %lld", key,
                         value ? value : "", (long long)info[i].min_value,
                         (long long)info[i].max_value);
        return 2;
    }
    snprintf(err, errlen, "unknown setting '%s'", key);
    return 2;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int load_config(app_options *opts, const char *path, char *err, unsigned errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open configuration file: %s", path, strerror(errno));
        return 2;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *text = trim(line);
        if (!*text)
            continue;
        char *eq = strchr(text, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
            rc = 2;
            break;
        }
        *eq = '\0';
        char *key = trim(text);
        char *value = keep(opts, trim(eq + 1));
        if (!value) {
            snprintf(err, errlen, "%s:%d: too many settings", path, lineno);
            rc = 2;
            break;
        }
        char inner[384];
        if (apply(opts, key, value, inner, sizeof inner) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, inner);
            rc = 2;
        }
    }
    fclose(f);
    return rc;
}

enum {
    OPT_SPEC = 256,
    OPT_DB,
    OPT_TRANSACTIONS,
    OPT_FORMAT,
    OPT_KAFKA,
    OPT_KAFKA_PREFIX,
    OPT_KAFKA_COMPRESSION,
    OPT_KAFKA_TRANSACTIONS,
    OPT_SPOOL_DIR,
    OPT_FLUSH_TIMEOUT,
    OPT_STATS_INTERVAL,
    OPT_WORKERS,
    OPT_KEYLOG,
    OPT_PSEUDONYM_KEY,
    OPT_RAW_IDS,
    OPT_LIMIT,
    OPT_SENSOR_NAME,
    OPT_FILTER,
    OPT_SNAPLEN,
    OPT_PROMISC,
    OPT_NO_PROGRESS,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"read", required_argument, NULL, 'r'},
    {"interface", required_argument, NULL, 'i'},
    {"config", required_argument, NULL, 'c'},
    {"out", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"spec", required_argument, NULL, OPT_SPEC},
    {"db", required_argument, NULL, OPT_DB},
    {"transactions", required_argument, NULL, OPT_TRANSACTIONS},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"kafka", required_argument, NULL, OPT_KAFKA},
    {"kafka-topic-prefix", required_argument, NULL, OPT_KAFKA_PREFIX},
    {"kafka-compression", required_argument, NULL, OPT_KAFKA_COMPRESSION},
    {"kafka-transactions", no_argument, NULL, OPT_KAFKA_TRANSACTIONS},
    {"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
    {"flush-timeout", required_argument, NULL, OPT_FLUSH_TIMEOUT},
    {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"keylog", required_argument, NULL, OPT_KEYLOG},
    {"pseudonym-key-file", required_argument, NULL, OPT_PSEUDONYM_KEY},
    {"raw-identities", no_argument, NULL, OPT_RAW_IDS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"sensor-name", required_argument, NULL, OPT_SENSOR_NAME},
    {"filter", required_argument, NULL, OPT_FILTER},
    {"snaplen", required_argument, NULL, OPT_SNAPLEN},
    {"promiscuous", no_argument, NULL, OPT_PROMISC},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const char short_options[] = "r:i:c:o:qvhX:";

/* Finds -c/--config before anything else, so the command line wins over it. */
static const char *find_config(int argc, char **argv) {
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else if (!strncmp(argv[i], "-c", 2) && argv[i][2])
            path = argv[i] + 2;
    }
    return path;
}

int app_options_parse(app_options *opts, int argc, char **argv, char *err, unsigned errlen) {
    memset(opts, 0, sizeof *opts);
    opts->lim = limits_default();
    credential_config_init(&opts->credentials, &opts->lim);
    opts->db_path = "apisensor.db";
    opts->format = "native";
    opts->progress = 1;
    opts->kafka_topic_prefix = "apisensor";
    opts->kafka_compression = "lz4";
    opts->spool_dir = "apisensor-spool";
    opts->flush_timeout_seconds = 10;
    opts->stats_interval_seconds = 60;
    opts->workers = 1;

    opts->config_path = find_config(argc, argv);
    if (opts->config_path) {
        int rc = load_config(opts, opts->config_path, err, errlen);
        if (rc)
            return rc;
    }
    int cli_inputs = 0, cli_interfaces = 0, cli_properties = 0;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        const char *key = NULL;
        const char *value = optarg;
        switch (c) {
        case 'r':
            if (!cli_inputs++)
                opts->input_count = 0;
            key = "read";
            break;
        case 'i':
            if (!cli_interfaces++)
                opts->interface_count = 0;
            key = "interface";
            break;
        case 'c':
            continue;
        case 'o':
            key = "out";
            break;
        case 'q':
            opts->verbosity = -1;
            continue;
        case 'v':
            opts->verbosity++;
            continue;
        case 'h':
            opts->action = APP_HELP;
            return 0;
        case OPT_VERSION:
            opts->action = APP_VERSION;
            return 0;
        case OPT_SPEC:
            key = "spec";
            break;
        case OPT_DB:
            key = "db";
            break;
        case OPT_TRANSACTIONS:
            key = "transactions";
            break;
        case OPT_FORMAT:
            key = "format";
            break;
        case OPT_SENSOR_NAME:
            key = "sensor-name";
            break;
        case OPT_FILTER:
            key = "filter";
            break;
        case OPT_SNAPLEN:
            key = "snaplen";
            break;
        case OPT_PROMISC:
            key = "promiscuous";
            value = "true";
            break;
        case OPT_RAW_IDS:
            key = "raw-identities";
            value = "true";
            break;
        case OPT_NO_PROGRESS:
            key = "progress";
            value = "false";
            break;
        case OPT_LIMIT: {
            char name[128];
            const char *eq = strchr(optarg, '=');
            if (!eq || (size_t)(eq - optarg) >= sizeof name) {
                snprintf(err, errlen, "--limit takes KEY=VALUE, got '%s'", optarg);
                return 2;
            }
            memcpy(name, optarg, (size_t)(eq - optarg));
            name[eq - optarg] = '\0';
            if (apply(opts, name, eq + 1, err, errlen))
                return 2;
            continue;
        }
        case OPT_KAFKA:
            key = "kafka";
            break;
        case 'X':
            if (!cli_properties++)
                opts->kafka_property_count = 0;
            key = "kafka-property";
            break;
        case OPT_KAFKA_PREFIX:
            key = "kafka-topic-prefix";
            break;
        case OPT_KAFKA_COMPRESSION:
            key = "kafka-compression";
            break;
        case OPT_KAFKA_TRANSACTIONS:
            key = "kafka-transactions";
            value = "true";
            break;
        case OPT_SPOOL_DIR:
            key = "spool-dir";
            break;
        case OPT_FLUSH_TIMEOUT:
            key = "flush-timeout";
            break;
        case OPT_STATS_INTERVAL:
            key = "stats-interval";
            break;
        case OPT_WORKERS:
            key = "workers";
            break;
        case OPT_KEYLOG:
            key = "keylog";
            break;
        case OPT_PSEUDONYM_KEY:
            key = "pseudonym-key-file";
            break;
        case ':':
            snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
            return 2;
        default:
            snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return 2;
        }
        if (apply(opts, key, value, err, errlen))
            return 2;
    }
    credential_config_set_limits(&opts->credentials, &opts->lim);
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (capture files go after -r)", argv[optind]);
        return 2;
    }
    if (strcmp(opts->format, "native") != 0 && strcmp(opts->format, "ecs") != 0 &&
        strcmp(opts->format, "ocsf") != 0 && strcmp(opts->format, "splunk") != 0) {
        snprintf(err, errlen, "--format %s: not one of native, ecs, ocsf, splunk", opts->format);
        return 2;
    }
    if (opts->kafka_property_count > 0 && !opts->kafka_brokers) {
        snprintf(err, errlen, "-X sets a Kafka property: give --kafka BROKERS too");
        return 2;
    }
    if (opts->kafka_transactions && !opts->kafka_brokers) {
        snprintf(err, errlen, "--kafka-transactions needs --kafka BROKERS");
        return 2;
    }
    if (opts->input_count == 0 && opts->interface_count == 0) {
        snprintf(err, errlen, "nothing to analyse: give -r FILE or -i IFACE (see --help)");
        return 2;
    }
    if (opts->workers < 1 || opts->workers > 64) {
        snprintf(err, errlen, "--workers %d: give 1 to 64", opts->workers);
        return 2;
    }
    if (opts->input_count > 0 && opts->interface_count > 0) {
        snprintf(err, errlen, "-r and -i cannot be combined");
        return 2;
    }
    return 0;
}

void app_options_free(app_options *opts) {
    for (int i = 0; i < opts->owned_count; i++)
        free(opts->owned[i]);
    opts->owned_count = 0;
}

void app_options_usage(FILE *out) {
    fputs("usage: apisensor [OPTIONS] -r FILE [-r FILE ...]   analyse capture files\n"
          "       apisensor [OPTIONS] -i IFACE                capture live\n"
          "       apisensor inventory [--db FILE] [--json | --openapi]\n"
          "                                                   print the stored inventory\n"
          "\n"
          "  -r, --read FILE          capture file (pcap, pcapng; - = stdin); repeatable\n"
          "  -i, --interface IFACE    live capture interface\n"
          "  -c, --config FILE        configuration file (key = value); the command line wins\n"
          "  -o, --out FILE           events as JSON Lines (- = stdout, the default without\n"
          "                           --kafka)\n"
          "      --transactions FILE  one JSON line per HTTP transaction (- = stdout)\n"
          "      --spec FILE          declared inventory, OpenAPI 3.0/3.1 (inventory: #3)\n"
          "      --db FILE            sqlite3 inventory (default apisensor.db; :memory:)\n"
          "      --format FORMAT      native (default), ecs, ocsf, splunk (docs/formats.md)\n"
          "      --kafka BROKERS      produce events to Kafka (host:port,...)\n"
          "  -X key=value             librdkafka setting (TLS, SASL, ...); repeatable\n"
          "      --kafka-topic-prefix P  topics P.findings, P.endpoints, P.transactions,\n"
          "                           P.stats (default apisensor)\n"
          "      --kafka-compression C  lz4 (default), zstd, gzip, snappy, none\n"
          "      --kafka-transactions also produce transactions to P.transactions\n"
          "      --spool-dir DIR      on-disk spool when Kafka is away (default\n"
          "                           apisensor-spool; limit spool_max_bytes)\n"
          "      --flush-timeout S    seconds to wait for Kafka at exit (default 10)\n"
          "      --stats-interval S   seconds of packet time between stats events\n"
          "                           (default 60; 0 = at the end only)\n"
          "      --workers N          worker threads sharing the flows, output identical\n"
          "                           to one thread (default 1; at most 64)\n"
          "      --keylog FILE        TLS key log (SSLKEYLOGFILE format) for decryption\n"
          "      --pseudonym-key-file F  HMAC key of identity pseudonyms (default: kept in\n"
          "                           the --db file; drawn per run with :memory:)\n"
          "      --raw-identities     write credential-derived identities raw (lab audits)\n"
          "      --sensor-name NAME   sensor name in events (default: host name)\n"
          "      --filter BPF         BPF filter for live capture\n"
          "      --snaplen N          bytes kept per packet in live capture\n"
          "      --promiscuous        promiscuous mode for live capture\n"
          "      --limit KEY=VALUE    set a limit (K/M/G suffixes); see the list below\n"
          "      --no-progress        no progress line on a terminal\n"
          "  -q, --quiet              no run summary; errors only\n"
          "  -v, --verbose            more detail on stderr\n"
          "      --version            print the version\n"
          "  -h, --help               this text\n"
          "\n"
          "Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.\n"
          "\n"
          "Credential settings (config file keys; docs/identity.md):\n",
          out);
    for (int i = 0; i < SETTING_COUNT; i++)
        if (settings[i].kind == SET_NAMES || settings[i].kind == SET_PROXIES)
            fprintf(out, "  %-24s %s\n", settings[i].key, settings[i].help);
    fputs("\nLimits (config key, default, range, policy when hit):\n", out);
    const limit_info *info = limits_info();
    for (int i = 0; i < limits_info_count(); i++)
        fprintf(out, "  %-32s %12lld  [%lld..%lld]  %s\n", info[i].key,
                (long long)info[i].default_value, (long long)info[i].min_value,
                (long long)info[i].max_value, info[i].policy);
}
