/*
 * TLS key log (NSS key log format, as written by SSLKEYLOGFILE): lines
 * "LABEL <client random, 64 hex> <secret, hex>", '#' comments.
 *
 * Kept labels: CLIENT_RANDOM (TLS 1.2 master secret), and for TLS 1.3
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
 * CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0. Other labels (exporter,
 * early traffic) are skipped and counted; malformed lines are counted.
 *
 * Entries are keyed by client random, at most tls_keylog_entries of them;
 * when full the oldest entry is evicted (counted). The file is re-read
 * from where the last read stopped whenever tls_keylog_refresh() finds it
 * grew (applications append while they run); a file that shrank was
 * rotated or truncated and is read again from its start. A partial last
 * line waits for its newline.
 *
 * Secrets never leave this store except as key material for decryption.
 * The file must not be readable by group or others unless nobody can
 * write it (a read-only archive shipped with its capture): a live key log
 * readable by other users lets them decrypt the traffic (DESIGN.md
 * section 7). tls_keylog_open() refuses such a file with a message.
 *
 * One thread uses a key log; the caller owns it.
 */
#ifndef APISENSOR_PARSE_TLS_KEYLOG_H
#define APISENSOR_PARSE_TLS_KEYLOG_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/status.h"
#include "tls_crypto.h"

typedef enum {
    TLS_SECRET_MASTER, /* CLIENT_RANDOM: TLS 1.2 master secret (48 bytes) */
    TLS_SECRET_CLIENT_HANDSHAKE,
    TLS_SECRET_SERVER_HANDSHAKE,
    TLS_SECRET_CLIENT_TRAFFIC0,
    TLS_SECRET_SERVER_TRAFFIC0,
    TLS_SECRET_COUNT
} tls_secret_kind;

typedef struct tls_keylog tls_keylog;

typedef struct tls_keylog_stats {
    uint64_t entries;       /* client randoms held now */
    uint64_t lines;         /* lines with a kept label */
    uint64_t lines_skipped; /* other labels, comments, blank lines */
    uint64_t lines_bad;     /* malformed lines */
    uint64_t evicted;       /* entries dropped at tls_keylog_entries */
    uint64_t reads;         /* times new bytes were read from the file */
} tls_keylog_stats;

/* Opens and reads the key log at path (NULL path: an empty store fed by
 * tls_keylog_add_line(), for tests). AS_ERR_IO / AS_ERR_CONFIG with a
 * message in err (the file cannot be read / its permissions are unsafe). */
as_status tls_keylog_open(const char *path, const limits *lim, char *err, size_t errlen,
                          tls_keylog **out);

/* Reads what was appended to the file since the last read. Returns 1 when
 * new lines were read. */
int tls_keylog_refresh(tls_keylog *kl);

/* Adds one line (without its newline); returns 1 when it was kept. */
int tls_keylog_add_line(tls_keylog *kl, const char *line, size_t len);

/* The secret of that kind for a client random: 1 and *secret / *len set
 * (valid until the next call that adds lines), or 0. */
int tls_keylog_find(const tls_keylog *kl, const uint8_t client_random[TLS_RANDOM_BYTES],
                    tls_secret_kind kind, const uint8_t **secret, size_t *len);

tls_keylog_stats tls_keylog_get_stats(const tls_keylog *kl);

void tls_keylog_destroy(tls_keylog *kl);

#endif
