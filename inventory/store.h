/*
 * The inventory on disk: an SQLite database (WAL mode) that keeps every
 * endpoint record, posture finding and per-service noise counter across
 * runs, plus per-deployment secrets (the HMAC pseudonymisation key).
 *
 * A run opens the store, loads it into a fresh inventory (store_load: the
 * records are restored with inventory_restore_*, so a second run on another
 * capture extends the same inventory), and writes back what changed with
 * store_flush(): one transaction per call, only the records whose inventory
 * dirty flag is set, records merged away deleted. Flushes happen in the model
 * stage at the end of each capture file and every db_flush_seconds of packet
 * time, never per packet.
 *
 * The file is created 0600 before SQLite opens it (its -wal and -shm files
 * take the same mode). The schema is versioned in the meta table; a database
 * written by a newer apisensor is refused (AS_ERR_UNSUPPORTED), never
 * rewritten; an older one is upgraded in place when opened for writing
 * (read-only, it is read as it is). One writer per database: two sensors flushing the same file
 * would overwrite each other's counts (SQLite's busy timeout only serialises
 * them).
 *
 * Bit masks of the inventory (auth kinds, sensitive data types) are stored as
 * the names the caller gives for each bit (a bit without a name as "bitN"),
 * so the file stays meaningful if the vocabulary grows. docs/inventory.md
 * describes the tables.
 *
 * Single-threaded; the store borrows the name tables of its config for its
 * whole life. Errors leave a message naming the file in store_error().
 */
#ifndef APISENSOR_INVENTORY_STORE_H
#define APISENSOR_INVENTORY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "inventory/inventory.h"

#define STORE_SCHEMA_VERSION 3

/* How long a write waits for another connection's lock, in milliseconds. */
#define STORE_BUSY_TIMEOUT_MS 5000

typedef struct store_config {
    const char *path; /* database file; SQLite's ":memory:" for a private in-memory one */
    int read_only;    /* 1: open an existing database, write nothing */
    const char *const *auth_kinds; /* name of inventory auth bit i */
    uint32_t auth_kind_count;
    const char *const *data_types; /* name of inventory sensitive type bit i */
    uint32_t data_type_count;
} store_config;

typedef struct store_stats {
    uint64_t endpoints_loaded;
    uint64_t findings_loaded;
    uint64_t services_loaded;
    uint64_t refused;      /* stored records the inventory had no room for (left in the file) */
    uint64_t flushes;      /* committed store_flush transactions */
    uint64_t rows_written; /* rows inserted or updated */
    uint64_t rows_deleted; /* rows of records merged away */
} store_stats;

typedef struct store store;

/*
 * Opens (and, unless read_only, creates) the database. Returns AS_OK,
 * AS_ERR_IO (cannot create or open, not a database, locked),
 * AS_ERR_UNSUPPORTED (schema version not this build's), AS_ERR_FORMAT (not an
 * apisensor inventory) or AS_ERR_NOMEM, with the message in err.
 */
as_status store_open(const store_config *config, char *err, size_t errlen, store **out);
void store_close(store *s);

/* Records in the file (for sizing an inventory before store_load). */
as_status store_counts(store *s, uint64_t *endpoints, uint64_t *findings, uint64_t *services);

/* Restores every stored record into inv (a fresh inventory, before any
 * observation). Records the inventory has no room for are counted as refused
 * and stay in the file untouched. */
as_status store_load(store *s, inventory *inv);

/* Writes the records of inv changed since the last flush in one transaction
 * and clears the inventory's dirty flags. On failure nothing is written and
 * the flags stay set, so the next flush retries. */
as_status store_flush(store *s, inventory *inv);

/* The secret called name (len bytes), created from the OpenSSL random
 * generator on first use and kept in the file. */
as_status store_get_or_create_secret(store *s, const char *name, uint8_t *out, size_t len);

const char *store_error(const store *s);
store_stats store_get_stats(const store *s);

#endif
