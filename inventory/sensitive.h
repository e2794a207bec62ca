/*
 * Sensitive data in HTTP messages: which of CONTRACT.md's types a request
 * body, request headers, query string or response body carries, with one
 * masked sample per type as evidence (never the raw value).
 *
 * Candidates come from a Hyperscan block-mode database of literal
 * triggers ('@', "+1".."+9", "eyJ", "$2b$10$", "$argon2", "sk_live_",
 * "AKIA", "-----BEGIN ", ...), compiled once and shared read-only by every
 * thread, and from one pass over the runs of digits (cards, SSNs, national
 * phones, IBANs). Each candidate is confirmed by a validator that parses it
 * in place (Luhn and issuer ranges for cards, mod-97 and the country length
 * table for IBANs, area/group/serial rules for SSNs, a decoded JSON header
 * with "alg" for JWTs, numbering plans for phones). Field-name rules on
 * decoded pairs add what only a name says: JSON members (parse/json_fields),
 * form and query pairs (parse/urlencoded) and header fields (password,
 * access_token, api_key, ssn). docs/sensitive-data.md lists every rule.
 *
 * A value is reported as the most specific type it is: a JWT under
 * "access_token" or "?access_token=" is `jwt`, an opaque one is
 * `access_token`; a bcrypt hash under "password" is `password_hash`, a
 * cleartext one `password`. Whether a type is an exposure (a login
 * response issuing a token is not) is the inventory's call.
 *
 * A worker (one per thread) holds the Hyperscan scratch, a JSON walker and
 * two decode buffers, all allocated at create: a scan allocates nothing. At
 * most sensitive_scan_bytes of each message part are scanned; longer parts
 * are scanned up to the bound and counted as sensitive.truncated.
 */
#ifndef APISENSOR_INVENTORY_SENSITIVE_H
#define APISENSOR_INVENTORY_SENSITIVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/strview.h"
#include "parse/json_fields.h"
#include "parse/transaction.h"

/* X(id, name as written in "sensitive_data" and "data_types") */
#define SENSITIVE_TYPE_LIST(X)                                                                     \
    X(EMAIL, "email")                                                                              \
    X(CREDIT_CARD, "credit_card")                                                                  \
    X(SSN, "ssn")                                                                                  \
    X(IBAN, "iban")                                                                                \
    X(PHONE, "phone")                                                                              \
    X(PASSWORD, "password")                                                                        \
    X(PASSWORD_HASH, "password_hash")                                                              \
    X(JWT, "jwt")                                                                                  \
    X(API_KEY, "api_key")                                                                          \
    X(ACCESS_TOKEN, "access_token")                                                                \
    X(PRIVATE_KEY, "private_key")

typedef enum {
#define SENSITIVE_TYPE_ENUM(id, name) SENSITIVE_##id,
    SENSITIVE_TYPE_LIST(SENSITIVE_TYPE_ENUM)
#undef SENSITIVE_TYPE_ENUM
        SENSITIVE_TYPE_COUNT
} sensitive_type;

#define SENSITIVE_BIT(type) (1u << (type))

/* X(id, name as written in "sensitive_data") */
#define SENSITIVE_LOCATION_LIST(X)                                                                 \
    X(REQUEST_BODY, "request_body")                                                                \
    X(REQUEST_HEADERS, "request_headers")                                                          \
    X(QUERY, "query")                                                                              \
    X(RESPONSE_BODY, "response_body")

typedef enum {
#define SENSITIVE_LOCATION_ENUM(id, name) SENSITIVE_IN_##id,
    SENSITIVE_LOCATION_LIST(SENSITIVE_LOCATION_ENUM)
#undef SENSITIVE_LOCATION_ENUM
        SENSITIVE_LOCATION_COUNT
} sensitive_location;

const char *sensitive_type_name(sensitive_type type);
const char *sensitive_location_name(sensitive_location location);

/* Longest masked sample, with its NUL. */
#define SENSITIVE_SAMPLE_MAX 48

/* What one message part carries. Caller-owned; a scan adds to it (so one
 * struct can collect several parts), sensitive_found_clear empties it. */
typedef struct sensitive_found {
    uint32_t types;     /* SENSITIVE_BIT(type) for every type found */
    uint32_t truncated; /* 1 when a part was longer than sensitive_scan_bytes */
    uint32_t hints;     /* SENSITIVE_HINT_* of a body part */
    /* Masked sample of the first value of each type found, NUL-terminated:
     * "4111********1111", "j***@example.com"; "" for types not found. */
    char sample[SENSITIVE_TYPE_COUNT][SENSITIVE_SAMPLE_MAX];
} sensitive_found;

/* What a body scan saw besides types, for callers that would otherwise
 * walk the same body again: every byte of it went through the triggers
 * (not cut, not skipped, not form-decoded), and a field-name trigger or a
 * JWT-shaped value ("eyJ") matched. A JSON body that was scanned whole
 * without CREDENTIAL has no member named like a password, secret, token,
 * API key or JWT and no JWT value. */
#define SENSITIVE_HINT_SCANNED 1u
#define SENSITIVE_HINT_CREDENTIAL 2u

static inline void sensitive_found_clear(sensitive_found *found) {
    found->types = 0;
    found->truncated = 0;
    found->hints = 0;
    for (int i = 0; i < SENSITIVE_TYPE_COUNT; i++)
        found->sample[i][0] = '\0';
}

/* Per-worker counters. */
typedef struct sensitive_stats {
    uint64_t parts;      /* message parts scanned */
    uint64_t bytes;      /* bytes scanned */
    uint64_t truncated;  /* parts cut at sensitive_scan_bytes */
    uint64_t candidates; /* triggers handed to validators */
    uint64_t json_walks; /* JSON bodies walked for named values (a field-name trigger hit) */
    uint64_t found[SENSITIVE_TYPE_COUNT];
} sensitive_stats;

/* The compiled database: immutable, shared by all workers. */
typedef struct sensitive_db sensitive_db;

/* Compiles the database (tens of milliseconds: once at startup). AS_ERR_UNSUPPORTED
 * when the CPU lacks what Hyperscan needs (SSSE3). */
as_status sensitive_db_create(sensitive_db **out);
void sensitive_db_destroy(sensitive_db *db);

/* One per thread; db must outlive it. Uses sensitive_scan_bytes and the
 * json_* limits. */
typedef struct sensitive_worker sensitive_worker;
as_status sensitive_worker_create(const sensitive_db *db, const limits *lim,
                                  sensitive_worker **out);
void sensitive_worker_destroy(sensitive_worker *w);

/* Bytes of any kind: the pattern scan only. */
void sensitive_scan_text(sensitive_worker *w, const uint8_t *data, size_t len,
                         sensitive_found *found);

/* A message body, by its Content-Type (absent: sniffed): JSON gets the
 * pattern scan plus member-name rules, walked with `walker` when given (its
 * field facts are then the body's, readable until its next run) or the
 * worker's own walker; form bodies are decoded pairs; media types that
 * cannot carry text (image/, audio/, video/, font/) are skipped. */
void sensitive_scan_body(sensitive_worker *w, str_view content_type, const uint8_t *data,
                         size_t len, json_fields_walker *walker, sensitive_found *found,
                         anomaly_counters *anomalies);

/* A query string (without the '?'): decoded pairs, names and values. */
void sensitive_scan_query(sensitive_worker *w, const char *query, size_t len,
                          sensitive_found *found);

/* Request or response header fields: "Name: value" text plus header-name
 * rules (Authorization bearer tokens, X-API-Key, ...). */
void sensitive_scan_headers(sensitive_worker *w, const http_header_view *headers, uint32_t count,
                            sensitive_found *found);

/* All four locations of a transaction: found[SENSITIVE_IN_*] are cleared
 * first. The query is the part of tx->uri after '?'. */
void sensitive_scan_transaction(sensitive_worker *w, const http_transaction *tx,
                                sensitive_found found[SENSITIVE_LOCATION_COUNT],
                                anomaly_counters *anomalies);

sensitive_stats sensitive_worker_get_stats(const sensitive_worker *w);

/* Adds the figures of from into into (several workers' scans). */
void sensitive_stats_add(sensitive_stats *into, const sensitive_stats *from);

/* ---------------------------------------------------------------------------
 * Validators, exposed for tests. Each takes the candidate exactly (no
 * surrounding bytes) and returns 1 when it is a value of that type.
 */

/* Luhn check over ASCII digits only. */
int sensitive_luhn_valid(const char *digits, size_t len);
/* A card number: 13-19 digits, optionally grouped by single spaces or
 * dashes, Luhn-valid, of a known issuer range and length. */
int sensitive_card_valid(const char *text, size_t len);
/* AAA-GG-SSSS with area not 000/666/9xx, group not 00, serial not 0000. */
int sensitive_ssn_valid(const char *text, size_t len);
/* An IBAN, compact or in groups of four: known country, its length, mod 97 == 1. */
int sensitive_iban_valid(const char *text, size_t len);
/* +CC with a plausible national number, or a North American (NPA) NXX-XXXX. */
int sensitive_phone_valid(const char *text, size_t len);
/* local@domain.tld. */
int sensitive_email_valid(const char *text, size_t len);
/* bcrypt, argon2, sha-crypt ($5$, $6$) or PBKDF2 (Django, passlib). */
int sensitive_password_hash_valid(const char *text, size_t len);
/* header.payload.signature, base64url, header a JSON object with "alg". */
int sensitive_jwt_valid(const char *text, size_t len);

/* Writes the masked form of a value of `type` into out (SENSITIVE_SAMPLE_MAX). */
void sensitive_mask(sensitive_type type, const char *value, size_t len,
                    char out[SENSITIVE_SAMPLE_MAX]);

#endif
