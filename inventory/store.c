/*
 * The SQLite store of the inventory (see store.h for the contract and
 * docs/inventory.md for the tables).
 *
 * Each live inventory record remembers the rowid of its row (endpoint_rows,
 * finding_rows, by inventory index; 0 = no row yet). A flush updates a
 * record's row by rowid and falls back to an insert keyed on the record's
 * natural key when that row is gone (a rolled-back flush, a row removed by
 * hand), so the arrays never need to be exact. Services are keyed by host.
 *
 * Endpoint columns are listed once (ENDPOINT_COLUMNS); the insert and update
 * statements are built from that list at open, and one bind function fills
 * both, so a column cannot be written by one and forgotten by the other.
 *
 * Schema versions: 1 had no body field columns, 2 no masked values of
 * findings. Opening an older file for writing adds what it lacks (ALTER
 * TABLE ... ADD COLUMN, empty) and stamps this version in one transaction;
 * opening it read-only reads it as it is, without those columns.
 */
#include "inventory/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

/* X(column, SQL type): the endpoint columns after the rowid, in bind order. */
#define ENDPOINT_COLUMNS(X)                                                                        \
    X(host, "TEXT")                                                                                \
    X(service_prefix, "TEXT")                                                                      \
    X(method, "TEXT")                                                                              \
    X(path, "TEXT")                                                                                \
    X(status, "TEXT")                                                                              \
    X(spec_index, "INTEGER")                                                                       \
    X(listed, "INTEGER")                                                                           \
    X(auth_kinds, "TEXT")                                                                          \
    X(unauthenticated, "INTEGER")                                                                  \
    X(sensitive_request_body, "TEXT")                                                              \
    X(sensitive_request_headers, "TEXT")                                                           \
    X(sensitive_query, "TEXT")                                                                     \
    X(sensitive_response_body, "TEXT")                                                             \
    X(requests, "INTEGER")                                                                         \
    X(success, "INTEGER")                                                                          \
    X(unauthenticated_success, "INTEGER")                                                          \
    X(status_codes, "TEXT")                                                                        \
    X(status_other, "INTEGER")                                                                     \
    X(response_type_counts, "TEXT")                                                                \
    X(first_seen_ns, "INTEGER")                                                                    \
    X(last_seen_ns, "INTEGER")                                                                     \
    X(request_types, "BLOB")                                                                       \
    X(response_types, "BLOB")                                                                      \
    X(query_params, "BLOB")                                                                        \
    X(issues_token, "INTEGER")                                                                     \
    X(identity_sketch, "BLOB")                                                                     \
    X(client_sketch, "BLOB")                                                                       \
    X(request_fields, FIELDS_TYPE)                                                                 \
    X(response_fields, FIELDS_TYPE)

/* Body field columns (schema version 2, last in the list): "types<TAB>path"
 * records ended by NUL, types space-separated JSON type names (json_fields
 * never puts a control character in a path). The default
 * lets a version 1 table gain them and rows written without them load. */
#define FIELDS_TYPE "BLOB DEFAULT x''"

enum {
#define COLUMN_ENUM(name, type) COL_##name,
    ENDPOINT_COLUMNS(COLUMN_ENUM)
#undef COLUMN_ENUM
        ENDPOINT_COLUMN_COUNT,
    ENDPOINT_COLUMNS_V1 = COL_request_fields /* the columns of schema version 1 */
};

static const char *const endpoint_column_names[] = {
#define COLUMN_NAME(name, type) #name,
    ENDPOINT_COLUMNS(COLUMN_NAME)
#undef COLUMN_NAME
};

static const char *const endpoint_column_types[] = {
#define COLUMN_TYPE(name, type) type,
    ENDPOINT_COLUMNS(COLUMN_TYPE)
#undef COLUMN_TYPE
};

/* The masked values of a finding (schema version 3): "type<TAB>value" lines,
 * one per type with a value, type a CONTRACT.md name or "bitN". The default
 * lets a version 2 table gain the column. */
#define MASKED_TYPE "TEXT NOT NULL DEFAULT ''"
#define STORE_TEXT(x) #x
#define STORE_NUMBER_TEXT(x) STORE_TEXT(x)
#define SCHEMA_VERSION_TEXT STORE_NUMBER_TEXT(STORE_SCHEMA_VERSION)

/* The tables after the endpoints (whose statement is built from the list). */
static const char schema_rest[] =
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS findings ("
    " id INTEGER PRIMARY KEY,"
    " endpoint_id INTEGER NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,"
    " type TEXT NOT NULL, parameter TEXT NOT NULL, data_types TEXT NOT NULL,"
    " finding_id TEXT NOT NULL, first_seen_ns INTEGER NOT NULL, last_seen_ns INTEGER NOT NULL,"
    " count INTEGER NOT NULL, status_classes TEXT NOT NULL, open INTEGER NOT NULL,"
    " masked_values " MASKED_TYPE ","
    " UNIQUE (endpoint_id, type, parameter));"
    "CREATE TABLE IF NOT EXISTS services ("
    " host TEXT PRIMARY KEY, noise INTEGER NOT NULL, not_found INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO meta VALUES ('schema_version', '" SCHEMA_VERSION_TEXT "'),"
    " ('created_by', 'apisensor');";

#define SQL_BYTES 4096

struct store {
    sqlite3 *db;
    store_config config;
    char path[512];
    char error[1040]; /* path and message */
    sqlite3_stmt *endpoint_insert, *endpoint_update, *endpoint_delete;
    sqlite3_stmt *finding_insert, *finding_update, *finding_delete;
    sqlite3_stmt *service_upsert;
    int64_t *endpoint_rows; /* by inventory index; 0 = no row */
    uint32_t endpoint_rows_cap;
    int64_t *finding_rows;
    uint32_t finding_rows_cap;
    int rewrite_all;   /* a stored row folded into another at load: write every record */
    int has_fields;    /* the endpoints table has the body field columns (version >= 2) */
    int has_masked;    /* the findings table has masked_values (version >= 3) */
    char *fields_blob; /* field column text being bound (SQLite copies it) */
    size_t fields_blob_cap;
    store_stats stats;
};

/* ---- errors -------------------------------------------------------------------- */

static as_status fail(store *s, as_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static as_status fail(store *s, as_status st, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(s->error, sizeof s->error, "%s: %s", s->path, what);
    return st;
}

/* An SQLite failure: "FILE: doing what: SQLite's message". */
static as_status fail_sql(store *s, const char *doing) {
    int code = sqlite3_errcode(s->db) & 0xff;
    const char *hint =
        code == SQLITE_BUSY || code == SQLITE_LOCKED ? " (another process holds the database)" : "";
    return fail(s, AS_ERR_IO, "%s: %s%s", doing, sqlite3_errmsg(s->db), hint);
}

const char *store_error(const store *s) {
    return s->error;
}

store_stats store_get_stats(const store *s) {
    return s->stats;
}

/* ---- text forms of the record fields ------------------------------------------ */

typedef struct text_buf {
    char data[2048];
    size_t len;
} text_buf;

static void buf_add(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(text_buf *b, const char *fmt, ...) {
    if (b->len >= sizeof b->data)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, sizeof b->data - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
    if (b->len >= sizeof b->data)
        b->len = sizeof b->data - 1;
}

/* Name of bit i: the vocabulary's, or "bitN" beyond it. */
static void bit_name(text_buf *b, const char *const *names, uint32_t count, uint32_t bit) {
    if (bit < count && names[bit])
        buf_add(b, "%s%s", b->len ? " " : "", names[bit]);
    else
        buf_add(b, "%sbit%u", b->len ? " " : "", bit);
}

static void mask_text(text_buf *b, uint32_t mask, const char *const *names, uint32_t count) {
    b->len = 0;
    b->data[0] = 0;
    for (uint32_t bit = 0; bit < 32; bit++)
        if (mask & (1u << bit))
            bit_name(b, names, count, bit);
}

/* Bit of a name ("bitN" or a vocabulary word); -1 when unknown. */
static int bit_of(const char *word, size_t len, const char *const *names, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], word, len) == 0)
            return (int)i;
    if (len > 3 && len < 6 && memcmp(word, "bit", 3) == 0) {
        int bit = 0;
        for (size_t i = 3; i < len; i++) {
            if (word[i] < '0' || word[i] > '9')
                return -1;
            bit = bit * 10 + (word[i] - '0');
        }
        return bit < 32 ? bit : -1;
    }
    return -1;
}

/* Calls fn for each space-separated word of text ("name" or "name:number"). */
typedef void (*word_fn)(void *ctx, const char *word, size_t len, uint64_t number);

static void each_word(const char *text, word_fn fn, void *ctx) {
    const char *p = text ? text : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != ':')
            p++;
        size_t len = (size_t)(p - start);
        uint64_t number = 0;
        if (*p == ':') {
            p++;
            while (*p >= '0' && *p <= '9')
                number = number * 10 + (uint64_t)(*p++ - '0');
            while (*p && *p != ' ')
                p++;
        }
        if (len)
            fn(ctx, start, len, number);
    }
}

typedef struct mask_ctx {
    const char *const *names;
    uint32_t count;
    uint32_t mask;
    uint32_t *counts; /* per bit, for "name:count" lists; NULL for plain masks */
} mask_ctx;

static void mask_word(void *ctx, const char *word, size_t len, uint64_t number) {
    mask_ctx *m = ctx;
    int bit = bit_of(word, len, m->names, m->count);
    if (bit < 0)
        return;
    m->mask |= 1u << bit;
    if (m->counts)
        m->counts[bit] = (uint32_t)number;
}

static uint32_t mask_parse(const char *text, const char *const *names, uint32_t count,
                           uint32_t *counts) {
    mask_ctx m = {names, count, 0, counts};
    each_word(text, mask_word, &m);
    return m.mask;
}

/* masked_values of f: "type<TAB>value\n" per type with a value, the type
 * named as in the data type columns. A value holding a tab or a line end,
 * which masking never leaves, is not written. */
static void masked_text(text_buf *b, const inventory_finding *f, const char *const *names,
                        uint32_t count) {
    b->len = 0;
    b->data[0] = 0;
    for (uint32_t t = 0; t < SENSITIVE_TYPE_COUNT; t++) {
        const char *v = f->masked[t];
        if (!v[0] || strpbrk(v, "\t\n"))
            continue;
        if (t < count && names[t])
            buf_add(b, "%s\t%.*s\n", names[t], SENSITIVE_SAMPLE_MAX - 1, v);
        else
            buf_add(b, "bit%u\t%.*s\n", t, SENSITIVE_SAMPLE_MAX - 1, v);
    }
}

/* Fills f->masked from masked_values text: lines naming one of f's data
 * types; others are skipped. */
static void masked_parse(inventory_finding *f, const char *text, const char *const *names,
                         uint32_t count) {
    while (text && *text) {
        const char *end = strchr(text, '\n');
        size_t line = end ? (size_t)(end - text) : strlen(text);
        const char *tab = memchr(text, '\t', line);
        int t = tab ? bit_of(text, (size_t)(tab - text), names, count) : -1;
        if (t >= 0 && t < SENSITIVE_TYPE_COUNT && (f->data_types & SENSITIVE_BIT(t))) {
            size_t n = line - (size_t)(tab + 1 - text);
            if (n > SENSITIVE_SAMPLE_MAX - 1)
                n = SENSITIVE_SAMPLE_MAX - 1;
            memcpy(f->masked[t], tab + 1, n);
            f->masked[t][n] = '\0';
        }
        text = end ? end + 1 : NULL;
    }
}

typedef struct status_ctx {
    inventory_endpoint *ep;
    int slot;
} status_ctx;

static void status_word(void *ctx, const char *word, size_t len, uint64_t number) {
    status_ctx *c = ctx;
    uint64_t code = 0;
    for (size_t i = 0; i < len && code < 1000; i++)
        code = word[i] >= '0' && word[i] <= '9' ? code * 10 + (uint64_t)(word[i] - '0') : 1000;
    if (code == 0 || code >= 1000 || c->slot >= INVENTORY_STATUS_SLOTS)
        return;
    c->ep->status_codes[c->slot] = (uint16_t)code;
    c->ep->status_counts[c->slot++] = number;
}

/* NUL-terminated strings, one after the other, into slots. */
static uint32_t blob_strings(const void *blob, int bytes, char *slots, size_t slot_bytes,
                             uint32_t slot_count) {
    if (!blob || bytes <= 0) /* SQLite gives NULL for an empty blob */
        return 0;
    const char *p = blob, *end = p + bytes;
    uint32_t n = 0;
    while (p < end && n < slot_count) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        if (len >= slot_bytes)
            len = slot_bytes - 1;
        memcpy(slots + n * slot_bytes, p, len);
        slots[n * slot_bytes + len] = 0;
        n++;
        p = nul ? nul + 1 : end;
    }
    return n;
}

static size_t strings_blob(char *out, size_t cap, const char *slots, size_t slot_bytes,
                           uint32_t slot_count) {
    size_t len = 0;
    for (uint32_t i = 0; i < slot_count; i++) {
        const char *text = slots + i * slot_bytes;
        size_t n = strnlen(text, slot_bytes - 1);
        if (n == 0 || len + n + 1 > cap)
            continue;
        memcpy(out + len, text, n + 1);
        len += n + 1;
    }
    return len;
}

static int status_of(const char *name, inventory_status *out) {
    for (int st = INVENTORY_UNKNOWN; st <= INVENTORY_ZOMBIE; st++) {
        if (name && strcmp(inventory_status_name((inventory_status)st), name) == 0) {
            *out = (inventory_status)st;
            return 1;
        }
    }
    return 0;
}

static int finding_type_of(const char *name, inventory_finding_type *out) {
    for (int t = INVENTORY_SHADOW_API; t <= INVENTORY_UNAUTHENTICATED_ENDPOINT; t++) {
        if (name && strcmp(inventory_finding_type_name((inventory_finding_type)t), name) == 0) {
            *out = (inventory_finding_type)t;
            return 1;
        }
    }
    return 0;
}

/* ---- opening ---------------------------------------------------------------------- */

static as_status exec(store *s, const char *sql, const char *doing) {
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? AS_OK : fail_sql(s, doing);
}

static as_status prepare(store *s, const char *sql, sqlite3_stmt **out) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
        return fail_sql(s, "preparing a statement");
    return AS_OK;
}

static void sql_add(char *sql, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void sql_add(char *sql, size_t *len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(sql + *len, SQL_BYTES - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
    if (*len >= SQL_BYTES)
        *len = SQL_BYTES - 1;
}

static as_status create_schema(store *s) {
    char sql[SQL_BYTES];
    size_t len = 0;
    sql_add(sql, &len, "CREATE TABLE IF NOT EXISTS endpoints (id INTEGER PRIMARY KEY");
    for (int i = 0; i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, ", %s %s NOT NULL", endpoint_column_names[i], endpoint_column_types[i]);
    sql_add(sql, &len, ", UNIQUE (host, service_prefix, method, path));");
    as_status st = exec(s, "BEGIN IMMEDIATE", "creating the schema");
    if (st == AS_OK)
        st = exec(s, sql, "creating the schema");
    if (st == AS_OK)
        st = exec(s, schema_rest, "creating the schema");
    if (st == AS_OK)
        return exec(s, "COMMIT", "creating the schema");
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* Version 1 or 2 -> this version: the columns the file lacks, empty. */
static as_status migrate(store *s, long from) {
    char sql[SQL_BYTES];
    size_t len = 0;
    for (int i = ENDPOINT_COLUMNS_V1; from < 2 && i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, "ALTER TABLE endpoints ADD COLUMN %s %s NOT NULL;",
                endpoint_column_names[i], endpoint_column_types[i]);
    sql_add(sql, &len, "ALTER TABLE findings ADD COLUMN masked_values " MASKED_TYPE ";");
    sql_add(sql, &len, "UPDATE meta SET value = '%d' WHERE key = 'schema_version';",
            STORE_SCHEMA_VERSION);
    char what[48];
    snprintf(what, sizeof what, "upgrading the schema from version %ld", from);
    as_status st = exec(s, "BEGIN IMMEDIATE", what);
    if (st == AS_OK)
        st = exec(s, sql, what);
    if (st == AS_OK)
        st = exec(s, "COMMIT", what);
    if (st != AS_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    s->has_fields = 1;
    s->has_masked = 1;
    return AS_OK;
}

/* Reads the schema version; creates the schema in an empty database. */
static as_status check_schema(store *s) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'", -1,
                           &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "reading the schema");
    int rc = sqlite3_step(stmt);
    int has_meta = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) > 0;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW)
        return fail_sql(s, "reading the schema");
    if (!has_meta) {
        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master", -1, &stmt, NULL) !=
            SQLITE_OK)
            return fail_sql(s, "reading the schema");
        rc = sqlite3_step(stmt);
        int objects = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
        sqlite3_finalize(stmt);
        if (objects != 0)
            return fail(s, AS_ERR_FORMAT,
                        "an SQLite database but not an apisensor inventory (no meta table)");
        if (s->config.read_only)
            return fail(s, AS_ERR_FORMAT, "empty database, no inventory stored yet");
        s->has_fields = 1;
        s->has_masked = 1;
        return create_schema(s);
    }
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &stmt,
                           NULL) != SQLITE_OK)
        return fail_sql(s, "reading the schema version");
    rc = sqlite3_step(stmt);
    char version[32] = "";
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0))
        snprintf(version, sizeof version, "%s", (const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    char *end = NULL;
    long v = strtol(version, &end, 10);
    if (!version[0] || *end || v <= 0)
        return fail(s, AS_ERR_FORMAT, "no valid schema_version in the meta table ('%s')", version);
    if (v < STORE_SCHEMA_VERSION && s->config.read_only) {
        s->has_fields = v >= 2; /* read as it is, without the newer columns */
        return AS_OK;
    }
    if (v < STORE_SCHEMA_VERSION)
        return migrate(s, v);
    if (v != STORE_SCHEMA_VERSION)
        return fail(s, AS_ERR_UNSUPPORTED,
                    "inventory schema version %ld, this apisensor reads versions 1 to %d%s", v,
                    STORE_SCHEMA_VERSION,
                    v > STORE_SCHEMA_VERSION ? " (written by a newer apisensor)" : "");
    s->has_fields = 1;
    s->has_masked = 1;
    return AS_OK;
}

static as_status prepare_writes(store *s) {
    char sql[SQL_BYTES];
    size_t len = 0;
    sql_add(sql, &len, "INSERT INTO endpoints (");
    for (int i = 0; i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, "%s%s", i ? ", " : "", endpoint_column_names[i]);
    sql_add(sql, &len, ") VALUES (");
    for (int i = 0; i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, "%s?%d", i ? ", " : "", i + 1);
    sql_add(sql, &len, ") ON CONFLICT (host, service_prefix, method, path) DO UPDATE SET ");
    for (int i = 0; i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, "%s%s = excluded.%s", i ? ", " : "", endpoint_column_names[i],
                endpoint_column_names[i]);
    sql_add(sql, &len, " RETURNING id");
    as_status st = prepare(s, sql, &s->endpoint_insert);
    if (st != AS_OK)
        return st;
    len = 0;
    sql_add(sql, &len, "UPDATE endpoints SET ");
    for (int i = 0; i < ENDPOINT_COLUMN_COUNT; i++)
        sql_add(sql, &len, "%s%s = ?%d", i ? ", " : "", endpoint_column_names[i], i + 1);
    sql_add(sql, &len, " WHERE id = ?%d", ENDPOINT_COLUMN_COUNT + 1);
    if ((st = prepare(s, sql, &s->endpoint_update)) != AS_OK ||
        (st = prepare(s, "DELETE FROM endpoints WHERE id = ?1", &s->endpoint_delete)) != AS_OK ||
        (st = prepare(s,
                      "INSERT INTO findings (endpoint_id, type, parameter, data_types, finding_id,"
                      " first_seen_ns, last_seen_ns, count, status_classes, open, masked_values)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                      " ON CONFLICT (endpoint_id, type, parameter) DO UPDATE SET"
                      " data_types = excluded.data_types, finding_id = excluded.finding_id,"
                      " first_seen_ns = excluded.first_seen_ns,"
                      " last_seen_ns = excluded.last_seen_ns, count = excluded.count,"
                      " status_classes = excluded.status_classes, open = excluded.open,"
                      " masked_values = excluded.masked_values"
                      " RETURNING id",
                      &s->finding_insert)) != AS_OK ||
        (st = prepare(s,
                      "UPDATE findings SET endpoint_id = ?1, type = ?2, parameter = ?3,"
                      " data_types = ?4, finding_id = ?5, first_seen_ns = ?6, last_seen_ns = ?7,"
                      " count = ?8, status_classes = ?9, open = ?10, masked_values = ?11"
                      " WHERE id = ?12",
                      &s->finding_update)) != AS_OK ||
        (st = prepare(s, "DELETE FROM findings WHERE id = ?1", &s->finding_delete)) != AS_OK)
        return st;
    return prepare(s,
                   "INSERT INTO services (host, noise, not_found) VALUES (?1, ?2, ?3)"
                   " ON CONFLICT (host) DO UPDATE SET noise = excluded.noise,"
                   " not_found = excluded.not_found",
                   &s->service_upsert);
}

static as_status open_database(store *s) {
    const char *path = s->config.path;
    int in_memory = strcmp(path, ":memory:") == 0;
    if (!in_memory && !s->config.read_only) {
        /* create it 0600 ourselves: SQLite would honour the umask */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail(s, AS_ERR_IO, "cannot create or open the database: %s", strerror(errno));
        close(fd);
    }
    if (!in_memory && s->config.read_only && access(path, F_OK) != 0)
        return fail(s, AS_ERR_IO, "cannot open the database: %s", strerror(errno));
    int flags = s->config.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK)
        return s->db ? fail_sql(s, "cannot open the database")
                     : fail(s, AS_ERR_NOMEM, "cannot open the database: out of memory");
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    as_status st = exec(s, "PRAGMA foreign_keys = ON", "opening the database");
    if (st != AS_OK)
        return st;
    if (!s->config.read_only && !in_memory) {
        sqlite3_stmt *stmt = NULL;
        if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK)
            return fail_sql(s, "opening the database");
        int rc = sqlite3_step(stmt);
        const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(stmt, 0) : NULL;
        int wal = mode && strcmp((const char *)mode, "wal") == 0;
        sqlite3_finalize(stmt);
        if (rc != SQLITE_ROW)
            return fail_sql(s, "opening the database");
        if (!wal)
            return fail(s, AS_ERR_IO, "cannot switch the database to WAL mode");
        if ((st = exec(s, "PRAGMA synchronous = NORMAL", "opening the database")) != AS_OK)
            return st;
    }
    if ((st = check_schema(s)) != AS_OK)
        return st;
    return s->config.read_only ? AS_OK : prepare_writes(s);
}

as_status store_open(const store_config *config, char *err, size_t errlen, store **out) {
    *out = NULL;
    store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", config->path);
        return AS_ERR_NOMEM;
    }
    s->config = *config;
    snprintf(s->path, sizeof s->path, "%s", config->path);
    as_status st = open_database(s);
    if (st != AS_OK) {
        snprintf(err, errlen, "%s", s->error);
        store_close(s);
        return st;
    }
    *out = s;
    return AS_OK;
}

void store_close(store *s) {
    if (!s)
        return;
    sqlite3_finalize(s->endpoint_insert);
    sqlite3_finalize(s->endpoint_update);
    sqlite3_finalize(s->endpoint_delete);
    sqlite3_finalize(s->finding_insert);
    sqlite3_finalize(s->finding_update);
    sqlite3_finalize(s->finding_delete);
    sqlite3_finalize(s->service_upsert);
    sqlite3_close(s->db);
    free(s->endpoint_rows);
    free(s->finding_rows);
    free(s->fields_blob);
    free(s);
}

static as_status count_rows(store *s, const char *sql, uint64_t *out) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "counting records");
    int rc = sqlite3_step(stmt);
    *out = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? AS_OK : fail_sql(s, "counting records");
}

as_status store_counts(store *s, uint64_t *endpoints, uint64_t *findings, uint64_t *services) {
    as_status st = count_rows(s, "SELECT count(*) FROM endpoints", endpoints);
    if (st == AS_OK)
        st = count_rows(s, "SELECT count(*) FROM findings", findings);
    if (st == AS_OK)
        st = count_rows(s, "SELECT count(*) FROM services", services);
    return st;
}

/* ---- row arrays ----------------------------------------------------------------- */

static int grow_rows(int64_t **rows, uint32_t *cap, uint32_t need) {
    if (need <= *cap)
        return 1;
    uint32_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    int64_t *grown = realloc(*rows, n * sizeof *grown);
    if (!grown)
        return 0;
    memset(grown + *cap, 0, (n - *cap) * sizeof *grown);
    *rows = grown;
    *cap = n;
    return 1;
}

/* ---- loading -------------------------------------------------------------------- */

static void column_text(sqlite3_stmt *stmt, int col, char *out, size_t cap) {
    const unsigned char *text = sqlite3_column_text(stmt, col);
    size_t len = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(out, text, len);
    out[len] = 0;
}

static uint64_t column_u64(sqlite3_stmt *stmt, int col) {
    return (uint64_t)sqlite3_column_int64(stmt, col);
}

/* Endpoint row (rowid in column 0, then ENDPOINT_COLUMNS) -> record. */
static as_status read_endpoint(store *s, sqlite3_stmt *stmt, inventory_endpoint *ep) {
    memset(ep, 0, sizeof *ep);
    int64_t row = sqlite3_column_int64(stmt, 0);
#define C(name) (COL_##name + 1)
    column_text(stmt, C(host), ep->host, sizeof ep->host);
    column_text(stmt, C(service_prefix), ep->service_prefix, sizeof ep->service_prefix);
    column_text(stmt, C(method), ep->method, sizeof ep->method);
    column_text(stmt, C(path), ep->path, sizeof ep->path);
    if (!status_of((const char *)sqlite3_column_text(stmt, C(status)), &ep->status))
        return fail(s, AS_ERR_FORMAT, "endpoint row %" PRId64 ": unknown status", row);
    ep->spec_index = (int32_t)sqlite3_column_int64(stmt, C(spec_index));
    ep->listed = sqlite3_column_int(stmt, C(listed)) != 0;
    const char *const *auth = s->config.auth_kinds;
    const char *const *types = s->config.data_types;
    uint32_t na = s->config.auth_kind_count, nt = s->config.data_type_count;
    ep->auth_kinds =
        mask_parse((const char *)sqlite3_column_text(stmt, C(auth_kinds)), auth, na, NULL);
    ep->unauthenticated = sqlite3_column_int(stmt, C(unauthenticated)) != 0;
    for (int i = 0; i < INVENTORY_LOCATIONS; i++)
        ep->sensitive[i] =
            mask_parse((const char *)sqlite3_column_text(stmt, C(sensitive_request_body) + i),
                       types, nt, NULL);
    ep->requests = column_u64(stmt, C(requests));
    ep->success = column_u64(stmt, C(success));
    ep->unauthenticated_success = column_u64(stmt, C(unauthenticated_success));
    status_ctx sc = {ep, 0};
    each_word((const char *)sqlite3_column_text(stmt, C(status_codes)), status_word, &sc);
    ep->status_other = column_u64(stmt, C(status_other));
    mask_parse((const char *)sqlite3_column_text(stmt, C(response_type_counts)), types, nt,
               ep->response_type_counts);
    ep->first_seen_ns = column_u64(stmt, C(first_seen_ns));
    ep->last_seen_ns = column_u64(stmt, C(last_seen_ns));
    blob_strings(sqlite3_column_blob(stmt, C(request_types)),
                 sqlite3_column_bytes(stmt, C(request_types)), &ep->request_types[0][0],
                 INVENTORY_MEDIA_BYTES, INVENTORY_CONTENT_TYPES);
    blob_strings(sqlite3_column_blob(stmt, C(response_types)),
                 sqlite3_column_bytes(stmt, C(response_types)), &ep->response_types[0][0],
                 INVENTORY_MEDIA_BYTES, INVENTORY_CONTENT_TYPES);
    ep->query_param_count = blob_strings(
        sqlite3_column_blob(stmt, C(query_params)), sqlite3_column_bytes(stmt, C(query_params)),
        &ep->query_params[0][0], INVENTORY_PARAM_BYTES, INVENTORY_PARAMS);
    ep->issues_token = sqlite3_column_int(stmt, C(issues_token)) != 0;
    const uint8_t *sketches[2] = {sqlite3_column_blob(stmt, C(identity_sketch)),
                                  sqlite3_column_blob(stmt, C(client_sketch))};
    int sizes[2] = {sqlite3_column_bytes(stmt, C(identity_sketch)),
                    sqlite3_column_bytes(stmt, C(client_sketch))};
#undef C
    if (sizes[0] != INVENTORY_SKETCH_REGISTERS || sizes[1] != INVENTORY_SKETCH_REGISTERS)
        return fail(s, AS_ERR_FORMAT, "endpoint row %" PRId64 ": sketch of %d bytes, expected %d",
                    row, sizes[0] != INVENTORY_SKETCH_REGISTERS ? sizes[0] : sizes[1],
                    INVENTORY_SKETCH_REGISTERS);
    memcpy(ep->identity_sketch, sketches[0], INVENTORY_SKETCH_REGISTERS);
    memcpy(ep->client_sketch, sketches[1], INVENTORY_SKETCH_REGISTERS);
    return AS_OK;
}

static as_status delete_row(store *s, sqlite3_stmt *del, int64_t row) {
    sqlite3_bind_int64(del, 1, row);
    int rc = sqlite3_step(del);
    sqlite3_reset(del);
    if (rc != SQLITE_DONE)
        return fail_sql(s, "deleting a record");
    s->stats.rows_deleted++;
    return AS_OK;
}

/* A growable list of rowids (endpoint rows mapped at load, stale rows). */
typedef struct row_list {
    int64_t *rows;
    uint32_t *indexes; /* inventory index of each row (mapped rows) */
    uint32_t len, cap;
} row_list;

static int row_list_add(row_list *l, int64_t row, uint32_t index) {
    if (l->len == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 256;
        int64_t *rows = realloc(l->rows, cap * sizeof *rows);
        if (rows)
            l->rows = rows;
        uint32_t *indexes = realloc(l->indexes, cap * sizeof *indexes);
        if (indexes)
            l->indexes = indexes;
        if (!rows || !indexes)
            return 0;
        l->cap = cap;
    }
    l->rows[l->len] = row;
    l->indexes[l->len++] = index;
    return 1;
}

static void row_list_free(row_list *l) {
    free(l->rows);
    free(l->indexes);
}

/* Field records of one column into the endpoint; a malformed record
 * (no TAB) is skipped, a field the inventory does not keep is dropped there. */
static void restore_fields(inventory *inv, uint32_t index, inventory_body body, sqlite3_stmt *stmt,
                           int col) {
    const char *p = sqlite3_column_blob(stmt, col);
    int bytes = sqlite3_column_bytes(stmt, col);
    const char *end = p ? p + bytes : NULL;
    while (p && p < end) {
        const char *nul = memchr(p, 0, (size_t)(end - p));
        const char *stop = nul ? nul : end;
        const char *tab = memchr(p, '\t', (size_t)(stop - p));
        if (tab && tab + 1 < stop) {
            uint8_t types = 0;
            for (int kind = 0; kind < JSON_KIND_COUNT; kind++) {
                const char *name = json_kind_name((json_kind)kind);
                size_t n = strlen(name);
                for (const char *w = p; w + n <= tab; w++)
                    if (memcmp(w, name, n) == 0 && (w == p || w[-1] == ' ') &&
                        (w + n == tab || w[n] == ' '))
                        types |= (uint8_t)(1u << kind);
            }
            char path[4096];
            size_t n = (size_t)(stop - tab - 1);
            if (n < sizeof path) {
                memcpy(path, tab + 1, n);
                path[n] = 0;
                inventory_restore_field(inv, index, body, path, types);
            }
        }
        p = stop + 1;
    }
}

/* Restores each endpoint row; mapped receives (rowid, index) in rowid order. A row
 * that folds into a record restored before (same key) goes to stale. */
static as_status load_endpoints(store *s, inventory *inv, row_list *mapped, row_list *stale) {
    char sql[SQL_BYTES];
    size_t len = 0;
    sql_add(sql, &len, "SELECT id");
    for (int i = 0; i < (s->has_fields ? ENDPOINT_COLUMN_COUNT : ENDPOINT_COLUMNS_V1); i++)
        sql_add(sql, &len, ", %s", endpoint_column_names[i]);
    sql_add(sql, &len, " FROM endpoints ORDER BY id");
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "reading endpoints");
    as_status st = AS_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        inventory_endpoint ep;
        if ((st = read_endpoint(s, stmt, &ep)) != AS_OK)
            break;
        int64_t row = sqlite3_column_int64(stmt, 0);
        uint32_t index;
        if (inventory_restore_endpoint(inv, &ep, &index) != AS_OK) {
            s->stats.refused++;
            continue;
        }
        if (s->has_fields) {
            restore_fields(inv, index, INVENTORY_BODY_REQUEST, stmt, COL_request_fields + 1);
            restore_fields(inv, index, INVENTORY_BODY_RESPONSE, stmt, COL_response_fields + 1);
        }
        int ok = grow_rows(&s->endpoint_rows, &s->endpoint_rows_cap, index + 1) &&
                 row_list_add(mapped, row, index);
        if (ok && s->endpoint_rows[index]) {
            ok = row_list_add(stale, row, 0);
            s->rewrite_all = 1;
        } else if (ok) {
            s->endpoint_rows[index] = row;
        }
        if (!ok) {
            st = fail(s, AS_ERR_NOMEM, "loading endpoints: out of memory");
            break;
        }
        s->stats.endpoints_loaded++;
    }
    if (st == AS_OK && rc != SQLITE_DONE)
        st = fail_sql(s, "reading endpoints");
    sqlite3_finalize(stmt);
    return st;
}

static int index_of_row(const row_list *mapped, int64_t row, uint32_t *index) {
    uint32_t lo = 0, hi = mapped->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (mapped->rows[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == mapped->len || mapped->rows[lo] != row)
        return 0;
    *index = mapped->indexes[lo];
    return 1;
}

/* The finding columns, masked_values last ('' before schema version 3). */
#define FINDING_SELECT                                                                             \
    "SELECT id, endpoint_id, type, parameter, data_types, first_seen_ns, last_seen_ns, count,"     \
    " status_classes, open, "
#define FINDING_FROM " FROM findings ORDER BY id"

static as_status load_findings(store *s, inventory *inv, const row_list *mapped, row_list *stale) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db,
                           s->has_masked ? FINDING_SELECT "masked_values" FINDING_FROM
                                         : FINDING_SELECT "''" FINDING_FROM,
                           -1, &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "reading findings");
    as_status st = AS_OK;
    int rc;
    while (st == AS_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(stmt, 0);
        inventory_finding f;
        memset(&f, 0, sizeof f);
        if (!finding_type_of((const char *)sqlite3_column_text(stmt, 2), &f.type)) {
            st = fail(s, AS_ERR_FORMAT, "finding row %" PRId64 ": unknown type", row);
            break;
        }
        if (!index_of_row(mapped, sqlite3_column_int64(stmt, 1), &f.endpoint)) {
            s->stats.refused++; /* its endpoint was refused */
            continue;
        }
        column_text(stmt, 3, f.parameter, sizeof f.parameter);
        f.data_types = mask_parse((const char *)sqlite3_column_text(stmt, 4), s->config.data_types,
                                  s->config.data_type_count, NULL);
        f.first_seen_ns = column_u64(stmt, 5);
        f.last_seen_ns = column_u64(stmt, 6);
        f.count = column_u64(stmt, 7);
        const char *classes = (const char *)sqlite3_column_text(stmt, 8);
        for (int c = 0; classes && c < INVENTORY_FINDING_STATUS_CLASSES; c++) {
            char *end = NULL;
            f.status_classes[c] = strtoull(classes, &end, 10);
            classes = end;
        }
        f.open = sqlite3_column_int(stmt, 9) != 0;
        masked_parse(&f, (const char *)sqlite3_column_text(stmt, 10), s->config.data_types,
                     s->config.data_type_count);
        uint32_t index;
        if (inventory_restore_finding(inv, &f, &index) != AS_OK) {
            s->stats.refused++;
            continue;
        }
        if (!grow_rows(&s->finding_rows, &s->finding_rows_cap, index + 1)) {
            st = fail(s, AS_ERR_NOMEM, "loading findings: out of memory");
            break;
        }
        if (s->finding_rows[index]) {
            if (!row_list_add(stale, row, 0))
                st = fail(s, AS_ERR_NOMEM, "loading findings: out of memory");
            s->rewrite_all = 1;
        } else {
            s->finding_rows[index] = row;
        }
        s->stats.findings_loaded++;
    }
    if (st == AS_OK && rc != SQLITE_DONE)
        st = fail_sql(s, "reading findings");
    sqlite3_finalize(stmt);
    return st;
}

static as_status load_services(store *s, inventory *inv) {
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT host, noise, not_found FROM services ORDER BY host", -1,
                           &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "reading services");
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        inventory_service svc;
        memset(&svc, 0, sizeof svc);
        column_text(stmt, 0, svc.host, sizeof svc.host);
        svc.noise = column_u64(stmt, 1);
        svc.not_found = column_u64(stmt, 2);
        if (inventory_restore_service(inv, &svc) == AS_OK)
            s->stats.services_loaded++;
        else
            s->stats.refused++;
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? AS_OK : fail_sql(s, "reading services");
}

as_status store_load(store *s, inventory *inv) {
    row_list mapped = {0}, stale_endpoints = {0}, stale_findings = {0};
    int write = !s->config.read_only;
    /* one transaction: a consistent view even while another process writes */
    as_status st = exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN", "loading the inventory");
    if (st != AS_OK)
        return st;
    st = load_endpoints(s, inv, &mapped, &stale_endpoints);
    if (st == AS_OK)
        st = load_findings(s, inv, &mapped, &stale_findings);
    if (st == AS_OK)
        st = load_services(s, inv);
    /* rows folded into another record: their content now lives in that
     * record, which the next flush rewrites (with every other record) */
    for (uint32_t i = 0; write && st == AS_OK && i < stale_findings.len; i++)
        st = delete_row(s, s->finding_delete, stale_findings.rows[i]);
    for (uint32_t i = 0; write && st == AS_OK && i < stale_endpoints.len; i++)
        st = delete_row(s, s->endpoint_delete, stale_endpoints.rows[i]);
    row_list_free(&mapped);
    row_list_free(&stale_endpoints);
    row_list_free(&stale_findings);
    if (st == AS_OK)
        st = exec(s, "COMMIT", "loading the inventory");
    if (st != AS_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

/* ---- writing ------------------------------------------------------------------------ */

/* The field records of one side into s->fields_blob; returns the length
 * (0 when there are none or memory ran out). */
static size_t fields_text(store *s, const inventory_endpoint *ep, inventory_body body) {
    uint32_t n = inventory_endpoint_field_count(ep, body);
    size_t need = 0;
    for (uint32_t i = 0; i < n; i++)
        need += strlen(inventory_endpoint_field(ep, body, i).path) + 64;
    if (need > s->fields_blob_cap) {
        char *grown = realloc(s->fields_blob, need);
        if (!grown)
            return 0;
        s->fields_blob = grown;
        s->fields_blob_cap = need;
    }
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++) {
        inventory_field f = inventory_endpoint_field(ep, body, i);
        int first = 1;
        for (int kind = 0; kind < JSON_KIND_COUNT; kind++) {
            if (!(f.types & (1u << kind)))
                continue;
            const char *name = json_kind_name((json_kind)kind);
            if (!first)
                s->fields_blob[len++] = ' ';
            memcpy(s->fields_blob + len, name, strlen(name));
            len += strlen(name);
            first = 0;
        }
        s->fields_blob[len++] = '\t';
        size_t plen = strlen(f.path);
        memcpy(s->fields_blob + len, f.path, plen + 1);
        len += plen + 1;
    }
    return len;
}

/* Binds the record to parameters 1..ENDPOINT_COLUMN_COUNT. */
static void bind_endpoint(store *s, sqlite3_stmt *stmt, const inventory_endpoint *ep) {
#define P(name) (COL_##name + 1)
    sqlite3_bind_text(stmt, P(host), ep->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, P(service_prefix), ep->service_prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, P(method), ep->method, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, P(path), ep->path, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, P(status), inventory_status_name(ep->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, P(spec_index), ep->spec_index);
    sqlite3_bind_int(stmt, P(listed), ep->listed != 0);
    const char *const *auth = s->config.auth_kinds;
    const char *const *types = s->config.data_types;
    uint32_t na = s->config.auth_kind_count, nt = s->config.data_type_count;
    text_buf b;
    mask_text(&b, ep->auth_kinds, auth, na);
    sqlite3_bind_text(stmt, P(auth_kinds), b.data, (int)b.len, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, P(unauthenticated), ep->unauthenticated != 0);
    for (int i = 0; i < INVENTORY_LOCATIONS; i++) {
        mask_text(&b, ep->sensitive[i], types, nt);
        sqlite3_bind_text(stmt, P(sensitive_request_body) + i, b.data, (int)b.len,
                          SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(stmt, P(requests), (sqlite3_int64)ep->requests);
    sqlite3_bind_int64(stmt, P(success), (sqlite3_int64)ep->success);
    sqlite3_bind_int64(stmt, P(unauthenticated_success),
                       (sqlite3_int64)ep->unauthenticated_success);
    b.len = 0;
    b.data[0] = 0;
    for (int i = 0; i < INVENTORY_STATUS_SLOTS && ep->status_codes[i]; i++)
        buf_add(&b, "%s%u:%" PRIu64, i ? " " : "", ep->status_codes[i], ep->status_counts[i]);
    sqlite3_bind_text(stmt, P(status_codes), b.data, (int)b.len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, P(status_other), (sqlite3_int64)ep->status_other);
    b.len = 0;
    b.data[0] = 0;
    for (uint32_t bit = 0; bit < INVENTORY_TYPE_BITS; bit++) {
        if (!ep->response_type_counts[bit])
            continue;
        bit_name(&b, types, nt, bit);
        buf_add(&b, ":%u", ep->response_type_counts[bit]);
    }
    sqlite3_bind_text(stmt, P(response_type_counts), b.data, (int)b.len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, P(first_seen_ns), (sqlite3_int64)ep->first_seen_ns);
    sqlite3_bind_int64(stmt, P(last_seen_ns), (sqlite3_int64)ep->last_seen_ns);
    char blob[sizeof ep->query_params];
    size_t n = strings_blob(blob, sizeof blob, &ep->request_types[0][0], INVENTORY_MEDIA_BYTES,
                            INVENTORY_CONTENT_TYPES);
    sqlite3_bind_blob(stmt, P(request_types), blob, (int)n, SQLITE_TRANSIENT);
    n = strings_blob(blob, sizeof blob, &ep->response_types[0][0], INVENTORY_MEDIA_BYTES,
                     INVENTORY_CONTENT_TYPES);
    sqlite3_bind_blob(stmt, P(response_types), blob, (int)n, SQLITE_TRANSIENT);
    n = strings_blob(blob, sizeof blob, &ep->query_params[0][0], INVENTORY_PARAM_BYTES,
                     ep->query_param_count < INVENTORY_PARAMS ? ep->query_param_count
                                                              : INVENTORY_PARAMS);
    sqlite3_bind_blob(stmt, P(query_params), blob, (int)n, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, P(issues_token), ep->issues_token != 0);
    sqlite3_bind_blob(stmt, P(identity_sketch), ep->identity_sketch, INVENTORY_SKETCH_REGISTERS,
                      SQLITE_STATIC);
    sqlite3_bind_blob(stmt, P(client_sketch), ep->client_sketch, INVENTORY_SKETCH_REGISTERS,
                      SQLITE_STATIC);
    for (int side = 0; side < INVENTORY_BODIES; side++) {
        size_t len = fields_text(s, ep, (inventory_body)side);
        sqlite3_bind_blob(stmt, P(request_fields) + side, s->fields_blob ? s->fields_blob : "",
                          (int)len, SQLITE_TRANSIENT);
    }
#undef P
}

static void bind_finding(store *s, sqlite3_stmt *stmt, const inventory_finding *f,
                         int64_t endpoint_row) {
    sqlite3_bind_int64(stmt, 1, endpoint_row);
    sqlite3_bind_text(stmt, 2, inventory_finding_type_name(f->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, f->parameter, -1, SQLITE_TRANSIENT);
    text_buf b;
    mask_text(&b, f->data_types, s->config.data_types, s->config.data_type_count);
    sqlite3_bind_text(stmt, 4, b.data, (int)b.len, SQLITE_TRANSIENT);
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, f->id);
    sqlite3_bind_text(stmt, 5, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)f->first_seen_ns);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64)f->last_seen_ns);
    sqlite3_bind_int64(stmt, 8, (sqlite3_int64)f->count);
    b.len = 0;
    b.data[0] = 0;
    for (int c = 0; c < INVENTORY_FINDING_STATUS_CLASSES; c++)
        buf_add(&b, "%s%" PRIu64, c ? " " : "", f->status_classes[c]);
    sqlite3_bind_text(stmt, 9, b.data, (int)b.len, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 10, f->open != 0);
    masked_text(&b, f, s->config.data_types, s->config.data_type_count);
    sqlite3_bind_text(stmt, 11, b.data, (int)b.len, SQLITE_TRANSIENT);
}

/* Update by rowid; insert (or update by natural key) when that row is gone.
 * *row is the record's rowid afterwards. */
static as_status write_row(store *s, sqlite3_stmt *update, int id_param, sqlite3_stmt *insert,
                           int64_t *row) {
    if (*row) {
        sqlite3_bind_int64(update, id_param, *row);
        int rc = sqlite3_step(update);
        sqlite3_reset(update);
        if (rc != SQLITE_DONE)
            return fail_sql(s, "writing the inventory");
        if (sqlite3_changes(s->db) > 0) {
            s->stats.rows_written++;
            return AS_OK;
        }
    }
    int rc = sqlite3_step(insert);
    if (rc == SQLITE_ROW)
        *row = sqlite3_column_int64(insert, 0);
    int done = rc == SQLITE_ROW ? sqlite3_step(insert) : rc;
    sqlite3_reset(insert);
    if (rc != SQLITE_ROW || done != SQLITE_DONE)
        return fail_sql(s, "writing the inventory");
    s->stats.rows_written++;
    return AS_OK;
}

static as_status flush_records(store *s, inventory *inv) {
    uint32_t ne = inventory_endpoint_count(inv), nf = inventory_finding_count(inv);
    if (!grow_rows(&s->endpoint_rows, &s->endpoint_rows_cap, ne) ||
        !grow_rows(&s->finding_rows, &s->finding_rows_cap, nf))
        return fail(s, AS_ERR_NOMEM, "writing the inventory: out of memory");
    as_status st = AS_OK;
    /* live endpoints first, so every live finding has its endpoint's row */
    for (uint32_t i = 0; st == AS_OK && i < ne; i++) {
        const inventory_endpoint *ep = inventory_endpoint_at(inv, i);
        if (!ep || !(s->rewrite_all || inventory_endpoint_dirty(inv, i)))
            continue;
        bind_endpoint(s, s->endpoint_update, ep);
        bind_endpoint(s, s->endpoint_insert, ep);
        st = write_row(s, s->endpoint_update, ENDPOINT_COLUMN_COUNT + 1, s->endpoint_insert,
                       &s->endpoint_rows[i]);
    }
    for (uint32_t i = 0; st == AS_OK && i < nf; i++) {
        if (!s->rewrite_all && !inventory_finding_dirty(inv, i))
            continue;
        const inventory_finding *f = inventory_finding_at(inv, i);
        if (!f) {
            if (s->finding_rows[i])
                st = delete_row(s, s->finding_delete, s->finding_rows[i]);
            s->finding_rows[i] = 0;
            continue;
        }
        int64_t endpoint_row = f->endpoint < ne ? s->endpoint_rows[f->endpoint] : 0;
        if (!endpoint_row)
            continue;
        bind_finding(s, s->finding_update, f, endpoint_row);
        bind_finding(s, s->finding_insert, f, endpoint_row);
        st = write_row(s, s->finding_update, 12, s->finding_insert, &s->finding_rows[i]);
    }
    /* then endpoints merged away (their findings moved above) */
    for (uint32_t i = 0; st == AS_OK && i < ne; i++) {
        if (!inventory_endpoint_dirty(inv, i) || inventory_endpoint_at(inv, i))
            continue;
        if (s->endpoint_rows[i])
            st = delete_row(s, s->endpoint_delete, s->endpoint_rows[i]);
        s->endpoint_rows[i] = 0;
    }
    for (uint32_t i = 0; st == AS_OK && i < inventory_service_count(inv); i++) {
        if (!s->rewrite_all && !inventory_service_dirty(inv, i))
            continue;
        const inventory_service *svc = inventory_service_at(inv, i);
        sqlite3_bind_text(s->service_upsert, 1, svc->host, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s->service_upsert, 2, (sqlite3_int64)svc->noise);
        sqlite3_bind_int64(s->service_upsert, 3, (sqlite3_int64)svc->not_found);
        int rc = sqlite3_step(s->service_upsert);
        sqlite3_reset(s->service_upsert);
        if (rc != SQLITE_DONE)
            st = fail_sql(s, "writing the inventory");
        else
            s->stats.rows_written++;
    }
    return st;
}

as_status store_flush(store *s, inventory *inv) {
    if (s->config.read_only)
        return fail(s, AS_ERR_ARG, "opened read-only");
    as_status st = exec(s, "BEGIN IMMEDIATE", "writing the inventory");
    if (st != AS_OK)
        return st;
    st = flush_records(s, inv);
    if (st == AS_OK)
        st = exec(s, "COMMIT", "writing the inventory");
    if (st != AS_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return st;
    }
    inventory_clear_dirty(inv);
    s->rewrite_all = 0;
    s->stats.flushes++;
    return AS_OK;
}

/* ---- secrets ------------------------------------------------------------------------ */

as_status store_get_or_create_secret(store *s, const char *name, uint8_t *out, size_t len) {
    if (len == 0 || len > 1024)
        return fail(s, AS_ERR_ARG, "secret %s: length %zu out of range", name, len);
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM secrets WHERE name = ?1", -1, &stmt, NULL) !=
        SQLITE_OK)
        return fail_sql(s, "reading a secret");
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int found = rc == SQLITE_ROW && (size_t)sqlite3_column_bytes(stmt, 0) == len;
    if (found)
        memcpy(out, sqlite3_column_blob(stmt, 0), len);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_sql(s, "reading a secret");
    if (found)
        return AS_OK;
    if (s->config.read_only)
        return fail(s, AS_ERR_ARG, "secret %s is not stored (opened read-only)", name);
    if (RAND_bytes(out, (int)len) != 1)
        return fail(s, AS_ERR_INTERNAL, "secret %s: the random generator failed", name);
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO secrets (name, value) VALUES (?1, ?2)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return fail_sql(s, "storing a secret");
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 2, out, (int)len, SQLITE_STATIC);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? AS_OK : fail_sql(s, "storing a secret");
}
