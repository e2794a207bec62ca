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
    SET_SIZE, /* int64_t bytes with K/M/G suffixes (1024-based) */
    SET_FLAG,
    SET_NAMES,  /* a credential name list; offset is its credential_list_id */
    SET_PROXIES /* trusted proxies */
} setting_kind;

typedef struct setting {
    const char *key;
    setting_kind kind;
    size_t offset;   /* into app_options, for SET_STRING / SET_INT / SET_SIZE / SET_FLAG;
                        SET_NAMES: its credential_list_id */
    const char *def; /* default, applied before the config file; NULL = none */
    const char *help;
} setting;

#define FIELD(f) offsetof(app_options, f)

/* Every setting of the command line and the config file; docs/configuration.md lists them
 * (tests/app/configuration_doc_test.py checks it against --help). */
static const setting settings[] = {
    {"read", SET_INPUT, 0, NULL, "capture file to analyse (pcap or pcapng; - = stdin); repeatable"},
    {"interface", SET_INTERFACE, 0, NULL, "capture live on this interface; repeatable"},
    {"spec", SET_STRING, FIELD(spec_path), NULL,
     "declared inventory, OpenAPI 3.0/3.1 or Swagger 2.0, YAML or JSON; re-read on SIGHUP"},
    {"db", SET_STRING, FIELD(db_path), "apisensor.db", "sqlite3 inventory; :memory: = none"},
    {"out", SET_STRING, FIELD(out_path), NULL,
     "events as JSON Lines; - = stdout (the default without --kafka)"},
    {"transactions", SET_STRING, FIELD(transactions_path), NULL,
     "one JSON line per HTTP transaction (- = stdout; off by default)"},
    {"format", SET_STRING, FIELD(format), "native",
     "shape of exported events: native, ecs, ocsf, splunk"},
    {"kafka", SET_STRING, FIELD(kafka_brokers), NULL, "produce events to Kafka (host:port,...)"},
    {"kafka-property", SET_KAFKA_PROPERTY, 0, NULL,
     "librdkafka setting key=value (-X); repeatable"},
    {"kafka-topic-prefix", SET_STRING, FIELD(kafka_topic_prefix), "apisensor",
     "Kafka topics <prefix>.findings/.endpoints/.transactions/.stats"},
    {"kafka-compression", SET_STRING, FIELD(kafka_compression), "lz4",
     "Kafka compression codec: lz4, zstd, gzip, snappy, none"},
    {"kafka-transactions", SET_FLAG, FIELD(kafka_transactions), "false",
     "also produce transaction events to <prefix>.transactions"},
    {"spool-dir", SET_STRING, FIELD(spool_dir), "apisensor-spool",
     "on-disk spool for events Kafka cannot take now"},
    {"flush-timeout", SET_INT, FIELD(flush_timeout_seconds), "10",
     "seconds to wait for Kafka at exit before spooling the rest"},
    {"stats-interval", SET_INT, FIELD(stats_interval_seconds), "60",
     "seconds of packet time between stats events (0 = at the end only)"},
    {"workers", SET_INT, FIELD(workers), "1",
     "worker threads sharing the flows, output identical to one thread (at most 64)"},
    {"snapshot-interval", SET_INT, FIELD(snapshot_interval_seconds), "3600",
     "live capture: seconds of packet time between full endpoint snapshots (0 = at exit only)"},
    {"pseudonym-key-file", SET_STRING, FIELD(pseudonym_key_path), NULL,
     "file holding the HMAC key of identity pseudonyms (16..256 bytes; default: kept in --db)"},
    {"keylog", SET_STRING, FIELD(keylog_path), NULL,
     "TLS key log (NSS format, SSLKEYLOGFILE) for decryption; re-read as it grows"},
    {"sensor-name", SET_STRING, FIELD(sensor_name), NULL,
     "sensor name in events (default: the host name)"},
    {"filter", SET_STRING, FIELD(bpf_filter), NULL, "BPF filter for live capture"},
    {"snaplen", SET_INT, FIELD(snaplen), "262144", "bytes kept per packet in live capture"},
    {"buffer-size", SET_SIZE, FIELD(capture_buffer_bytes), "64M",
     "kernel ring buffer per live interface (K/M/G; 1M..2047M)"},
    {"immediate", SET_FLAG, FIELD(immediate), "false",
     "live: deliver each packet at once instead of in blocks (lower latency, more CPU)"},
    {"promiscuous", SET_FLAG, FIELD(promiscuous), "false",
     "put live interfaces in promiscuous mode"},
    {"user", SET_STRING, FIELD(user), NULL,
     "drop root privileges to this user after opening interfaces and files"},
    {"memory-budget", SET_SIZE, FIELD(memory_budget), "0",
     "total memory to size the big tables from (K/M/G; 0 = the limits as set)"},
    {"log", SET_STRING, FIELD(log_target), "stderr", "where messages go: stderr or syslog"},
    {"log-level", SET_STRING, FIELD(log_level), "info",
     "error, warning, info or debug (-q = error, -v = debug)"},
    {"raw-identities", SET_FLAG, FIELD(raw_identities), "false",
     "write identities and request-targets with their secrets raw (lab audits only)"},
    {"progress", SET_FLAG, FIELD(progress), "true", "progress line on a terminal"},
    {"api_key_headers", SET_NAMES, CREDENTIAL_LIST_API_KEY_HEADERS, NULL,
     "API key header names, a,b (+a,b adds to the defaults)"},
    {"credential_query_params", SET_NAMES, CREDENTIAL_LIST_QUERY_PARAMS, NULL,
     "query parameters that carry credentials, a,b (+ adds)"},
    {"session_cookies", SET_NAMES, CREDENTIAL_LIST_SESSION_COOKIES, NULL,
     "session cookie names, '*' wildcards, a,b (+ adds)"},
    {"trusted_proxies", SET_PROXIES, 0, NULL,
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

int app_options_is_credential_setting(const char *key) {
    for (int i = 0; i < SETTING_COUNT; i++)
        if (!strcmp(settings[i].key, key))
            return settings[i].kind == SET_NAMES || settings[i].kind == SET_PROXIES;
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
        case SET_SIZE: {
            int64_t v;
            if (!limits_parse_size(value ? value : "", &v)) {
                snprintf(err, errlen, "--%s: '%s' is not a size (a number with K/M/G)", key,
                         value ? value : "");
                return 2;
            }
            *(int64_t *)(base + s->offset) = v;
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
    if (st == AS_OK) {
        const limit_info *info = limits_info();
        for (int i = 0; i < limits_info_count(); i++)
            if (!strcmp(info[i].key, key))
                opts->limit_explicit[i] = 1;
        return 0;
    }
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
    OPT_SETTING = 256, /* --KEY VALUE (or --KEY for a flag) of the settings table */
    OPT_LIMIT,
    OPT_NO_PROGRESS,
    OPT_CHECK_CONFIG,
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
    {"spec", required_argument, NULL, OPT_SETTING},
    {"db", required_argument, NULL, OPT_SETTING},
    {"transactions", required_argument, NULL, OPT_SETTING},
    {"format", required_argument, NULL, OPT_SETTING},
    {"kafka", required_argument, NULL, OPT_SETTING},
    {"kafka-topic-prefix", required_argument, NULL, OPT_SETTING},
    {"kafka-compression", required_argument, NULL, OPT_SETTING},
    {"kafka-transactions", no_argument, NULL, OPT_SETTING},
    {"spool-dir", required_argument, NULL, OPT_SETTING},
    {"flush-timeout", required_argument, NULL, OPT_SETTING},
    {"stats-interval", required_argument, NULL, OPT_SETTING},
    {"snapshot-interval", required_argument, NULL, OPT_SETTING},
    {"workers", required_argument, NULL, OPT_SETTING},
    {"keylog", required_argument, NULL, OPT_SETTING},
    {"pseudonym-key-file", required_argument, NULL, OPT_SETTING},
    {"raw-identities", no_argument, NULL, OPT_SETTING},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"sensor-name", required_argument, NULL, OPT_SETTING},
    {"filter", required_argument, NULL, OPT_SETTING},
    {"snaplen", required_argument, NULL, OPT_SETTING},
    {"buffer-size", required_argument, NULL, OPT_SETTING},
    {"immediate", no_argument, NULL, OPT_SETTING},
    {"promiscuous", no_argument, NULL, OPT_SETTING},
    {"user", required_argument, NULL, OPT_SETTING},
    {"memory-budget", required_argument, NULL, OPT_SETTING},
    {"log", required_argument, NULL, OPT_SETTING},
    {"log-level", required_argument, NULL, OPT_SETTING},
    {"progress", no_argument, NULL, OPT_SETTING},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
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
    for (int i = 0; i < SETTING_COUNT; i++)
        if (settings[i].def && apply(opts, settings[i].key, settings[i].def, err, errlen))
            return 2;

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
    int quiet = 0, verbose = 0, index = 0;
    while ((c = getopt_long(argc, argv, short_options, long_options, &index)) != -1) {
        const char *key = NULL;
        const char *value = optarg;
        switch (c) {
        case OPT_SETTING:
            key = long_options[index].name;
            if (long_options[index].has_arg == no_argument)
                value = "true";
            break;
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
            quiet = 1;
            continue;
        case 'v':
            verbose++;
            continue;
        case 'h':
            opts->action = APP_HELP;
            return 0;
        case OPT_VERSION:
            opts->action = APP_VERSION;
            return 0;
        case OPT_CHECK_CONFIG:
            opts->action = APP_CHECK_CONFIG;
            continue;
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
        case 'X':
            if (!cli_properties++)
                opts->kafka_property_count = 0;
            key = "kafka-property";
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
    if (budget_apply(opts->memory_budget, opts->kafka_brokers != NULL, &opts->lim,
                     opts->limit_explicit, &opts->budget, err, errlen))
        return 2;
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
    if (quiet)
        opts->log_level = "error";
    if (verbose)
        opts->log_level = "debug";
    opts->verbosity = !strcmp(opts->log_level, "error") ? -1 : verbose;
    if (strcmp(opts->log_level, "error") != 0 && strcmp(opts->log_level, "warning") != 0 &&
        strcmp(opts->log_level, "info") != 0 && strcmp(opts->log_level, "debug") != 0) {
        snprintf(err, errlen, "--log-level %s: not one of error, warning, info, debug",
                 opts->log_level);
        return 2;
    }
    if (strcmp(opts->log_target, "stderr") != 0 && strcmp(opts->log_target, "syslog") != 0) {
        snprintf(err, errlen, "--log %s: not stderr or syslog", opts->log_target);
        return 2;
    }
    if (opts->capture_buffer_bytes < (1 << 20) || opts->capture_buffer_bytes > 2047LL << 20) {
        snprintf(err, errlen, "--buffer-size %lld: must be from 1M to 2047M",
                 (long long)opts->capture_buffer_bytes);
        return 2;
    }
    if (opts->user && !*opts->user) {
        snprintf(err, errlen, "--user: empty user name");
        return 2;
    }
    if (opts->workers < 1 || opts->workers > 64) {
        snprintf(err, errlen, "--workers %d: give 1 to 64", opts->workers);
        return 2;
    }
    if (opts->action == APP_CHECK_CONFIG)
        return 0;
    if (opts->input_count == 0 && opts->interface_count == 0) {
        snprintf(err, errlen, "nothing to analyse: give -r FILE or -i IFACE (see --help)");
        return 2;
    }
    if (opts->input_count > 0 && opts->interface_count > 0) {
        snprintf(err, errlen, "-r and -i cannot be combined");
        return 2;
    }
    return 0;
}

static int same_text(const char *a, const char *b) {
    return a == b || (a && b && !strcmp(a, b));
}

static int same_list(const char *const *a, int a_count, const char *const *b, int b_count) {
    if (a_count != b_count)
        return 0;
    for (int i = 0; i < a_count; i++)
        if (!same_text(a[i], b[i]))
            return 0;
    return 1;
}

void app_options_diff(const app_options *a, const app_options *b,
                      void (*changed)(const char *key, void *arg), void *arg) {
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting *s = &settings[i];
        const char *pa = (const char *)a + s->offset, *pb = (const char *)b + s->offset;
        int same = 1;
        switch (s->kind) {
        case SET_STRING:
            same = same_text(*(const char *const *)pa, *(const char *const *)pb);
            break;
        case SET_INT:
        case SET_FLAG:
            same = *(const int *)pa == *(const int *)pb;
            break;
        case SET_SIZE:
            same = *(const int64_t *)pa == *(const int64_t *)pb;
            break;
        case SET_INPUT:
            same = same_list(a->inputs, a->input_count, b->inputs, b->input_count);
            break;
        case SET_INTERFACE:
            same = same_list(a->interfaces, a->interface_count, b->interfaces, b->interface_count);
            break;
        case SET_KAFKA_PROPERTY:
            same = same_list(a->kafka_properties, a->kafka_property_count, b->kafka_properties,
                             b->kafka_property_count);
            break;
        case SET_NAMES:
            same = !memcmp(&a->credentials.lists[s->offset], &b->credentials.lists[s->offset],
                           sizeof a->credentials.lists[0]);
            break;
        case SET_PROXIES:
            same = a->credentials.proxy_count == b->credentials.proxy_count &&
                   !memcmp(a->credentials.proxies, b->credentials.proxies,
                           sizeof a->credentials.proxies);
            break;
        }
        if (!same)
            changed(s->key, arg);
    }
    const limit_info *info = limits_info();
    for (int i = 0; i < limits_info_count(); i++)
        if (limits_get(&a->lim, i) != limits_get(&b->lim, i))
            changed(info[i].key, arg);
}

void app_options_free(app_options *opts) {
    for (int i = 0; i < opts->owned_count; i++)
        free(opts->owned[i]);
    opts->owned_count = 0;
}

/* The value placeholder of a setting in --help. */
static const char *value_name(setting_kind kind) {
    switch (kind) {
    case SET_INT:
        return " N";
    case SET_SIZE:
        return " SIZE";
    case SET_FLAG:
        return "";
    case SET_KAFKA_PROPERTY:
        return " K=V";
    default:
        return " VALUE";
    }
}

/* 1 when the setting is also a long option (the others are configuration file keys only). */
static int on_command_line(const char *key) {
    for (const struct option *o = long_options; o->name; o++)
        if (!strcmp(o->name, key))
            return 1;
    return 0;
}

void app_options_usage(FILE *out) {
    fputs("usage: apisensor [OPTIONS] -r FILE [-r FILE ...]   analyse capture files\n"
          "       apisensor [OPTIONS] -i IFACE [-i IFACE ...] capture live\n"
          "       apisensor inventory [--db FILE] [--json | --openapi]\n"
          "                                                   print the stored inventory\n"
          "\n"
          "  -r FILE, -i IFACE, -o FILE, -X K=V  short forms of --read, --interface, --out,\n"
          "                           --kafka-property\n"
          "  -c, --config FILE        configuration file (KEY = VALUE lines, # comments); the\n"
          "                           command line wins; docs/configuration.md\n"
          "      --limit KEY=VALUE    set a limit (K/M/G suffixes); see the list below\n"
          "      --no-progress        same as --progress false\n"
          "      --check-config       check the options, the configuration file and the spec,\n"
          "                           then exit (0 good, 2 not)\n"
          "  -q, --quiet              no run summary; errors only (--log-level error)\n"
          "  -v, --verbose            more detail on stderr (--log-level debug)\n"
          "      --version            print the version\n"
          "  -h, --help               this text\n"
          "\n"
          "Exit status: 0 success, 1 runtime failure, 2 bad usage or configuration.\n"
          "Signals: SIGTERM, SIGINT stop (events flushed); SIGHUP re-reads the configuration\n"
          "file and the spec, keeping the state.\n"
          "\n"
          "Settings (--KEY VALUE on the command line, KEY = VALUE in the file; the keys\n"
          "without -- are file keys only), default, meaning:\n",
          out);
    for (int i = 0; i < SETTING_COUNT; i++) {
        const setting *s = &settings[i];
        char option[64];
        snprintf(option, sizeof option, "%s%s%s", on_command_line(s->key) ? "--" : "", s->key,
                 value_name(s->kind));
        const char *def = s->def                                           ? s->def
                          : s->kind == SET_NAMES || s->kind == SET_PROXIES ? "built-in"
                                                                           : "-";
        fprintf(out, "  %-30s %-16s %s\n", option, def, s->help);
    }
    fputs("\nLimits (--limit KEY=VALUE, or KEY = VALUE in the file; default, range, policy when "
          "hit):\n",
          out);
    const limit_info *info = limits_info();
    for (int i = 0; i < limits_info_count(); i++)
        fprintf(out, "  %-32s %12lld  [%lld..%lld]  %s\n", info[i].key,
                (long long)info[i].default_value, (long long)info[i].min_value,
                (long long)info[i].max_value, info[i].policy);
}
