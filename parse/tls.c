/*
 * The TLS engine (see tls.h).
 *
 * Layout. Per flow slot the engine keeps a route byte (undecided / TLS /
 * not TLS) and, for TLS flows, a session pointer; both arrays are mapped
 * lazily. A session holds per direction: the record carry buffer (a record
 * split across chunks), the handshake message scanner, and the record
 * cipher; per flow: the hello facts and fingerprints, the negotiated
 * version and suite, and the first reason decryption stopped.
 *
 * Work happens in tls_engine_next(): it frames records from the chunk fed
 * last and opens them until the plaintext it collected reaches
 * TLS_OUT_FLUSH_BYTES or the chunk ends, then hands the plaintext out. The
 * output buffer belongs to the engine (one per thread), not to the flows.
 *
 * Key use. Secrets are looked up when first needed, not at the
 * ServerHello: a TLS 1.3 server's first encrypted record needs the
 * handshake secrets, the record after each Finished the application
 * secrets, a TLS 1.2 ChangeCipherSpec the master secret. A miss re-reads
 * what was appended to the key log once before the flow is declared
 * undecryptable, so a live key log written moments after the handshake
 * still serves.
 */
#include "tls.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/bigmem.h"
#include "common/cursor.h"
#include "tls_crypto.h"
#include "tls_hello.h"

/* Ended sessions kept for reuse, with their cipher contexts and carry
 * buffers: a steady load of short connections allocates nothing. */
#define TLS_SESSION_POOL 64
/* Plaintext handed out in one chunk once it reaches this size. */
#define TLS_OUT_FLUSH_BYTES 16384
#define TLS_HEADER_BYTES 5

enum { ROUTE_UNDECIDED = 0, ROUTE_TLS = 1, ROUTE_OTHER = 2 };

enum {
    CT_CHANGE_CIPHER_SPEC = 20,
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPLICATION_DATA = 23,
    CT_HEARTBEAT = 24,
};

enum {
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    HS_FINISHED = 20,
    HS_KEY_UPDATE = 24,
};

enum { SWITCH_NONE, SWITCH_APPLICATION, SWITCH_KEY_UPDATE };

typedef struct tls_dir {
    tls_cipher cipher;
    uint8_t secret[TLS_MAX_SECRET_BYTES]; /* TLS 1.3 traffic secret in use (for KeyUpdate) */
    uint8_t secret_len;
    uint8_t switch_pending; /* SWITCH_*: applied after the current record */
    uint8_t application;    /* TLS 1.3: application keys installed */
    /* record carry: the start of a record split across chunks */
    uint8_t *carry;
    uint32_t carry_len, carry_cap;
    /* handshake scanner: message header, bytes left of its body */
    uint8_t hs_header[4];
    uint8_t hs_header_len;
    uint8_t hs_keep; /* the body is kept in hs_body (hello messages) */
    uint32_t hs_left;
    uint8_t *hs_body;
    uint32_t hs_body_len;
} tls_dir;

typedef struct tls_session {
    tls_dir dir[2];
    tx_tls facts;
    uint8_t client_dir; /* direction that sent the ClientHello */
    uint8_t have_client_hello, have_server_hello;
    uint8_t keys_found, decrypted;
    uint8_t dead;       /* nothing more is parsed */
    uint8_t reason;     /* first tls_reason + 1, 0 = none */
    uint8_t tls12_keys; /* key block derived */
    const tls_suite *suite;
    uint8_t client_random[TLS_RANDOM_BYTES];
    uint8_t server_random[TLS_RANDOM_BYTES];
    uint8_t encrypt_then_mac; /* RFC 7366, from the ServerHello */
    uint8_t key_block[2 * TLS_MAX_SECRET_BYTES + 2 * TLS_MAX_KEY_BYTES + 2 * TLS_AEAD_NONCE_BYTES];
    char sni[TLS_SNI_MAX + 1];
    char alpn[TLS_ALPN_MAX + 1];
    char ja3[TLS_JA3_HEX + 1];
    char ja4[TLS_JA4_CHARS + 1];
    struct tls_session *next_free; /* in the engine's pool */
} tls_session;

typedef struct tls_pair {
    char sni[TLS_SNI_MAX + 1];
    char ja4[TLS_JA4_CHARS + 1];
    uint64_t flows;
} tls_pair;

/* The chunk being worked through by tls_engine_next(). */
typedef struct tls_job {
    tls_session *session;
    uint8_t dir;
    uint8_t active;
    const uint8_t *data;
    uint32_t len, pos;
    uint64_t ts_ns;
    tcp_chunk control; /* gap / FIN / RST to hand out after the data */
    uint8_t has_control;
    anomaly_counters *anomalies;
} tls_job;

struct tls_engine {
    limits lim;
    uint32_t slot_count;
    uint8_t *route;         /* per slot */
    tls_session **sessions; /* per slot */
    tls_keylog *keylog;     /* borrowed */
    tls_crypto *crypto;
    tls_client_hello hello; /* scratch */
    tls_job job;
    uint8_t *out; /* plaintext for HTTP */
    uint32_t out_len, out_cap;
    tls_session *free_sessions; /* pool of at most TLS_SESSION_POOL */
    uint32_t free_count;
    tls_pair *pairs;
    uint32_t pair_count;
    uint32_t *pair_index; /* open addressing: pair index + 1, 0 = empty */
    uint32_t pair_mask;
    tls_engine_stats stats;
};

static const char *const reason_names[] = {
#define TLS_REASON_NAME(id, name) name,
    TLS_REASON_LIST(TLS_REASON_NAME)
#undef TLS_REASON_NAME
};

const char *tls_reason_name(tls_reason reason) {
    return reason < TLS_REASON_COUNT ? reason_names[reason] : "unknown";
}

as_status tls_engine_create(const limits *lim, uint32_t slot_count, tls_keylog *keylog,
                            tls_engine **out) {
    *out = NULL;
    tls_engine *e = calloc(1, sizeof *e);
    if (!e)
        return AS_ERR_NOMEM;
    e->lim = *lim;
    e->slot_count = slot_count;
    e->keylog = keylog;
    as_status st = tls_crypto_create(&e->crypto);
    if (st != AS_OK) {
        tls_engine_destroy(e);
        return st;
    }
    e->route = bigmem_alloc(slot_count);
    e->sessions = bigmem_alloc((size_t)slot_count * sizeof *e->sessions);
    e->out_cap = TLS_OUT_FLUSH_BYTES + (uint32_t)lim->tls_record_bytes;
    e->out = malloc(e->out_cap);
    uint32_t pairs_max = (uint32_t)lim->tls_fingerprint_pairs;
    uint32_t index_size = 2;
    while (index_size < 2 * pairs_max)
        index_size <<= 1;
    e->pair_mask = index_size - 1;
    e->pairs = calloc(pairs_max ? pairs_max : 1, sizeof *e->pairs);
    e->pair_index = calloc(index_size, sizeof *e->pair_index);
    if (!e->route || !e->sessions || !e->out || !e->pairs || !e->pair_index) {
        tls_engine_destroy(e);
        return AS_ERR_NOMEM;
    }
    *out = e;
    return AS_OK;
}

/* ------------------------------------------------------------------ */
/* flow state                                                          */

static void fail(tls_engine *e, tls_session *s, tls_reason reason, anomaly_id anomaly,
                 int count_anomaly) {
    if (count_anomaly)
        anomaly_count(e->job.anomalies, anomaly);
    if (!s->reason)
        s->reason = (uint8_t)(reason + 1);
    s->dead = 1;
}

static void dir_free(tls_dir *d) {
    tls_cipher_clear(&d->cipher);
    OPENSSL_cleanse(d->secret, sizeof d->secret);
    free(d->carry);
    free(d->hs_body);
}

static void session_free(tls_session *s) {
    dir_free(&s->dir[0]);
    dir_free(&s->dir[1]);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

/* Wipes an ended session and pools it, keeping its cipher contexts (rekeyed
 * before any use) and carry buffers. */
static void session_release(tls_engine *e, tls_session *s) {
    if (e->free_count >= TLS_SESSION_POOL) {
        session_free(s);
        return;
    }
    tls_cipher cipher[2];
    uint8_t *carry[2];
    uint32_t carry_cap[2];
    for (int i = 0; i < 2; i++) {
        tls_cipher_forget(&s->dir[i].cipher);
        cipher[i] = s->dir[i].cipher;
        carry[i] = s->dir[i].carry;
        carry_cap[i] = s->dir[i].carry_cap;
        free(s->dir[i].hs_body);
    }
    OPENSSL_cleanse(s, sizeof *s);
    for (int i = 0; i < 2; i++) {
        s->dir[i].cipher = cipher[i];
        s->dir[i].carry = carry[i];
        s->dir[i].carry_cap = carry_cap[i];
    }
    s->next_free = e->free_sessions;
    e->free_sessions = s;
    e->free_count++;
}

static tls_session *session_new(tls_engine *e, const flow *f) {
    tls_session *s = e->free_sessions;
    if (s) {
        e->free_sessions = s->next_free;
        e->free_count--;
        s->next_free = NULL;
    } else {
        s = calloc(1, sizeof *s);
    }
    if (!s) {
        anomaly_count(e->job.anomalies, ANOMALY_TLS_ALLOC_FAILED);
        return NULL;
    }
    s->client_dir = FLOW_TO_SERVER;
    e->sessions[f->slot] = s;
    return s;
}

/* A TLS record header at the start of data (as far as len shows it). */
static int looks_like_tls(const uint8_t *data, uint32_t len) {
    if (len < 1 || data[0] < CT_CHANGE_CIPHER_SPEC || data[0] > CT_APPLICATION_DATA)
        return 0;
    if (len >= 2 && data[1] != 3)
        return 0;
    if (len >= 3 && data[2] > 4)
        return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* keys                                                                */

static int find_secret(tls_engine *e, tls_session *s, tls_secret_kind kind, const uint8_t **secret,
                       size_t *len) {
    if (tls_keylog_find(e->keylog, s->client_random, kind, secret, len))
        return 1;
    return tls_keylog_refresh(e->keylog) &&
           tls_keylog_find(e->keylog, s->client_random, kind, secret, len);
}

/* Why keys are not there (before a lookup). 0 when a lookup may succeed. */
static int keys_unavailable(tls_engine *e, tls_session *s) {
    if (!e->keylog) {
        fail(e, s, TLS_REASON_NO_KEYLOG, ANOMALY_TLS_MISSING_KEY, 0);
        return 1;
    }
    if (!s->have_client_hello || !s->have_server_hello || !s->suite) {
        fail(e, s, TLS_REASON_NO_HANDSHAKE, ANOMALY_TLS_MISSING_KEY, 0);
        return 1;
    }
    return 0;
}

static void missing_key(tls_engine *e, tls_session *s) {
    fail(e, s, TLS_REASON_MISSING_KEY, ANOMALY_TLS_MISSING_KEY, 1);
}

/* TLS 1.3: installs the traffic secret of kind into direction d. */
static int install13(tls_engine *e, tls_session *s, tls_dir *d, tls_secret_kind kind) {
    const uint8_t *secret;
    size_t len;
    if (!find_secret(e, s, kind, &secret, &len) || len != tls_suite_hash_bytes(s->suite)) {
        missing_key(e, s);
        return 0;
    }
    if (tls_cipher_set13(e->crypto, &d->cipher, s->suite, secret, len) != AS_OK) {
        fail(e, s, TLS_REASON_MISSING_KEY, ANOMALY_TLS_ALLOC_FAILED, 1);
        return 0;
    }
    memcpy(d->secret, secret, len);
    d->secret_len = (uint8_t)len;
    s->keys_found = 1;
    return 1;
}

/* TLS 1.3: the handshake keys of direction dir, when its first protected
 * record arrives. */
static int start13(tls_engine *e, tls_session *s, uint8_t dir) {
    if (keys_unavailable(e, s))
        return 0;
    int client = dir == s->client_dir;
    return install13(e, s, &s->dir[dir],
                     client ? TLS_SECRET_CLIENT_HANDSHAKE : TLS_SECRET_SERVER_HANDSHAKE);
}

/* TLS 1.3: after a Finished (application keys) or a KeyUpdate. */
static void switch13(tls_engine *e, tls_session *s, uint8_t dir) {
    tls_dir *d = &s->dir[dir];
    uint8_t kind = d->switch_pending;
    d->switch_pending = SWITCH_NONE;
    if (kind == SWITCH_APPLICATION && !d->application) {
        d->application = 1;
        int client = dir == s->client_dir;
        install13(e, s, d, client ? TLS_SECRET_CLIENT_TRAFFIC0 : TLS_SECRET_SERVER_TRAFFIC0);
    } else if (kind == SWITCH_KEY_UPDATE && d->application) {
        uint8_t next[TLS_MAX_SECRET_BYTES];
        size_t len = d->secret_len;
        if (tls13_expand_label(e->crypto, s->suite->hash_sha384, d->secret, len, "traffic upd",
                               NULL, 0, next, len) != AS_OK ||
            tls_cipher_set13(e->crypto, &d->cipher, s->suite, next, len) != AS_OK) {
            fail(e, s, TLS_REASON_MISSING_KEY, ANOMALY_TLS_ALLOC_FAILED, 1);
            return;
        }
        memcpy(d->secret, next, len);
        OPENSSL_cleanse(next, sizeof next);
    }
}

/* TLS 1.2: ChangeCipherSpec in direction dir: the next record is protected. */
static void start12(tls_engine *e, tls_session *s, uint8_t dir) {
    if (keys_unavailable(e, s))
        return;
    const tls_suite *suite = s->suite;
    size_t mac = suite->mac_bytes, key = suite->key_bytes;
    size_t iv = suite->mac_bytes                            ? 0 /* CBC: explicit record IVs */
                : suite->aead == TLS_AEAD_CHACHA20_POLY1305 ? 12
                                                            : 4;
    if (!s->tls12_keys) {
        const uint8_t *master;
        size_t len;
        if (!find_secret(e, s, TLS_SECRET_MASTER, &master, &len)) {
            missing_key(e, s);
            return;
        }
        uint8_t seed[2 * TLS_RANDOM_BYTES];
        memcpy(seed, s->server_random, TLS_RANDOM_BYTES);
        memcpy(seed + TLS_RANDOM_BYTES, s->client_random, TLS_RANDOM_BYTES);
        if (tls12_prf(e->crypto, suite->hash_sha384, master, len, "key expansion", seed,
                      sizeof seed, s->key_block, 2 * mac + 2 * key + 2 * iv) != AS_OK) {
            fail(e, s, TLS_REASON_MISSING_KEY, ANOMALY_TLS_ALLOC_FAILED, 1);
            return;
        }
        s->tls12_keys = 1;
        s->keys_found = 1;
    }
    /* key block: client MAC key, server MAC key, client key, server key,
     * client IV, server IV (RFC 5246 section 6.3) */
    int client = dir == s->client_dir;
    const uint8_t *m = s->key_block + (client ? 0 : mac);
    const uint8_t *k = s->key_block + 2 * mac + (client ? 0 : key);
    const uint8_t *v = s->key_block + 2 * mac + 2 * key + (client ? 0 : iv);
    if (tls_cipher_set12(e->crypto, &s->dir[dir].cipher, suite, mac ? m : NULL, k, iv ? v : NULL,
                         s->encrypt_then_mac) != AS_OK)
        fail(e, s, TLS_REASON_MISSING_KEY, ANOMALY_TLS_ALLOC_FAILED, 1);
}

/* ------------------------------------------------------------------ */
/* handshake messages                                                  */

static void on_client_hello(tls_engine *e, tls_session *s, uint8_t dir, const uint8_t *body,
                            uint32_t len) {
    tls_client_hello *ch = &e->hello;
    if (s->have_client_hello)
        return; /* the second ClientHello after a HelloRetryRequest */
    if (tls_client_hello_parse(body, len, ch) != AS_OK) {
        fail(e, s, TLS_REASON_MALFORMED, ANOMALY_TLS_MALFORMED_HANDSHAKE, 1);
        return;
    }
    s->have_client_hello = 1;
    s->client_dir = dir;
    memcpy(s->client_random, ch->random, TLS_RANDOM_BYTES);
    if (ch->has_sni) {
        memcpy(s->sni, ch->sni, (size_t)ch->sni_len + 1);
        s->facts.sni = (str_view){s->sni, ch->sni_len};
    }
    if (ch->alpn_len) {
        memcpy(s->alpn, ch->alpn, (size_t)ch->alpn_len + 1);
        s->facts.alpn = (str_view){s->alpn, ch->alpn_len};
    }
    if (tls_ja3(ch, s->ja3) == AS_OK)
        s->facts.ja3 = s->ja3;
    if (tls_ja4(ch, s->ja4) == AS_OK)
        s->facts.ja4 = s->ja4;
}

static void on_server_hello(tls_engine *e, tls_session *s, const uint8_t *body, uint32_t len) {
    tls_server_hello sh;
    if (tls_server_hello_parse(body, len, &sh) != AS_OK) {
        fail(e, s, TLS_REASON_MALFORMED, ANOMALY_TLS_MALFORMED_HANDSHAKE, 1);
        return;
    }
    if (sh.retry_request)
        return; /* a ServerHello follows the client's second hello */
    s->have_server_hello = 1;
    s->facts.version = sh.version;
    s->facts.cipher = sh.cipher;
    memcpy(s->server_random, sh.random, TLS_RANDOM_BYTES);
    s->encrypt_then_mac = sh.encrypt_then_mac;
    if (sh.version != 0x0303 && sh.version != 0x0304) {
        fail(e, s, TLS_REASON_UNSUPPORTED_VERSION, ANOMALY_TLS_MISSING_KEY, 0);
        return;
    }
    s->suite = tls_suite_find(sh.cipher);
    if (!s->suite || s->suite->version != sh.version) {
        s->suite = NULL;
        fail(e, s, TLS_REASON_UNSUPPORTED_CIPHER, ANOMALY_TLS_MISSING_KEY, 0);
        return;
    }
    s->facts.cipher_name = s->suite->name;
}

static void on_handshake_message(tls_engine *e, tls_session *s, uint8_t dir, uint8_t type,
                                 const uint8_t *body, uint32_t len, int protected) {
    tls_dir *d = &s->dir[dir];
    if (type == HS_CLIENT_HELLO && !protected && body)
        on_client_hello(e, s, dir, body, len);
    else if (type == HS_SERVER_HELLO && !protected && body)
        on_server_hello(e, s, body, len);
    else if (protected && s->facts.version == 0x0304 && type == HS_FINISHED)
        d->switch_pending = SWITCH_APPLICATION;
    else if (protected && s->facts.version == 0x0304 && type == HS_KEY_UPDATE)
        d->switch_pending = SWITCH_KEY_UPDATE;
}

/* Scans handshake bytes of one direction: messages may span records. */
static void scan_handshake(tls_engine *e, tls_session *s, uint8_t dir, const uint8_t *data,
                           uint32_t len, int protected) {
    tls_dir *d = &s->dir[dir];
    while (len > 0 && !s->dead) {
        if (d->hs_header_len < 4) {
            d->hs_header[d->hs_header_len++] = *data++;
            len--;
            if (d->hs_header_len < 4)
                continue;
            uint8_t type = d->hs_header[0];
            d->hs_left =
                (uint32_t)d->hs_header[1] << 16 | (uint32_t)d->hs_header[2] << 8 | d->hs_header[3];
            d->hs_keep = !protected && (type == HS_CLIENT_HELLO || type == HS_SERVER_HELLO);
            d->hs_body_len = 0;
            if (d->hs_keep && d->hs_left > (uint64_t)e->lim.tls_handshake_bytes) {
                anomaly_count(e->job.anomalies, ANOMALY_TLS_HANDSHAKE_LIMIT);
                d->hs_keep = 0;
            }
            if (d->hs_keep) {
                free(d->hs_body);
                d->hs_body = malloc(d->hs_left ? d->hs_left : 1);
                if (!d->hs_body) {
                    fail(e, s, TLS_REASON_MALFORMED, ANOMALY_TLS_ALLOC_FAILED, 1);
                    return;
                }
            }
        } else {
            uint32_t take = len < d->hs_left ? len : d->hs_left;
            if (d->hs_keep)
                memcpy(d->hs_body + d->hs_body_len, data, take);
            d->hs_body_len += take;
            d->hs_left -= take;
            data += take;
            len -= take;
        }
        if (d->hs_header_len == 4 && d->hs_left == 0) {
            on_handshake_message(e, s, dir, d->hs_header[0], d->hs_keep ? d->hs_body : NULL,
                                 d->hs_keep ? d->hs_body_len : 0, protected);
            d->hs_header_len = 0;
            if (d->hs_keep) {
                free(d->hs_body);
                d->hs_body = NULL;
                d->hs_keep = 0;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* records                                                             */

static void on_record(tls_engine *e, tls_session *s, uint8_t dir, const uint8_t *header,
                      const uint8_t *body, uint32_t len) {
    tls_dir *d = &s->dir[dir];
    uint8_t type = header[0];
    e->stats.records++;
    if (type == CT_CHANGE_CIPHER_SPEC) {
        /* TLS 1.2: protection starts. TLS 1.3 sends it only for middlebox
         * compatibility, from the client possibly before any ServerHello
         * (after a HelloRetryRequest, or before early data). */
        if (s->have_server_hello && s->facts.version == 0x0303)
            start12(e, s, dir);
        return;
    }
    if (type == CT_HEARTBEAT)
        return;
    if (!d->cipher.active && s->have_server_hello && s->facts.version == 0x0304 &&
        type == CT_APPLICATION_DATA) {
        if (!start13(e, s, dir))
            return;
    }
    if (!d->cipher.active) {
        if (type == CT_HANDSHAKE)
            scan_handshake(e, s, dir, body, len, 0);
        else if (type == CT_APPLICATION_DATA && !keys_unavailable(e, s))
            missing_key(e, s);
        return;
    }
    /* protected record: open it into the free end of the output buffer */
    uint8_t *plain = e->out + e->out_len;
    size_t plain_len = 0;
    uint8_t inner = 0;
    if (tls_cipher_open(&d->cipher, header, body, len, plain, &plain_len, &inner) != AS_OK) {
        fail(e, s, TLS_REASON_AUTH_FAILED, ANOMALY_TLS_AUTH_FAILED, 1);
        return;
    }
    e->stats.records_decrypted++;
    s->decrypted = 1;
    if (inner == CT_APPLICATION_DATA) {
        e->out_len += (uint32_t)plain_len;
        e->stats.plaintext_bytes += plain_len;
    } else if (inner == CT_HANDSHAKE) {
        scan_handshake(e, s, dir, plain, (uint32_t)plain_len, 1);
    }
    if (d->switch_pending && !s->dead)
        switch13(e, s, dir);
}

/* A record header is acceptable: known type, version 3.x, length within bounds. */
static int check_header(tls_engine *e, tls_session *s, const uint8_t *h) {
    if (h[0] < CT_CHANGE_CIPHER_SPEC || h[0] > CT_HEARTBEAT || h[1] != 3 || h[2] > 4) {
        fail(e, s, TLS_REASON_MALFORMED, ANOMALY_TLS_MALFORMED_RECORD, 1);
        return 0;
    }
    uint32_t total = TLS_HEADER_BYTES + ((uint32_t)h[3] << 8 | h[4]);
    if (total > (uint64_t)e->lim.tls_record_bytes) {
        fail(e, s, TLS_REASON_RECORD_LIMIT, ANOMALY_TLS_RECORD_LIMIT, 1);
        return 0;
    }
    return 1;
}

/* Frames records from the job's chunk; returns when the chunk is used up,
 * the output is full enough, or the flow died. */
static void frame_records(tls_engine *e, tls_job *j) {
    tls_session *s = j->session;
    tls_dir *d = &s->dir[j->dir];
    while (j->pos < j->len && !s->dead && e->out_len < TLS_OUT_FLUSH_BYTES) {
        const uint8_t *p = j->data + j->pos;
        uint32_t left = j->len - j->pos;
        if (d->carry_len == 0 && left >= TLS_HEADER_BYTES) {
            if (!check_header(e, s, p))
                return;
            uint32_t total = TLS_HEADER_BYTES + ((uint32_t)p[3] << 8 | p[4]);
            if (left >= total) { /* whole record in place */
                on_record(e, s, j->dir, p, p + TLS_HEADER_BYTES, total - TLS_HEADER_BYTES);
                j->pos += total;
                continue;
            }
        }
        /* carry: first the header, then the rest of the record */
        uint32_t want = TLS_HEADER_BYTES;
        if (d->carry_len >= TLS_HEADER_BYTES)
            want += (uint32_t)d->carry[3] << 8 | d->carry[4];
        uint32_t take = want - d->carry_len;
        if (take > left)
            take = left;
        if (d->carry_cap < want) {
            uint32_t cap = want < 512 ? 512 : want;
            uint8_t *grown = realloc(d->carry, cap);
            if (!grown) {
                fail(e, s, TLS_REASON_RECORD_LIMIT, ANOMALY_TLS_ALLOC_FAILED, 1);
                return;
            }
            d->carry = grown;
            d->carry_cap = cap;
        }
        memcpy(d->carry + d->carry_len, p, take);
        d->carry_len += take;
        j->pos += take;
        if (d->carry_len < TLS_HEADER_BYTES)
            continue;                   /* the chunk ended inside the header */
        if (want == TLS_HEADER_BYTES) { /* the header just completed */
            if (!check_header(e, s, d->carry))
                return;
            want += (uint32_t)d->carry[3] << 8 | d->carry[4];
            if (d->carry_cap < want)
                continue; /* grow the buffer on the next turn */
        }
        if (d->carry_len == want) { /* also an empty record */
            d->carry_len = 0;
            on_record(e, s, j->dir, d->carry, d->carry + TLS_HEADER_BYTES, want - TLS_HEADER_BYTES);
        }
    }
}

/* ------------------------------------------------------------------ */
/* feeding                                                             */

int tls_engine_feed(tls_engine *e, const flow *f, flow_direction dir, const tcp_chunk *chunk,
                    anomaly_counters *anomalies) {
    uint8_t *route = &e->route[f->slot];
    if (*route == ROUTE_OTHER)
        return 0;
    tls_job *j = &e->job;
    j->anomalies = anomalies;
    if (*route == ROUTE_UNDECIDED) {
        if (!chunk->data || chunk->len == 0)
            return 0; /* no data yet: nothing to decide on */
        if (!looks_like_tls(chunk->data, chunk->len) || !session_new(e, f)) {
            *route = ROUTE_OTHER;
            return 0;
        }
        *route = ROUTE_TLS;
    }
    tls_session *s = e->sessions[f->slot];
    memset(j, 0, sizeof *j);
    j->anomalies = anomalies;
    j->session = s;
    j->dir = (uint8_t)dir;
    j->ts_ns = chunk->ts_ns;
    if (chunk->flags & TCP_CHUNK_GAP) {
        e->stats.bytes += chunk->len;
        int was_decrypting = s->decrypted && !s->dead;
        if (!s->dead)
            fail(e, s, TLS_REASON_GAP, ANOMALY_TLS_GAP, 1);
        if (was_decrypting) {
            j->control = *chunk;
            j->has_control = 1;
            j->active = 1;
        }
        return 1;
    }
    if (chunk->flags & (TCP_CHUNK_FIN | TCP_CHUNK_RST)) {
        if (s->decrypted) {
            j->control = *chunk;
            j->control.data = NULL;
            j->has_control = 1;
            j->active = 1;
        }
        return 1;
    }
    if (chunk->data && chunk->len) {
        e->stats.bytes += chunk->len;
        j->data = chunk->data;
        j->len = chunk->len;
        j->active = 1;
    }
    return 1;
}

int tls_engine_hello_missed(const tls_engine *e, const flow *f) {
    if (e->route[f->slot] != ROUTE_TLS)
        return 0;
    const tls_session *s = e->sessions[f->slot];
    return s->dead && !s->have_client_hello &&
           (s->reason == TLS_REASON_NO_KEYLOG + 1 || s->reason == TLS_REASON_NO_HANDSHAKE + 1);
}

int tls_engine_next(tls_engine *e, tcp_chunk *out) {
    tls_job *j = &e->job;
    if (!j->active)
        return 0;
    e->out_len = 0;
    if (j->data && !j->session->dead)
        frame_records(e, j);
    if (e->out_len) {
        *out = (tcp_chunk){e->out, e->out_len, 0, j->ts_ns};
        return 1;
    }
    if (j->has_control) {
        *out = j->control;
        j->has_control = 0;
        j->active = 0;
        return 1;
    }
    j->active = 0;
    return 0;
}

void tls_engine_annotate(const tls_engine *e, const flow *f, http_transaction *tx) {
    if (e->route[f->slot] != ROUTE_TLS || tx->flow_serial != f->serial)
        return;
    const tls_session *s = e->sessions[f->slot];
    tx->tls = &s->facts;
    if (!str_view_present(tx->host) && str_view_present(s->facts.sni))
        tx->host = s->facts.sni;
}

/* ------------------------------------------------------------------ */
/* ending flows                                                        */

static uint32_t pair_hash(const char *sni, const char *ja4) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = sni; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    h = (h ^ 0xff) * 16777619u;
    for (const char *p = ja4; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static void count_pair(tls_engine *e, const tls_session *s) {
    uint32_t i = pair_hash(s->sni, s->ja4) & e->pair_mask;
    while (e->pair_index[i]) {
        tls_pair *p = &e->pairs[e->pair_index[i] - 1];
        if (!strcmp(p->sni, s->sni) && !strcmp(p->ja4, s->ja4)) {
            p->flows++;
            return;
        }
        i = (i + 1) & e->pair_mask;
    }
    if (e->pair_count >= (uint64_t)e->lim.tls_fingerprint_pairs) {
        e->stats.pairs_other++;
        return;
    }
    tls_pair *p = &e->pairs[e->pair_count++];
    memcpy(p->sni, s->sni, sizeof p->sni);
    memcpy(p->ja4, s->ja4, sizeof p->ja4);
    p->flows = 1;
    e->pair_index[i] = e->pair_count;
}

void tls_engine_close(tls_engine *e, const flow *f) {
    uint8_t route = e->route[f->slot];
    e->route[f->slot] = ROUTE_UNDECIDED;
    if (route != ROUTE_TLS)
        return;
    tls_session *s = e->sessions[f->slot];
    e->sessions[f->slot] = NULL;
    if (e->job.session == s)
        memset(&e->job, 0, sizeof e->job);
    tls_engine_stats *st = &e->stats;
    st->flows++;
    st->flows_hello += s->have_client_hello;
    st->flows_sni += str_view_present(s->facts.sni);
    st->flows_tls12 += s->facts.version == 0x0303;
    st->flows_tls13 += s->facts.version == 0x0304;
    st->flows_with_keys += s->keys_found;
    st->flows_decrypted += s->decrypted;
    /* a flow that ended before its first protected record has a reason
     * only when none could have been opened */
    if (!s->reason && !s->decrypted && (!e->keylog || !s->have_server_hello))
        s->reason = (uint8_t)((e->keylog ? TLS_REASON_NO_HANDSHAKE : TLS_REASON_NO_KEYLOG) + 1);
    if (s->reason)
        st->flows_undecryptable[s->reason - 1]++;
    count_pair(e, s);
    session_release(e, s);
}

tls_engine_stats tls_engine_get_stats(const tls_engine *e) {
    return e->stats;
}

void tls_engine_foreach_pair(const tls_engine *e,
                             void (*visit)(const char *sni, const char *ja4, uint64_t flows,
                                           void *arg),
                             void *arg) {
    for (uint32_t i = 0; i < e->pair_count; i++)
        visit(e->pairs[i].sni, e->pairs[i].ja4, e->pairs[i].flows, arg);
}

void tls_engine_destroy(tls_engine *e) {
    if (!e)
        return;
    if (e->sessions) {
        for (uint32_t i = 0; i < e->slot_count; i++) {
            if (e->sessions[i])
                session_free(e->sessions[i]);
        }
    }
    while (e->free_sessions) {
        tls_session *s = e->free_sessions;
        e->free_sessions = s->next_free;
        session_free(s);
    }
    bigmem_free(e->route, e->slot_count);
    bigmem_free(e->sessions, (size_t)e->slot_count * sizeof *e->sessions);
    tls_crypto_destroy(e->crypto);
    free(e->out);
    free(e->pairs);
    free(e->pair_index);
    free(e);
}
