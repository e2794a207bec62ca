/*
 * HTTP/1.x engine: llhttp over reassembled TCP streams, one session per flow.
 *
 * Ownership. The engine owns every session, message record and body decoder.
 * Sessions live in an array indexed by flow slot (mapped lazily, so memory
 * follows the slots that carried data, and a session's address is known
 * before it is read); records, body buffers and decoders come from recycled
 * pools, so steady-state parsing allocates nothing.
 * Records (each with room for a typical head and field list) and body
 * buffers of the kept size classes are carved from large chunks mapped with
 * bigmem (huge-page advised): the pools grow to the peak in use and give
 * nothing back one object at a time, so whole chunks serve them and the
 * first use of a pooled object does not fault in 4 KiB pages one by one.
 * Heads and field lists that outgrow their room, and larger body buffers,
 * come from malloc and are freed when their record goes back to the pool.
 * A session (per flow slot) owns one llhttp parser per direction, the
 * message being parsed in each direction and the FIFO of requests waiting
 * for their response. A message record owns a copy of its head (start-line
 * parts and header fields, bounded by http_head_bytes), the spans into it and
 * the captured body prefix. Bodies are never copied beyond the capture bound;
 * llhttp runs directly over the chunk bytes.
 *
 * Direction states. A direction starts in SCAN with its first byte as a
 * candidate: a candidate (stream start, segment start, line start, byte after
 * a gap) that begins like a request/status line starts a tentative parse;
 * the message is committed once its start line is complete. A tentative parse
 * that fails is dropped silently and scanning goes on (junk never becomes a
 * transaction); a committed message that fails is malformed. TLS records,
 * SSH banners and the HTTP/2 preface at a stream start stop the flow.
 *
 * Pairing. A request enters the FIFO when committed (so the response parser
 * knows its method); a final response binds to the oldest unanswered request
 * when its status line is complete; 1xx interim responses only count. A
 * transaction is emitted from the FIFO head once both its messages are done,
 * so transactions leave in request order.
 *
 * Laziness. http_engine_feed() records a data chunk; http_engine_next()
 * parses it until a transaction is ready (llhttp is paused from
 * on_message_complete) and returns it. Ready transactions wait in a bounded
 * ring; the records of the last one returned are recycled at the next call.
 */
#define _GNU_SOURCE /* memmem */
#include "http1.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/bigmem.h"
#include "http_body.h"
#include "llhttp.h"

/* Under AddressSanitizer every carved object is followed by a poisoned
 * cache line, so an overflow into the next object is still caught. */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define HTTP1_REDZONE_BYTES 64u
#else
#define HTTP1_REDZONE_BYTES 0u
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#endif

/* Room beyond http_head_bytes where Host, Content-Type and Content-Encoding
 * are still stored when the head is full: pairing and inventory need them. */
#define HTTP1_HEAD_RESERVE_BYTES 4096
/* Longest value kept for one of those key headers inside the reserve. */
#define HTTP1_KEY_VALUE_BYTES 1024
/* Header names are also copied here to recognise key headers. */
#define HTTP1_NAME_PROBE_BYTES 32
#define HTTP1_HEAD_INITIAL_BYTES 512
/* Pooled records and body buffers are carved from chunks of this size. */
#define HTTP1_CHUNK_BYTES (2u * 1024u * 1024u)
/* Body buffers come in power-of-two size classes from 1 KiB; a record takes
 * one when its body starts (sized by Content-Length when known) and gives it
 * back with the record, so messages without a body hold none. */
#define HTTP1_BODY_MIN_SHIFT 10
#define HTTP1_BODY_CLASSES 32
#define HTTP1_FIELDS_INITIAL 16
/* Pool caches keep idle objects for reuse: as many as were ever in use at
 * once (so a steady load allocates nothing), at least these. The peak is
 * bounded by the flow slots and the pipeline depth. (Sessions need no pool:
 * they live in an array indexed by flow slot.) */
#define HTTP1_POOL_DECODERS 64
/* A head or body buffer larger than this is freed when its record goes back
 * to the pool, so one huge message does not pin memory. */
#define HTTP1_KEEP_HEAD_BYTES 16384
#define HTTP1_KEEP_BODY_BYTES 65536
/* Ready transactions beyond twice the pipeline depth (only reachable when the
 * caller feeds without draining) are dropped and counted. */
#define HTTP1_READY_EXTRA 16

#define HTTP1_SPAN_ABSENT UINT32_MAX

typedef struct http_span {
    uint32_t off; /* into the record's head; HTTP1_SPAN_ABSENT = absent */
    uint32_t len;
} http_span;

typedef struct http_field {
    http_span name, value;
} http_field;

/* The start-line part or header token being accumulated into the head,
 * while a message's head is parsed (so an idle connection holds none). */
typedef struct http_acc {
    uint32_t start;         /* head offset where the span began */
    uint32_t name_total;    /* bytes of the header name being accumulated */
    http_span name;         /* the completed name of the field whose value comes */
    uint8_t kind;           /* ACC_* */
    uint8_t key;            /* KEY_* of the field whose value comes */
    uint8_t field_dropped;  /* the field whose value comes is not stored */
    uint8_t name_probe_len; /* bytes in name_probe */
    char name_probe[HTTP1_NAME_PROBE_BYTES];
} http_acc;

/* One HTTP message (request or response) and what was learnt about it. */
typedef struct http_rec {
    struct http_rec *next;     /* pool free list, or the request FIFO */
    struct http_rec *response; /* requests: the bound final response, or NULL */
    char *head;                /* start-line parts and header bytes */
    uint32_t head_len, head_cap;
    http_field *fields; /* header fields in wire order */
    uint32_t field_count, field_cap;
    uint8_t *body; /* captured (or decoded) body prefix; NULL until the body starts */
    uint32_t body_len, body_cap;
    uint8_t body_class;         /* size class of the body buffer: 1 KiB << body_class bytes */
    http_body_decoder *decoder; /* while decoding this body; NULL otherwise */
    http_span uri, reason, host, content_type, content_encoding;
    uint64_t first_ts_ns, last_ts_ns;
    uint64_t body_bytes; /* entity-body bytes on the wire, gap bytes included */
    uint32_t flags;      /* TX_FLAG_* of this message */
    uint16_t status;
    uint16_t interim_count; /* requests: 1xx responses seen before the final one */
    uint8_t method;         /* requests: llhttp_method */
    uint8_t request_method; /* responses: method of the bound request; 0xff = none */
    uint8_t major, minor;
    uint8_t is_request;
    uint8_t done;         /* complete or cut: nothing more is added */
    uint8_t body_known;   /* body_bytes is exact */
    uint8_t no_response;  /* requests: no response will be paired */
    uint8_t orphan;       /* responses: no request to pair with */
    uint8_t interim;      /* responses: 1xx other than 101 */
    uint8_t capturing;    /* body bytes still go to body (raw or decoded) */
    uint8_t body_decoded; /* body holds content-decoded bytes */
    uint8_t phantom;      /* requests: stands for a request lost to the capture */
    http_acc acc;         /* while the head is parsed */
    /* initial room of head and fields; larger ones are malloc'd */
    char head_room[HTTP1_HEAD_INITIAL_BYTES];
    http_field fields_room[HTTP1_FIELDS_INITIAL];
} http_rec;

/* Requests flow to the server unless the flow table guessed the roles wrong
 * (a picked-up connection whose server has the higher port): then the
 * session swaps them. */
enum { ROLE_REQUESTS, ROLE_RESPONSES };
enum { MODE_SCAN, MODE_PARSE, MODE_WAIT_GAP, MODE_CLOSED };
enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };
enum { ACC_NONE, ACC_URL, ACC_REASON, ACC_NAME, ACC_VALUE };
enum { KEY_NONE, KEY_HOST, KEY_CONTENT_TYPE, KEY_CONTENT_ENCODING };

typedef struct http_dir {
    llhttp_t parser;        /* first: the callbacks' llhttp_t is the direction */
    http_rec *rec;          /* message being parsed; NULL between messages */
    uint64_t ts_ns;         /* time of the chunk being parsed */
    uint64_t scanned;       /* bytes passed over in this scan episode */
    uint32_t pending_flags; /* flags for the next message to begin here */
    uint8_t role;           /* ROLE_*: what this direction carries */
    uint8_t mode;           /* MODE_* */
    uint8_t started;        /* a byte or gap was seen in this direction */
    uint8_t candidate;      /* scanning: the current position may start a message */
    uint8_t tentative;      /* parsing from a scan candidate, start line not yet complete */
    uint8_t committed;      /* the current message's start line is complete */
    uint8_t resync;         /* the next committed message was found by scanning */
    uint8_t fin;            /* FIN seen */
    uint8_t pickup;         /* the stream began mid-message: not yet resolved */
    uint8_t head_done;      /* the current message's headers are complete */
    uint8_t body_mode;      /* BODY_* of the current message */
    uint8_t in_chunk;       /* chunked: inside chunk data, remaining size in content_length */
} http_dir;

/* One per flow slot. A slot holds an open session (live), or remembers the
 * flow it gave up on, or nothing. */
typedef struct http_session {
    uint64_t serial; /* live: the flow's; else the flow given up on, 0 = none */
    ip_address client_ip, server_ip;
    uint16_t client_port, server_port;
    http_dir dir[2];           /* per flow_direction */
    http_rec *fifo_head;       /* requests in order, oldest first */
    http_rec *fifo_tail;       /* last request */
    http_rec *unanswered;      /* oldest request without a response; later ones too */
    uint32_t unanswered_count; /* requests from unanswered to the tail */
    uint32_t messages;         /* messages committed, both directions */
    uint8_t stopping;          /* a tunnel or upgrade ended HTTP: stop after the emission */
    uint8_t swapped;           /* requests flow to the flow's client side */
    uint8_t live;              /* the session of flow `serial` is open */
} http_session;

/* Every flow slot has a session: with the flow (512 B) it must stay within
 * the 1 KiB per idle tracked flow of DESIGN.md (docs/configuration.md). */
_Static_assert(sizeof(http_session) <= 384, "an HTTP session outgrew its share of a flow slot");

/* A transaction waiting for http_engine_next(). */
typedef struct http_ready {
    http_rec *request, *response;
    uint64_t flow_serial;
    ip_address client_ip, server_ip;
    uint16_t client_port, server_port;
} http_ready;

/* A data chunk being parsed lazily by http_engine_next(). */
typedef struct http_job {
    int active;
    http_session *session;
    uint8_t dir;
    uint32_t end_flags; /* TCP_CHUNK_FIN / TCP_CHUNK_RST to apply after the data */
    const uint8_t *data;
    uint32_t len, pos;
    anomaly_counters *anomalies;
} http_job;

struct http_engine {
    limits lim;
    uint32_t slot_count;
    http_session *sessions; /* per flow slot; memory is touched when a slot is first used */
    uint32_t slots_used;    /* slots below this ever held a session */
    llhttp_settings_t settings;
    http_ready *ready;
    uint32_t ready_cap, ready_head, ready_count;
    http_ready emitted; /* the transaction last returned; recycled at the next call */
    int has_emitted;
    http_header_view *views[2]; /* header views of the returned transaction, per side */
    http_job job;
    int drain_all;               /* parse without stopping at ready transactions */
    anomaly_counters *anomalies; /* of the call in progress */
    char *chunk;                 /* chunk being carved; chunks link through their first bytes */
    uint32_t chunk_used;         /* bytes of chunk carved */
    http_rec *free_recs;         /* pool */
    uint64_t rec_bytes_live;     /* bytes held by records outside the pool */
    void *free_bodies[HTTP1_BODY_CLASSES]; /* idle body buffers per size class, linked */
    http_body_decoder *free_decoders[HTTP1_POOL_DECODERS];
    uint32_t free_decoder_count;
    http_engine_stats stats;
};

/* ---------------------------------------------------------------- first bytes */

static const char *const http1_methods[] = {
    "GET",         "POST",       "PUT",        "DELETE", "HEAD",     "OPTIONS", "PATCH",
    "CONNECT",     "TRACE",      "COPY",       "LOCK",   "MKCOL",    "MOVE",    "PROPFIND",
    "PROPPATCH",   "SEARCH",     "UNLOCK",     "BIND",   "REBIND",   "UNBIND",  "ACL",
    "REPORT",      "MKACTIVITY", "CHECKOUT",   "MERGE",  "M-SEARCH", "NOTIFY",  "SUBSCRIBE",
    "UNSUBSCRIBE", "PURGE",      "MKCALENDAR", "LINK",   "UNLINK",   "SOURCE",
};

enum { MATCH_NO, MATCH_MAYBE, MATCH_YES };

/* Compares data with text over min(len, strlen(text)) bytes: MATCH_NO, MAYBE
 * (data is a proper prefix of text) or YES (text is a prefix of data). */
static int match_prefix(const uint8_t *data, uint32_t len, const char *text, uint32_t text_len) {
    uint32_t n = len < text_len ? len : text_len;
    if (memcmp(data, text, n) != 0)
        return MATCH_NO;
    return len < text_len ? MATCH_MAYBE : MATCH_YES;
}

/* "METHOD " at data: the length of the method and SP, 0 (MATCH_MAYBE: a
 * prefix of one) or -1 (no method). */
static int match_method(const uint8_t *data, uint32_t len) {
    if (len == 0)
        return 0;
    if (data[0] < 'A' || data[0] > 'U')
        return -1;
    int maybe = 0;
    for (size_t i = 0; i < sizeof http1_methods / sizeof http1_methods[0]; i++) {
        const char *m = http1_methods[i];
        uint32_t m_len = (uint32_t)strlen(m);
        int r = match_prefix(data, len, m, m_len);
        if (r == MATCH_MAYBE) {
            maybe = 1;
        } else if (r == MATCH_YES) {
            if (len == m_len)
                maybe = 1;
            else if (data[m_len] == ' ')
                return (int)m_len + 1;
        }
    }
    return maybe ? 0 : -1;
}

static int is_token_char(uint8_t c) {
    return c > 0x20 && c != 0x7f;
}

/* Request line "METHOD SP target SP HTTP/1.d (CR|LF)" or a prefix of one. */
static int match_request_line(const uint8_t *data, uint32_t len) {
    int m = match_method(data, len);
    if (m < 0)
        return MATCH_NO;
    if (m == 0)
        return MATCH_MAYBE;
    uint32_t pos = (uint32_t)m;
    uint32_t target = pos;
    while (pos < len && is_token_char(data[pos]))
        pos++;
    if (pos == len)
        return MATCH_MAYBE;
    if (pos == target || data[pos] != ' ')
        return MATCH_NO;
    pos++;
    int r = match_prefix(data + pos, len - pos, "HTTP/1.", 7);
    if (r != MATCH_YES)
        return r;
    pos += 7;
    if (pos == len)
        return MATCH_MAYBE;
    if (data[pos] < '0' || data[pos] > '9')
        return MATCH_NO;
    pos++;
    if (pos == len)
        return MATCH_MAYBE;
    return data[pos] == '\r' || data[pos] == '\n' ? MATCH_YES : MATCH_NO;
}

/* Status line "HTTP/1.d SP ddd (SP|CR|LF)" or a prefix of one. */
static int match_status_line(const uint8_t *data, uint32_t len) {
    int r = match_prefix(data, len, "HTTP/1.", 7);
    if (r != MATCH_YES)
        return r;
    /* "HTTP/1." then the minor digit (7), SP (8), the status (9-11), an end (12). */
    for (uint32_t pos = 7; pos < 12; pos++) {
        if (pos == len)
            return MATCH_MAYBE;
        uint8_t c = data[pos];
        int ok = pos == 8 ? c == ' ' : (c >= '0' && c <= '9');
        if (!ok)
            return MATCH_NO;
    }
    if (len == 12)
        return MATCH_MAYBE;
    uint8_t c = data[12];
    return c == ' ' || c == '\r' || c == '\n' ? MATCH_YES : MATCH_NO;
}

int http1_looks_like_request(const uint8_t *data, uint32_t len) {
    return data && len > 0 && match_request_line(data, len) != MATCH_NO;
}

int http1_looks_like_response(const uint8_t *data, uint32_t len) {
    return data && len > 0 && match_status_line(data, len) != MATCH_NO;
}

/* A scan candidate worth a tentative parse: the start of "METHOD " or "HTTP/1.". */
static int candidate_plausible(const http_dir *dir, const uint8_t *data, uint32_t len) {
    if (dir->role == ROLE_REQUESTS)
        return match_method(data, len) >= 0;
    return match_prefix(data, len, "HTTP/1.", 7) != MATCH_NO;
}

/* A method name or "HTTP/" at data: a broken message rather than the middle
 * of one. */
static int starts_like_message(const http_dir *dir, const uint8_t *data, uint32_t len) {
    if (dir->role == ROLE_RESPONSES)
        return match_prefix(data, len, "HTTP/", 5) == MATCH_YES;
    for (size_t i = 0; i < sizeof http1_methods / sizeof http1_methods[0]; i++) {
        uint32_t m_len = (uint32_t)strlen(http1_methods[i]);
        if (match_prefix(data, len, http1_methods[i], m_len) == MATCH_YES)
            return 1;
    }
    return 0;
}

/* First bytes of a stream that prove another protocol. */
static int stream_is_other_protocol(const uint8_t *data, uint32_t len) {
    if (data[0] == 0x16 && (len < 2 || data[1] == 0x03))
        return 1; /* TLS handshake record */
    if (len >= 4 && memcmp(data, "SSH-", 4) == 0)
        return 1;
    if (len >= 8 && memcmp(data, "PRI * HT", 8) == 0)
        return 1; /* HTTP/2 connection preface */
    return 0;
}

/* A direction's engine: llhttp keeps the settings its parser was given,
 * and every parser of an engine is given the engine's own. */
static http_engine *dir_engine(const http_dir *dir) {
    return (http_engine *)(void *)((char *)dir->parser.settings - offsetof(http_engine, settings));
}

/* A direction's session: sessions live in the engine's array. */
static http_session *dir_session(const http_dir *dir) {
    http_engine *e = dir_engine(dir);
    size_t at = (size_t)((const char *)dir - (const char *)e->sessions);
    return &e->sessions[at / sizeof(http_session)];
}

static http_engine *session_engine(const http_session *s) {
    return dir_engine(&s->dir[0]);
}

/* ---------------------------------------------------------------- pools */

static int head_is_room(const http_rec *rec) {
    return rec->head == rec->head_room;
}

static int fields_are_room(const http_rec *rec) {
    return rec->fields == rec->fields_room;
}

static uint64_t rec_size(const http_rec *rec) {
    uint64_t size = sizeof *rec + rec->body_cap;
    if (!head_is_room(rec))
        size += rec->head_cap;
    if (!fields_are_room(rec))
        size += (uint64_t)rec->field_cap * sizeof(http_field);
    return size;
}

/* Carves bytes (a multiple of 64) from the current chunk, mapping a new
 * one when it is used up; NULL when no memory is left. */
static void *chunk_carve(http_engine *e, uint32_t bytes) {
    if (!e->chunk || e->chunk_used + bytes + HTTP1_REDZONE_BYTES > HTTP1_CHUNK_BYTES) {
        char *chunk = bigmem_alloc(HTTP1_CHUNK_BYTES);
        if (!chunk)
            return NULL;
        memcpy(chunk, &e->chunk, sizeof e->chunk);
        e->chunk = chunk;
        e->chunk_used = 64; /* the link to the previous chunk, a cache line apart */
    }
    void *carved = e->chunk + e->chunk_used;
    e->chunk_used += bytes;
    ASAN_POISON_MEMORY_REGION(e->chunk + e->chunk_used, HTTP1_REDZONE_BYTES);
    e->chunk_used += HTTP1_REDZONE_BYTES;
    return carved;
}

static void decoder_put(http_engine *e, http_body_decoder *d) {
    if (!d)
        return;
    http_body_decoder_finish(d);
    if (e->free_decoder_count < HTTP1_POOL_DECODERS)
        e->free_decoders[e->free_decoder_count++] = d;
    else
        http_body_decoder_destroy(d);
}

static http_body_decoder *decoder_get(http_engine *e) {
    if (e->free_decoder_count > 0)
        return e->free_decoders[--e->free_decoder_count];
    http_body_decoder *d = NULL;
    if (http_body_decoder_create(&d) != AS_OK)
        return NULL;
    return d;
}

static size_t body_class_bytes(unsigned body_class) {
    return (size_t)1 << (body_class + HTTP1_BODY_MIN_SHIFT);
}

/* The smallest size class holding `bytes`. */
static unsigned body_class_of(uint64_t bytes) {
    unsigned body_class = 0;
    while (body_class + 1 < HTTP1_BODY_CLASSES && body_class_bytes(body_class) < bytes)
        body_class++;
    return body_class;
}

static uint8_t *body_buffer_get(http_engine *e, unsigned body_class) {
    void *buffer = e->free_bodies[body_class];
    if (!buffer && body_class_bytes(body_class) > HTTP1_KEEP_BODY_BYTES)
        return malloc(body_class_bytes(body_class));
    if (!buffer)
        return chunk_carve(e, (uint32_t)body_class_bytes(body_class));
    memcpy(&e->free_bodies[body_class], buffer, sizeof(void *));
    return buffer;
}

/* Idle buffers are as many as were in use at once in their class. */
static void body_buffer_put(http_engine *e, uint8_t *buffer, unsigned body_class) {
    if (!buffer)
        return;
    if (body_class_bytes(body_class) > HTTP1_KEEP_BODY_BYTES) {
        free(buffer);
        return;
    }
    memcpy(buffer, &e->free_bodies[body_class], sizeof(void *));
    e->free_bodies[body_class] = buffer;
}

/* Frees what a pooled record holds beyond its carved memory. */
static void rec_free_extra(http_rec *rec) {
    if (!head_is_room(rec))
        free(rec->head);
    if (!fields_are_room(rec))
        free(rec->fields);
}

static void rec_put(http_engine *e, http_rec *rec) {
    if (!rec)
        return;
    e->rec_bytes_live -= rec_size(rec);
    decoder_put(e, rec->decoder);
    rec->decoder = NULL;
    body_buffer_put(e, rec->body, rec->body_class);
    rec->body = NULL;
    rec->body_cap = 0;
    if (rec->head_cap > HTTP1_KEEP_HEAD_BYTES) {
        free(rec->head);
        rec->head = rec->head_room;
        rec->head_cap = HTTP1_HEAD_INITIAL_BYTES;
    }
    rec->next = e->free_recs;
    e->free_recs = rec;
}

static http_rec *rec_get(http_engine *e, int is_request, uint64_t ts_ns) {
    http_rec *rec = e->free_recs;
    if (rec) {
        e->free_recs = rec->next;
    } else {
        rec = chunk_carve(e, (uint32_t)((sizeof *rec + 63) / 64 * 64));
        if (!rec)
            return NULL;
        rec->head = rec->head_room;
        rec->head_cap = HTTP1_HEAD_INITIAL_BYTES;
        rec->fields = rec->fields_room;
        rec->field_cap = HTTP1_FIELDS_INITIAL;
    }
    char *head = rec->head;
    uint32_t head_cap = rec->head_cap;
    http_field *fields = rec->fields;
    uint32_t field_cap = rec->field_cap;
    memset(rec, 0, offsetof(http_rec, head_room));
    rec->head = head;
    rec->head_cap = head_cap;
    rec->fields = fields;
    rec->field_cap = field_cap;
    rec->uri.off = rec->reason.off = rec->host.off = HTTP1_SPAN_ABSENT;
    rec->content_type.off = rec->content_encoding.off = HTTP1_SPAN_ABSENT;
    rec->request_method = 0xff;
    rec->is_request = (uint8_t)is_request;
    rec->first_ts_ns = rec->last_ts_ns = ts_ns;
    e->rec_bytes_live += rec_size(rec);
    return rec;
}

static void count(http_engine *e, anomaly_id id) {
    anomaly_count(e->anomalies, id);
}

/* 1 when the messages in flight may hold `more` bytes without passing
 * http_memory_bytes; else counts the refusal. */
static int memory_allows(http_engine *e, uint64_t more) {
    if (e->rec_bytes_live + more <= (uint64_t)e->lim.http_memory_bytes)
        return 1;
    count(e, ANOMALY_HTTP_MEMORY_LIMIT);
    return 0;
}

/* ---------------------------------------------------------------- head storage */

/* Grows the head buffer so that it holds `need` bytes (bounded by the caller). */
static int head_grow(http_engine *e, http_rec *rec, uint64_t need) {
    if (need <= rec->head_cap)
        return 1;
    uint64_t ceiling = (uint64_t)e->lim.http_head_bytes + HTTP1_HEAD_RESERVE_BYTES;
    uint64_t cap = rec->head_cap ? rec->head_cap : HTTP1_HEAD_INITIAL_BYTES;
    while (cap < need)
        cap *= 2;
    if (cap > ceiling)
        cap = ceiling;
    if (cap < need || !memory_allows(e, head_is_room(rec) ? cap : cap - rec->head_cap))
        return 0;
    char *grown = head_is_room(rec) ? malloc(cap) : realloc(rec->head, cap);
    if (!grown)
        return 0;
    if (head_is_room(rec)) {
        memcpy(grown, rec->head, rec->head_len);
        e->rec_bytes_live += cap;
    } else {
        e->rec_bytes_live += cap - rec->head_cap;
    }
    rec->head = grown;
    rec->head_cap = (uint32_t)cap;
    return 1;
}

static void head_truncated(http_engine *e, http_rec *rec) {
    if (!(rec->flags & TX_FLAG_HEAD_TRUNCATED)) {
        rec->flags |= TX_FLAG_HEAD_TRUNCATED;
        count(e, ANOMALY_HTTP_HEAD_TRUNCATED);
    }
}

/* Appends bytes to the head up to `limit` total; flags what does not fit. */
static void head_append(http_engine *e, http_rec *rec, const char *at, size_t len, uint64_t limit) {
    uint64_t room = limit > rec->head_len ? limit - rec->head_len : 0;
    size_t take = len < room ? len : (size_t)room;
    if (take > 0 && !head_grow(e, rec, (uint64_t)rec->head_len + take))
        take = rec->head_cap - rec->head_len;
    if (take > 0) {
        memcpy(rec->head + rec->head_len, at, take);
        rec->head_len += (uint32_t)take;
    }
    if (take < len)
        head_truncated(e, rec);
}

static int name_is(const http_acc *acc, const char *name) {
    size_t len = strlen(name);
    if (acc->name_total != len || acc->name_probe_len != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = acc->name_probe[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != name[i])
            return 0;
    }
    return 1;
}

static int name_key(const http_acc *acc) {
    if (name_is(acc, "host"))
        return KEY_HOST;
    if (name_is(acc, "content-type"))
        return KEY_CONTENT_TYPE;
    if (name_is(acc, "content-encoding"))
        return KEY_CONTENT_ENCODING;
    return KEY_NONE;
}

/* Accumulates a piece of a start-line part or header token. */
static void acc_piece(http_dir *dir, int kind, const char *at, size_t len) {
    http_engine *e = dir_engine(dir);
    http_rec *rec = dir->rec;
    if (!rec)
        return;
    rec->last_ts_ns = dir->ts_ns;
    http_acc *acc = &rec->acc;
    if (acc->kind != kind) {
        acc->kind = (uint8_t)kind;
        acc->start = rec->head_len;
        if (kind == ACC_NAME) {
            acc->name_total = 0;
            acc->name_probe_len = 0;
        }
    }
    uint64_t limit = (uint64_t)e->lim.http_head_bytes;
    if (kind == ACC_NAME) {
        for (size_t i = 0; i < len && acc->name_probe_len < HTTP1_NAME_PROBE_BYTES; i++)
            acc->name_probe[acc->name_probe_len++] = at[i];
        acc->name_total += (uint32_t)len;
    } else if (kind == ACC_VALUE) {
        if (acc->field_dropped)
            return;
        if (acc->key != KEY_NONE) {
            uint64_t key_limit = (uint64_t)acc->start + HTTP1_KEY_VALUE_BYTES;
            uint64_t ceiling = limit + HTTP1_HEAD_RESERVE_BYTES;
            if (key_limit > ceiling)
                key_limit = ceiling;
            if (key_limit > limit)
                limit = key_limit;
        }
    }
    head_append(e, rec, at, len, limit);
}

/* The span accumulated so far into rec's head; empty when none. */
static http_span acc_span(const http_rec *rec) {
    http_span span = {rec->head_len, 0};
    if (rec->acc.kind != ACC_NONE) {
        span.off = rec->acc.start;
        span.len = rec->head_len - rec->acc.start;
    }
    return span;
}

/* ---------------------------------------------------------------- ready ring and FIFO */

static void ready_push(http_session *s, http_rec *request, http_rec *response) {
    http_engine *e = session_engine(s);
    if (e->ready_count == e->ready_cap) {
        count(e, ANOMALY_HTTP_TX_QUEUE_FULL);
        rec_put(e, request);
        rec_put(e, response);
        return;
    }
    http_ready *r = &e->ready[(e->ready_head + e->ready_count) % e->ready_cap];
    e->ready_count++;
    r->request = request;
    r->response = response;
    r->flow_serial = s->serial;
    r->client_ip = s->client_ip;
    r->server_ip = s->server_ip;
    r->client_port = s->client_port;
    r->server_port = s->server_port;
}

/* Emits the requests at the FIFO head whose exchange is finished. */
static void fifo_emit(http_session *s) {
    http_rec *req;
    while ((req = s->fifo_head) != NULL) {
        if (!req->done)
            break;
        if (!req->no_response && (!req->response || !req->response->done))
            break;
        s->fifo_head = req->next;
        if (!s->fifo_head)
            s->fifo_tail = NULL;
        req->next = NULL;
        http_rec *resp = req->response;
        req->response = NULL;
        if (req->phantom) {
            /* The request was never seen: its response is an orphan. */
            rec_put(session_engine(s), req);
            if (resp)
                ready_push(s, NULL, resp);
            continue;
        }
        ready_push(s, req, resp);
    }
}

/* The oldest unanswered request will get no response. */
static void fifo_give_up_oldest(http_session *s, uint32_t flags) {
    http_rec *req = s->unanswered;
    if (!req)
        return;
    req->no_response = 1;
    req->flags |= flags;
    s->unanswered = req->next;
    s->unanswered_count--;
    fifo_emit(s);
}

static void fifo_give_up_all(http_session *s, uint32_t flags) {
    for (http_rec *req = s->unanswered; req; req = req->next) {
        req->no_response = 1;
        req->flags |= flags;
    }
    s->unanswered = NULL;
    s->unanswered_count = 0;
    fifo_emit(s);
}

static void fifo_push(http_session *s, http_rec *req) {
    http_engine *e = session_engine(s);
    req->next = NULL;
    if (s->fifo_tail)
        s->fifo_tail->next = req;
    else
        s->fifo_head = req;
    s->fifo_tail = req;
    if (s->dir[s->swapped ? FLOW_TO_SERVER : FLOW_TO_CLIENT].fin) {
        req->no_response = 1; /* the server has closed its side */
        return;
    }
    if (!s->unanswered)
        s->unanswered = req;
    s->unanswered_count++;
    if (s->unanswered_count > (uint64_t)e->lim.http_pipeline_depth) {
        count(e, ANOMALY_HTTP_PIPELINE_FULL);
        fifo_give_up_oldest(s, 0);
    } else if (s->unanswered_count > 1 && !memory_allows(e, 0)) {
        /* past the memory limit a connection keeps one request waiting */
        fifo_give_up_oldest(s, 0);
    }
}

/* A request was lost to the capture (gap, stream picked up mid-request):
 * hold its place so that its response does not answer the next request. */
static void fifo_push_phantom(http_session *s, uint64_t ts_ns) {
    http_engine *e = session_engine(s);
    http_rec *rec = rec_get(e, 1, ts_ns);
    if (!rec) {
        count(e, ANOMALY_HTTP_ALLOC_FAILED);
        return;
    }
    rec->phantom = 1;
    rec->done = 1;
    fifo_push(s, rec);
}

static void bind_response(http_session *s, http_rec *resp) {
    http_rec *req = s->unanswered;
    if (req && req->phantom)
        count(session_engine(s), ANOMALY_HTTP_ORPHAN_RESPONSE);
    if (!req) {
        resp->orphan = 1;
        count(session_engine(s), ANOMALY_HTTP_ORPHAN_RESPONSE);
        return;
    }
    req->response = resp;
    resp->request_method = req->phantom ? 0xff : req->method;
    s->unanswered = req->next;
    s->unanswered_count--;
}

/* ---------------------------------------------------------------- message lifecycle */

static void dir_clear_message(http_dir *dir) {
    dir->rec = NULL;
    dir->committed = 0;
    dir->tentative = 0;
    dir->head_done = 0;
    dir->body_mode = BODY_NONE;
    dir->in_chunk = 0;
}

/* The start line is complete: the message exists. */
static void msg_commit(http_dir *dir) {
    http_session *s = dir_session(dir);
    http_engine *e = session_engine(s);
    http_rec *rec = dir->rec;
    if (dir->committed || !rec)
        return;
    dir->committed = 1;
    dir->tentative = 0;
    dir->pickup = 0;
    dir->scanned = 0;
    rec->major = dir->parser.http_major;
    rec->minor = dir->parser.http_minor;
    if (dir->resync) {
        dir->resync = 0;
        rec->flags |= TX_FLAG_RESYNC;
        count(e, ANOMALY_HTTP_RESYNC);
    }
    if (s->messages++ == 0)
        e->stats.sessions++;
    if (rec->is_request) {
        rec->method = dir->parser.method;
        e->stats.requests++;
        fifo_push(s, rec);
        return;
    }
    rec->status = dir->parser.status_code;
    if (rec->status >= 100 && rec->status < 200 && rec->status != 101) {
        rec->interim = 1;
        return;
    }
    bind_response(s, rec);
}

/* Where a finished (or cut) message goes: the FIFO, the ready ring or the pool. */
static void msg_finished(http_dir *dir, http_rec *rec) {
    http_session *s = dir_session(dir);
    http_engine *e = session_engine(s);
    decoder_put(e, rec->decoder);
    rec->decoder = NULL;
    rec->capturing = 0;
    if (rec->is_request) {
        fifo_emit(s);
        return;
    }
    if (rec->interim) {
        if (s->unanswered)
            s->unanswered->interim_count++;
        e->stats.interim_responses++;
        rec_put(e, rec);
        return;
    }
    e->stats.responses++;
    if (rec->orphan)
        ready_push(s, NULL, rec);
    else
        fifo_emit(s);
}

static void msg_complete(http_dir *dir) {
    http_rec *rec = dir->rec;
    if (!rec)
        return;
    if (!dir->committed)
        msg_commit(dir);
    rec->done = 1;
    rec->body_known = 1;
    rec->last_ts_ns = dir->ts_ns;
    dir_clear_message(dir);
    msg_finished(dir, rec);
}

/* The message in progress ends early. Uncommitted bytes are not a message. */
static void msg_cut(http_dir *dir, uint32_t flags) {
    http_rec *rec = dir->rec;
    if (!rec)
        return;
    int committed = dir->committed;
    dir_clear_message(dir);
    if (!committed) {
        rec_put(dir_engine(dir), rec);
        return;
    }
    rec->flags |= flags;
    rec->done = 1;
    rec->body_known = 0;
    msg_finished(dir, rec);
}

/* ---------------------------------------------------------------- bodies */

static void body_stop(http_rec *rec) {
    rec->capturing = 0;
}

/* A larger body buffer (the next class, or the first one, of at least
 * `want` bytes), up to limit. */
static int body_grow(http_engine *e, http_rec *rec, uint64_t limit, uint64_t want) {
    if (rec->body_cap >= limit)
        return 0;
    unsigned body_class =
        rec->body ? rec->body_class + 1u : body_class_of(want < limit ? want : limit);
    uint64_t cap = body_class_bytes(body_class);
    if (cap > limit)
        cap = limit;
    if (!memory_allows(e, cap - rec->body_cap))
        return 0;
    uint8_t *grown = body_buffer_get(e, body_class);
    if (!grown) {
        count(e, ANOMALY_HTTP_ALLOC_FAILED);
        return 0;
    }
    if (rec->body_len > 0)
        memcpy(grown, rec->body, rec->body_len);
    body_buffer_put(e, rec->body, rec->body_class);
    e->rec_bytes_live += cap - rec->body_cap;
    rec->body = grown;
    rec->body_class = (uint8_t)body_class;
    rec->body_cap = (uint32_t)cap;
    return 1;
}

/* size_hint: body bytes expected from here on (Content-Length), else len. */
static void body_capture_raw(http_engine *e, http_rec *rec, const char *at, size_t len,
                             uint64_t size_hint) {
    uint64_t limit = (uint64_t)e->lim.http_body_capture_bytes;
    while (len > 0 && rec->body_len < limit) {
        if (rec->body_len == rec->body_cap &&
            !body_grow(e, rec, limit, (uint64_t)rec->body_len + size_hint))
            break;
        size_t take = rec->body_cap - rec->body_len;
        if (take > len)
            take = len;
        memcpy(rec->body + rec->body_len, at, take);
        rec->body_len += (uint32_t)take;
        e->stats.body_bytes_captured += take;
        at += take;
        len -= take;
    }
    if (len > 0)
        body_stop(rec);
}

static void body_decode(http_engine *e, http_rec *rec, const char *at, size_t len) {
    uint64_t limit = (uint64_t)e->lim.http_decoded_body_bytes;
    const uint8_t *in = (const uint8_t *)at;
    for (;;) {
        size_t consumed = 0, out_len = rec->body_len;
        as_status st = http_body_decoder_feed(rec->decoder, in, len, &consumed, rec->body,
                                              rec->body_cap, &out_len);
        e->stats.body_bytes_decoded += out_len - rec->body_len;
        rec->body_len = (uint32_t)out_len;
        in += consumed;
        len -= consumed;
        if (st == AS_OK)
            return;
        if (st == AS_NEED_MORE && body_grow(e, rec, limit, 0))
            continue;
        if (st == AS_DONE && http_body_decoder_truncated(rec->decoder))
            rec->flags |= TX_FLAG_BODY_TRUNCATED;
        else if (st == AS_ERR_FORMAT) {
            rec->flags |= TX_FLAG_DECODE_ERROR;
            count(e, ANOMALY_HTTP_DECODE_ERROR);
        } else if (st == AS_ERR_LIMIT) {
            rec->flags |= TX_FLAG_BODY_TRUNCATED;
            count(e, ANOMALY_HTTP_DECODE_RATIO);
        } else if (st != AS_DONE) {
            rec->flags |= TX_FLAG_BODY_TRUNCATED;
        }
        body_stop(rec);
        decoder_put(e, rec->decoder);
        rec->decoder = NULL;
        return;
    }
}

/* Body framing and capture are decided when the head is complete. */
static void body_setup(http_dir *dir, http_rec *rec) {
    http_engine *e = dir_engine(dir);
    llhttp_t *p = &dir->parser;
    if (p->flags & F_CHUNKED)
        dir->body_mode = BODY_CHUNKED;
    else if (p->flags & F_TRANSFER_ENCODING)
        dir->body_mode = BODY_EOF;
    else if (p->flags & F_CONTENT_LENGTH)
        dir->body_mode = p->content_length > 0 ? BODY_LENGTH : BODY_NONE;
    else if (!rec->is_request && llhttp_message_needs_eof(p))
        dir->body_mode = BODY_EOF;
    else
        dir->body_mode = BODY_NONE;
    if (dir->body_mode == BODY_NONE || e->lim.http_body_capture_bytes <= 0)
        return;
    rec->capturing = 1;
    if (rec->content_encoding.off == HTTP1_SPAN_ABSENT || e->lim.http_decoded_body_bytes <= 0)
        return;
    http_coding coding =
        http_body_coding(rec->head + rec->content_encoding.off, rec->content_encoding.len);
    if (coding == HTTP_CODING_NONE || coding == HTTP_CODING_UNSUPPORTED)
        return;
    http_body_decoder *d = decoder_get(e);
    if (!d) {
        count(e, ANOMALY_HTTP_ALLOC_FAILED);
        return;
    }
    if (http_body_decoder_start(d, coding, (uint64_t)e->lim.http_decoded_body_bytes,
                                (uint64_t)e->lim.http_decompression_ratio) != AS_OK) {
        decoder_put(e, d);
        count(e, ANOMALY_HTTP_ALLOC_FAILED);
        return;
    }
    rec->decoder = d;
    rec->body_decoded = 1;
}

/* ---------------------------------------------------------------- llhttp callbacks */

static int on_message_begin(llhttp_t *p) {
    http_dir *dir = p->data;
    http_engine *e = dir_engine(dir);
    int tentative = dir->tentative;
    if (dir->rec)
        rec_put(e, dir->rec);
    dir_clear_message(dir);
    dir->tentative = (uint8_t)tentative;
    http_rec *rec = rec_get(e, dir->role == ROLE_REQUESTS, dir->ts_ns);
    if (!rec) {
        count(e, ANOMALY_HTTP_ALLOC_FAILED);
        return -1;
    }
    rec->flags = dir->pending_flags;
    dir->pending_flags = 0;
    dir->rec = rec;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
    acc_piece(p->data, ACC_URL, at, len);
    return 0;
}

static int on_url_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    http_rec *rec = dir->rec;
    if (rec) {
        rec->uri = acc_span(rec);
        rec->acc.kind = ACC_NONE;
    }
    return 0;
}

static int on_version_complete(llhttp_t *p) {
    /* HTTP/1.x only: 0.9 and 2.0 are other protocols to this engine. */
    return p->http_major == 1 ? 0 : -1;
}

static int on_status(llhttp_t *p, const char *at, size_t len) {
    acc_piece(p->data, ACC_REASON, at, len);
    return 0;
}

static int on_status_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    if (!dir->rec)
        return 0;
    if (dir->rec->acc.kind == ACC_REASON)
        dir->rec->reason = acc_span(dir->rec);
    dir->rec->acc.kind = ACC_NONE;
    msg_commit(dir);
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
    http_dir *dir = p->data;
    if (!dir->committed)
        msg_commit(dir);
    if (dir->head_done)
        return 0; /* trailer fields are not kept */
    acc_piece(dir, ACC_NAME, at, len);
    return 0;
}

static int on_header_field_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    http_rec *rec = dir->rec;
    if (dir->head_done || !rec)
        return 0;
    http_engine *e = dir_engine(dir);
    http_acc *acc = &rec->acc;
    acc->name = acc_span(rec);
    acc->key = (uint8_t)name_key(acc);
    acc->field_dropped = 0;
    if (acc->name.len < acc->name_total) {
        /* The name did not fit: keep only key fields, rebuilt in the reserve. */
        rec->head_len = acc->name.off;
        if (acc->key == KEY_NONE) {
            acc->field_dropped = 1;
        } else {
            uint64_t ceiling = (uint64_t)e->lim.http_head_bytes + HTTP1_HEAD_RESERVE_BYTES;
            acc->name.off = rec->head_len;
            head_append(e, rec, acc->name_probe, acc->name_probe_len, ceiling);
            acc->name.len = rec->head_len - acc->name.off;
            if (acc->name.len < acc->name_probe_len)
                acc->field_dropped = 1;
        }
    }
    acc->kind = ACC_NONE;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
    http_dir *dir = p->data;
    if (dir->head_done)
        return 0;
    acc_piece(dir, ACC_VALUE, at, len);
    return 0;
}

static int on_header_value_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    http_rec *rec = dir->rec;
    if (dir->head_done || !rec)
        return 0;
    http_engine *e = dir_engine(dir);
    http_acc *acc = &rec->acc;
    http_span value = acc_span(rec);
    acc->kind = ACC_NONE;
    if (acc->field_dropped) {
        acc->field_dropped = 0;
        return 0;
    }
    switch (acc->key) {
    case KEY_HOST:
        if (rec->host.off == HTTP1_SPAN_ABSENT)
            rec->host = value;
        break;
    case KEY_CONTENT_TYPE:
        if (rec->content_type.off == HTTP1_SPAN_ABSENT)
            rec->content_type = value;
        break;
    case KEY_CONTENT_ENCODING:
        if (rec->content_encoding.off == HTTP1_SPAN_ABSENT)
            rec->content_encoding = value;
        break;
    default:
        break;
    }
    acc->key = KEY_NONE;
    if (rec->field_count >= (uint64_t)e->lim.http_headers_per_message) {
        head_truncated(e, rec);
        return 0;
    }
    if (rec->field_count == rec->field_cap) {
        uint32_t cap = rec->field_cap ? rec->field_cap * 2 : HTTP1_FIELDS_INITIAL;
        if (cap > (uint64_t)e->lim.http_headers_per_message)
            cap = (uint32_t)e->lim.http_headers_per_message;
        int from_room = fields_are_room(rec);
        if (!memory_allows(e, (uint64_t)(from_room ? cap : cap - rec->field_cap) *
                                  sizeof(http_field))) {
            head_truncated(e, rec);
            return 0;
        }
        http_field *grown = from_room ? malloc((size_t)cap * sizeof *grown)
                                      : realloc(rec->fields, (size_t)cap * sizeof *grown);
        if (!grown) {
            count(e, ANOMALY_HTTP_ALLOC_FAILED);
            head_truncated(e, rec);
            return 0;
        }
        if (from_room)
            memcpy(grown, rec->fields, (size_t)rec->field_count * sizeof *grown);
        e->rec_bytes_live += (uint64_t)(from_room ? cap : cap - rec->field_cap) * sizeof *grown;
        rec->fields = grown;
        rec->field_cap = cap;
    }
    rec->fields[rec->field_count].name = acc->name;
    rec->fields[rec->field_count].value = value;
    rec->field_count++;
    return 0;
}

/* Returns 1 ("no body") where the response's framing depends on the
 * request (HEAD, CONNECT) or the status (1xx, 204, 304) beyond what llhttp
 * knows. */
static int on_headers_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    http_rec *rec = dir->rec;
    if (!rec)
        return -1;
    if (!dir->committed)
        msg_commit(dir);
    dir->head_done = 1;
    rec->acc.kind = ACC_NONE;
    rec->last_ts_ns = dir->ts_ns;
    int no_body = 0;
    if (!rec->is_request) {
        uint16_t status = rec->status;
        if (rec->interim || status == 204 || status == 304)
            no_body = 1;
        if (rec->request_method == HTTP_HEAD)
            no_body = 1;
        if (rec->request_method == HTTP_CONNECT && status >= 200 && status < 300) {
            rec->flags |= TX_FLAG_TUNNEL;
            dir_session(dir)->stopping = 1;
            no_body = 1;
        }
        if (status == 101) {
            rec->flags |= TX_FLAG_UPGRADE;
            dir_session(dir)->stopping = 1;
            no_body = 1;
        }
    }
    if (no_body) {
        dir->body_mode = BODY_NONE;
        return 1;
    }
    body_setup(dir, rec);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
    http_dir *dir = p->data;
    http_rec *rec = dir->rec;
    if (!rec || len == 0)
        return 0;
    rec->body_bytes += len;
    rec->last_ts_ns = dir->ts_ns;
    if (!rec->capturing)
        return 0;
    http_engine *e = dir_engine(dir);
    if (rec->decoder)
        body_decode(e, rec, at, len);
    else /* llhttp's content_length is what remains after this piece */
        body_capture_raw(e, rec, at, len,
                         dir->body_mode == BODY_LENGTH ? len + p->content_length : len);
    return 0;
}

static int on_chunk_header(llhttp_t *p) {
    http_dir *dir = p->data;
    dir->in_chunk = p->content_length > 0;
    return 0;
}

static int on_chunk_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    dir->in_chunk = 0;
    return 0;
}

static int on_message_complete(llhttp_t *p) {
    http_dir *dir = p->data;
    http_session *s = dir_session(dir);
    http_engine *e = dir_engine(dir);
    msg_complete(dir);
    /* Pause so that http_engine_next() can hand out what became ready. */
    if ((e->ready_count > 0 && !e->drain_all) || s->stopping)
        return HPE_PAUSED;
    return 0;
}

/* ---------------------------------------------------------------- direction driver */

static void dir_parser_init(http_dir *dir, const llhttp_settings_t *settings) {
    llhttp_init(&dir->parser, dir->role == ROLE_REQUESTS ? HTTP_REQUEST : HTTP_RESPONSE, settings);
    /* A passive observer sees what servers accepted: be lenient where real
     * peers are sloppy. Framing itself stays strict. */
    llhttp_set_lenient_headers(&dir->parser, 1);
    llhttp_set_lenient_chunked_length(&dir->parser, 1);
    llhttp_set_lenient_keep_alive(&dir->parser, 1);
    llhttp_set_lenient_transfer_encoding(&dir->parser, 1);
    dir->parser.lenient_flags |= LENIENT_VERSION;
    dir->parser.data = dir;
}

/* Starts a scan episode; the parser is reset for the message found. */
static void dir_enter_scan(http_dir *dir, int candidate, int resync) {
    http_engine *e = dir_engine(dir);
    if (dir->rec)
        rec_put(e, dir->rec);
    dir_clear_message(dir);
    llhttp_reset(&dir->parser);
    dir->mode = MODE_SCAN;
    dir->candidate = (uint8_t)candidate;
    dir->resync = (uint8_t)resync;
    dir->scanned = 0;
}

/* Bytes of a message were lost at a message boundary (a gap, or a stream
 * picked up mid-message): keep the pairing in step. A request lost on the
 * way to the server takes a place in the FIFO; a response lost on the way to
 * the client answers the oldest waiting request. */
static void dir_message_lost(http_session *s, http_dir *dir, uint32_t flags) {
    dir->pickup = 0;
    if (dir->role == ROLE_REQUESTS)
        fifo_push_phantom(s, dir->ts_ns);
    else
        fifo_give_up_oldest(s, flags);
}

/* A parse error: a committed message is emitted as malformed; then resync. */
static void dir_parse_error(http_dir *dir, int at_chunk_start) {
    http_engine *e = dir_engine(dir);
    int is_request = dir->role == ROLE_REQUESTS;
    if (dir->committed || !dir->tentative)
        count(e, is_request ? ANOMALY_HTTP_MALFORMED_REQUEST : ANOMALY_HTTP_MALFORMED_RESPONSE);
    /* Something that began like a message and failed is not a lost message. */
    dir->pickup = 0;
    msg_cut(dir, is_request ? TX_FLAG_MALFORMED_REQUEST : TX_FLAG_MALFORMED_RESPONSE);
    /* A segment start stays a candidate even when a message from an earlier
     * segment failed on its first byte. */
    dir_enter_scan(dir, at_chunk_start, 1);
}

/* A candidate is a complete start line of the other role, and no message
 * was parsed yet: the flow's client and server are the other way round. Both directions restart
 * with swapped roles; the only FIFO entries possible are phantoms, which lose their meaning. */
static int session_should_swap(const http_session *s, const http_dir *dir, const uint8_t *data,
                               uint32_t len) {
    if (s->messages > 0)
        return 0;
    if (dir->role == ROLE_REQUESTS)
        return match_status_line(data, len) == MATCH_YES;
    return match_request_line(data, len) == MATCH_YES;
}

static void session_swap(http_session *s) {
    http_engine *e = session_engine(s);
    ip_address ip = s->client_ip;
    s->client_ip = s->server_ip;
    s->server_ip = ip;
    uint16_t port = s->client_port;
    s->client_port = s->server_port;
    s->server_port = port;
    s->swapped ^= 1;
    while (s->fifo_head) {
        http_rec *req = s->fifo_head;
        s->fifo_head = req->next;
        rec_put(e, req);
    }
    s->fifo_tail = s->unanswered = NULL;
    s->unanswered_count = 0;
    for (int i = 0; i < 2; i++) {
        http_dir *dir = &s->dir[i];
        uint8_t candidate = dir->candidate, pickup = dir->pickup;
        dir->role ^= 1;
        dir_parser_init(dir, &e->settings);
        if (dir->mode != MODE_CLOSED)
            dir_enter_scan(dir, candidate, 0);
        dir->pickup = pickup;
    }
}

/* A status line cut by the end of the data: its first bytes ("H" ..
 * "HTTP/1") end the data. Scanning stops there so that the next chunk
 * continues it. */
static const uint8_t *status_prefix_at_end(const uint8_t *data, uint32_t len) {
    for (uint32_t k = len < 6 ? len : 6; k > 0; k--) {
        if (memcmp(data + len - k, "HTTP/1.", k) == 0)
            return data + len - k;
    }
    return NULL;
}

/* Where the message whose "HTTP/1." is at `version` starts, or NULL. Status
 * lines start there; request lines start at the method before " target ". */
static const uint8_t *inline_message_start(const http_dir *dir, const uint8_t *from,
                                           const uint8_t *version) {
    if (dir->role == ROLE_RESPONSES)
        return version;
    const uint8_t *p = version;
    if (p == from || p[-1] != ' ')
        return NULL;
    p--;
    const uint8_t *target_end = p;
    while (p > from && is_token_char(p[-1]))
        p--;
    if (p == target_end || p == from || p[-1] != ' ')
        return NULL;
    const uint8_t *method_end = p - 1;
    const uint8_t *best = NULL;
    for (size_t i = 0; i < sizeof http1_methods / sizeof http1_methods[0]; i++) {
        size_t m_len = strlen(http1_methods[i]);
        if ((size_t)(method_end - from) >= m_len &&
            memcmp(method_end - m_len, http1_methods[i], m_len) == 0 &&
            (!best || method_end - m_len < best))
            best = method_end - m_len;
    }
    return best;
}

static void dir_scan(http_dir *dir, const uint8_t *data, uint32_t len, uint32_t *pos) {
    http_engine *e = dir_engine(dir);
    const uint8_t *at = data + *pos;
    uint32_t left = len - *pos;
    if (dir->candidate) {
        if (at[0] == '\r' || at[0] == '\n') {
            /* Empty lines may precede a message. */
            *pos += 1;
            dir->scanned++;
            return;
        }
        if (session_should_swap(dir_session(dir), dir, at, left))
            session_swap(dir_session(dir));
        dir->candidate = 0;
        if (candidate_plausible(dir, at, left)) {
            dir->mode = MODE_PARSE;
            dir->tentative = 1;
            return;
        }
        dir->resync = 1;
        if (dir->pickup && !starts_like_message(dir, at, left))
            dir_message_lost(dir_session(dir), dir, TX_FLAG_RESPONSE_GAP);
        dir->pickup = 0;
    }
    /* Candidates: the next line start, or a start line that begins inside a
     * line (messages packed after a body that does not end with a newline). */
    const uint8_t *newline = memchr(at, '\n', left);
    uint32_t line_len = newline ? (uint32_t)(newline - at) : left;
    const uint8_t *version = memmem(at, line_len, "HTTP/1.", 7);
    if (!version && !newline && dir->role == ROLE_RESPONSES)
        version = status_prefix_at_end(at, left);
    uint32_t skip;
    if (version) {
        const uint8_t *start = inline_message_start(dir, at, version);
        skip = start ? (uint32_t)(start - at) : (uint32_t)(version - at) + 7;
        if (skip > left)
            skip = left;
        dir->candidate = start != NULL;
    } else {
        skip = newline ? line_len + 1 : left;
        dir->candidate = newline != NULL;
    }
    *pos += skip;
    dir->scanned += skip;
    if (dir->scanned > (uint64_t)e->lim.http_resync_scan_bytes) {
        count(e, ANOMALY_HTTP_RESYNC_FAILED);
        dir->mode = MODE_WAIT_GAP;
    }
}

static void dir_execute(http_dir *dir, const uint8_t *data, uint32_t len, uint32_t *pos) {
    const char *start = (const char *)data + *pos;
    llhttp_errno_t err = llhttp_execute(&dir->parser, start, len - *pos);
    if (err == HPE_OK) {
        *pos = len;
        return;
    }
    const char *err_pos = llhttp_get_error_pos(&dir->parser);
    uint32_t at = len;
    if (err_pos >= start && err_pos <= (const char *)data + len)
        at = (uint32_t)(err_pos - (const char *)data);
    if (err == HPE_PAUSED) {
        llhttp_resume(&dir->parser);
        *pos = at;
        return;
    }
    if (err == HPE_PAUSED_UPGRADE) {
        /* CONNECT or Upgrade request: what follows depends on the response.
         * Look for the next request right here; the flow stops if the
         * response accepts the switch. */
        *pos = at;
        int resync = dir->role == ROLE_RESPONSES;
        dir_enter_scan(dir, 1, resync);
        return;
    }
    /* Scanning resumes at the error. */
    *pos = at;
    dir_parse_error(dir, at == 0);
}

/* Parses data[*pos..len) of one direction until consumed or something is ready. */
static void dir_process(http_dir *dir, const uint8_t *data, uint32_t len, uint32_t *pos) {
    http_session *s = dir_session(dir);
    http_engine *e = session_engine(s);
    uint32_t last_pos = *pos, idle_rounds = 0;
    while (*pos < len && (e->drain_all || e->ready_count == 0) && !s->stopping) {
        /* Mode changes consume nothing; a few in a row are normal, more would
         * be a loop: step over one byte. */
        if (*pos == last_pos && ++idle_rounds > 4) {
            (*pos)++;
            idle_rounds = 0;
            if (dir->mode == MODE_PARSE)
                dir_parse_error(dir, 0);
            continue;
        }
        if (*pos != last_pos) {
            last_pos = *pos;
            idle_rounds = 0;
        }
        switch (dir->mode) {
        case MODE_SCAN:
            dir_scan(dir, data, len, pos);
            break;
        case MODE_PARSE:
            dir_execute(dir, data, len, pos);
            break;
        default:
            *pos = len;
            break;
        }
    }
}

/* Marks a conflicting TCP overlap on the message it most likely touched. */
static void dir_overlap_conflict(http_session *s, http_dir *dir) {
    if (dir->rec)
        dir->rec->flags |= TX_FLAG_OVERLAP_CONFLICT;
    else if (dir->role == ROLE_REQUESTS && s->fifo_tail)
        s->fifo_tail->flags |= TX_FLAG_OVERLAP_CONFLICT;
    else
        dir->pending_flags |= TX_FLAG_OVERLAP_CONFLICT;
}

/* A gap of `gap` bytes in one direction. */
static void dir_gap(http_session *s, http_dir *dir, uint32_t gap, uint32_t chunk_flags) {
    uint32_t flag = dir->role == ROLE_REQUESTS ? TX_FLAG_REQUEST_GAP : TX_FLAG_RESPONSE_GAP;
    if (chunk_flags & TCP_CHUNK_SNAPLEN)
        flag |= TX_FLAG_SNAPLEN;
    if (!dir->started)
        dir->pickup = 1; /* the stream starts with missing bytes */
    dir->started = 1;
    if (dir->mode == MODE_CLOSED)
        return;
    if (dir->mode != MODE_PARSE) {
        int pickup = dir->pickup;
        dir_enter_scan(dir, 1, 1);
        dir->pickup = (uint8_t)pickup;
        return;
    }
    http_rec *rec = dir->rec;
    /* The gap begins at a message boundary, or inside a message that began
     * at one and whose start line was cut. */
    int boundary = !dir->tentative && (!rec || !dir->committed);
    if (rec && dir->committed && dir->head_done) {
        uint64_t remaining = dir->parser.content_length;
        rec->last_ts_ns = dir->ts_ns;
        if (dir->body_mode == BODY_EOF) {
            rec->body_bytes += gap;
            rec->flags |= flag;
            body_stop(rec);
            return;
        }
        if ((dir->body_mode == BODY_LENGTH || (dir->body_mode == BODY_CHUNKED && dir->in_chunk)) &&
            gap < remaining) {
            dir->parser.content_length -= gap;
            rec->body_bytes += gap;
            rec->flags |= flag;
            body_stop(rec);
            return;
        }
        if (dir->body_mode == BODY_CHUNKED && dir->in_chunk && gap == remaining) {
            /* The chunk ends with the gap; its CRLF and the next size follow. */
            dir->parser.content_length = 0;
            rec->body_bytes += gap;
            rec->flags |= flag;
            body_stop(rec);
            return;
        }
        if (dir->body_mode == BODY_LENGTH) {
            /* The body ends inside the gap: the message is complete. */
            rec->body_bytes += remaining;
            rec->flags |= flag;
            body_stop(rec);
            msg_complete(dir);
            llhttp_reset(&dir->parser);
            gap -= (uint32_t)remaining;
            if (gap == 0)
                return; /* the next byte starts a message */
            boundary = 1;
        }
    }
    msg_cut(dir, flag | TX_FLAG_INCOMPLETE);
    if (boundary)
        dir_message_lost(s, dir, TX_FLAG_RESPONSE_GAP);
    dir_enter_scan(dir, 1, 1);
}

/* End of one direction (FIN): close-delimited bodies complete here. */
static void dir_fin(http_session *s, http_dir *dir) {
    dir->fin = 1;
    if (dir->mode == MODE_PARSE && dir->rec) {
        if (dir->committed && dir->head_done && dir->body_mode == BODY_EOF)
            msg_complete(dir);
        else
            msg_cut(dir, TX_FLAG_INCOMPLETE);
    }
    if (dir->rec)
        rec_put(session_engine(s), dir->rec);
    dir_clear_message(dir);
    dir->mode = MODE_CLOSED;
    if (dir->role == ROLE_RESPONSES)
        fifo_give_up_all(s, 0);
}

/* ---------------------------------------------------------------- sessions */

static http_session *session_lookup(http_engine *e, const flow *f) {
    http_session *s = &e->sessions[f->slot];
    return s->live && s->serial == f->serial ? s : NULL;
}

static http_session *session_create(http_engine *e, const flow *f) {
    http_session *s = &e->sessions[f->slot];
    memset(s, 0, sizeof *s);
    s->live = 1;
    if (f->slot >= e->slots_used)
        e->slots_used = f->slot + 1;
    s->serial = f->serial;
    s->client_ip = f->client_ip;
    s->server_ip = f->server_ip;
    s->client_port = f->client_port;
    s->server_port = f->server_port;
    for (int i = 0; i < 2; i++) {
        http_dir *dir = &s->dir[i];
        dir->role = (uint8_t)i;
        dir->mode = MODE_SCAN;
        dir_parser_init(dir, &e->settings);
    }
    e->stats.sessions_live++;
    return s;
}

/* Emits everything the session still holds and frees it. cut_flags go on
 * messages cut short and on requests left without a response. give_up: keep
 * ignoring the flow afterwards. */
static void session_end(http_engine *e, http_session *s, uint32_t cut_flags, int give_up) {
    for (int i = 0; i < 2; i++) {
        http_dir *dir = &s->dir[i];
        if (dir->rec && dir->mode == MODE_PARSE)
            msg_cut(dir, cut_flags | TX_FLAG_INCOMPLETE);
        if (dir->rec)
            rec_put(e, dir->rec);
        dir_clear_message(dir);
    }
    fifo_give_up_all(s, cut_flags);
    /* Every request is done and decided now; anything left is released. */
    while (s->fifo_head) {
        http_rec *req = s->fifo_head;
        s->fifo_head = req->next;
        rec_put(e, req->response);
        rec_put(e, req);
    }
    if (e->job.active && e->job.session == s)
        e->job.active = 0;
    s->live = 0;
    if (!give_up)
        s->serial = 0;
    e->stats.sessions_live--;
}

/* RST: close-delimited bodies end, everything else in flight was cut. */
static void session_reset(http_engine *e, http_session *s) {
    for (int i = 0; i < 2; i++) {
        http_dir *dir = &s->dir[i];
        if (dir->mode == MODE_PARSE && dir->rec && dir->committed && dir->head_done &&
            dir->body_mode == BODY_EOF) {
            dir->rec->flags |= TX_FLAG_CONNECTION_RESET;
            msg_complete(dir);
        }
    }
    session_end(e, s, TX_FLAG_CONNECTION_RESET, 1);
}

static void session_end_flags(http_engine *e, http_session *s, uint32_t end_flags) {
    if (end_flags & TCP_CHUNK_RST)
        session_reset(e, s);
}

/* ---------------------------------------------------------------- jobs */

static void job_end_of_data(http_engine *e) {
    http_job *job = &e->job;
    http_session *s = job->session;
    job->active = 0;
    if (job->end_flags & TCP_CHUNK_FIN)
        dir_fin(s, &s->dir[job->dir]);
    session_end_flags(e, s, job->end_flags);
}

/* Runs the pending chunk until a transaction is ready or the chunk is done. */
static void job_run(http_engine *e) {
    http_job *job = &e->job;
    while (job->active && (e->drain_all || e->ready_count == 0)) {
        http_session *s = job->session;
        if (s->stopping) {
            job->active = 0;
            session_end(e, s, 0, 1);
            break;
        }
        if (job->pos >= job->len) {
            job_end_of_data(e);
            break;
        }
        dir_process(&s->dir[job->dir], job->data, job->len, &job->pos);
    }
}

/* The caller fed again without draining: finish the pending chunk now. */
static void job_drain_all(http_engine *e) {
    e->drain_all = 1;
    anomaly_counters *saved = e->anomalies;
    e->anomalies = e->job.anomalies;
    job_run(e);
    e->anomalies = saved;
    e->drain_all = 0;
}

static void release_emitted(http_engine *e) {
    if (!e->has_emitted)
        return;
    rec_put(e, e->emitted.request);
    rec_put(e, e->emitted.response);
    e->has_emitted = 0;
}

/* ---------------------------------------------------------------- public API */

as_status http_engine_create(const limits *lim, uint32_t slot_count, http_engine **out) {
    *out = NULL;
    if (!lim || slot_count == 0)
        return AS_ERR_ARG;
    http_engine *e = calloc(1, sizeof *e);
    if (!e)
        return AS_ERR_NOMEM;
    e->lim = *lim;
    e->slot_count = slot_count;
    e->sessions = bigmem_alloc((size_t)slot_count * sizeof *e->sessions);
    e->ready_cap = (uint32_t)(2 * lim->http_pipeline_depth + HTTP1_READY_EXTRA);
    e->ready = calloc(e->ready_cap, sizeof *e->ready);
    for (int i = 0; i < 2; i++)
        e->views[i] = calloc((size_t)lim->http_headers_per_message, sizeof(http_header_view));
    if (!e->sessions || !e->ready || !e->views[0] || !e->views[1]) {
        http_engine_destroy(e);
        return AS_ERR_NOMEM;
    }
    llhttp_settings_t *st = &e->settings;
    llhttp_settings_init(st);
    st->on_message_begin = on_message_begin;
    st->on_url = on_url;
    st->on_url_complete = on_url_complete;
    st->on_version_complete = on_version_complete;
    st->on_status = on_status;
    st->on_status_complete = on_status_complete;
    st->on_header_field = on_header_field;
    st->on_header_field_complete = on_header_field_complete;
    st->on_header_value = on_header_value;
    st->on_header_value_complete = on_header_value_complete;
    st->on_headers_complete = on_headers_complete;
    st->on_body = on_body;
    st->on_chunk_header = on_chunk_header;
    st->on_chunk_complete = on_chunk_complete;
    st->on_message_complete = on_message_complete;
    *out = e;
    return AS_OK;
}

void http_engine_feed(http_engine *e, const flow *f, flow_direction dir, const tcp_chunk *chunk,
                      anomaly_counters *anomalies) {
    release_emitted(e);
    if (e->job.active)
        job_drain_all(e);
    e->anomalies = anomalies;
    if (!f || !chunk || f->slot >= e->slot_count ||
        (dir != FLOW_TO_SERVER && dir != FLOW_TO_CLIENT))
        return;
    http_session *in_slot = &e->sessions[f->slot];
    if (!in_slot->live && in_slot->serial) {
        if (in_slot->serial == f->serial)
            return; /* given up on this flow */
        in_slot->serial = 0;
    } else if (in_slot->live && in_slot->serial != f->serial) {
        session_end(e, in_slot, 0, 0); /* the slot was reused without a close */
    }
    int is_gap = (chunk->flags & TCP_CHUNK_GAP) != 0;
    int has_data = !is_gap && chunk->data && chunk->len > 0;
    uint32_t end_flags = chunk->flags & (TCP_CHUNK_FIN | TCP_CHUNK_RST);
    http_session *s = session_lookup(e, f);
    if (!s) {
        if (!has_data && !(is_gap && chunk->len > 0))
            return;
        s = session_create(e, f);
        if (!s) {
            count(e, ANOMALY_HTTP_ALLOC_FAILED);
            return;
        }
    }
    http_dir *d = &s->dir[dir];
    d->ts_ns = chunk->ts_ns;
    if (chunk->flags & TCP_CHUNK_OVERLAP_CONFLICT)
        dir_overlap_conflict(s, d);
    if (is_gap && chunk->len > 0)
        dir_gap(s, d, chunk->len, chunk->flags);
    if (has_data) {
        /* a response binds to the oldest unanswered request, written an RTT ago */
        if (d->role == ROLE_RESPONSES && s->unanswered)
            __builtin_prefetch(s->unanswered);
        if (!d->started) {
            d->started = 1;
            if (stream_is_other_protocol(chunk->data, chunk->len)) {
                count(e, ANOMALY_HTTP_NOT_HTTP);
                session_end(e, s, 0, 1);
                return;
            }
            d->candidate = 1;
            d->pickup = 1;
        } else if (d->mode == MODE_SCAN) {
            d->candidate = 1; /* a segment start may begin a message */
        }
        http_job *job = &e->job;
        job->active = 1;
        job->session = s;
        job->dir = (uint8_t)dir;
        job->end_flags = end_flags;
        job->data = chunk->data;
        job->len = chunk->len;
        job->pos = 0;
        job->anomalies = anomalies;
        return;
    }
    if (end_flags & TCP_CHUNK_FIN)
        dir_fin(s, d);
    if (end_flags & TCP_CHUNK_RST) {
        session_reset(e, s);
        return;
    }
    if (s->stopping)
        session_end(e, s, 0, 1);
}

void http_engine_prefetch(const http_engine *e, uint32_t slot) {
    if (!e || slot >= e->slot_count)
        return;
    const http_session *s = &e->sessions[slot];
    __builtin_prefetch(s);
    __builtin_prefetch(&s->dir[0]);
    __builtin_prefetch(&s->dir[1]);
}

void http_engine_ignore(http_engine *e, const flow *f) {
    release_emitted(e);
    if (e->job.active)
        job_drain_all(e);
    if (!f || f->slot >= e->slot_count)
        return;
    http_session *in_slot = &e->sessions[f->slot];
    if (!in_slot->live && in_slot->serial)
        return;
    http_session *s = session_lookup(e, f);
    if (!s) {
        if (!in_slot->live)
            in_slot->serial = f->serial;
        return;
    }
    /* Content already proved HTTP: the classifier's later opinion does not undo it. */
    if (s->messages > 0)
        return;
    session_end(e, s, 0, 1);
}

void http_engine_close(http_engine *e, const flow *f, anomaly_counters *anomalies) {
    release_emitted(e);
    if (e->job.active)
        job_drain_all(e);
    e->anomalies = anomalies;
    if (!f || f->slot >= e->slot_count)
        return;
    http_session *in_slot = &e->sessions[f->slot];
    if (!in_slot->live && in_slot->serial) {
        if (in_slot->serial == f->serial)
            in_slot->serial = 0;
        return;
    }
    http_session *s = session_lookup(e, f);
    if (s)
        session_end(e, s, 0, 0);
}

/* The host of an absolute-form target: "scheme://[userinfo@]authority/...". */
static str_view absolute_authority(str_view uri) {
    str_view none = {NULL, 0};
    uint32_t i = 0;
    while (i < uri.len && uri.ptr[i] != ':' && uri.ptr[i] != '/')
        i++;
    if (i == 0 || i + 3 > uri.len || memcmp(uri.ptr + i, "://", 3) != 0)
        return none;
    uint32_t start = i + 3, end = start;
    while (end < uri.len && uri.ptr[end] != '/' && uri.ptr[end] != '?' && uri.ptr[end] != '#')
        end++;
    for (uint32_t j = end; j > start; j--) {
        if (uri.ptr[j - 1] == '@') {
            start = j;
            break;
        }
    }
    if (end == start)
        return none;
    str_view host = {uri.ptr + start, end - start};
    return host;
}

static str_view span_view(const http_rec *rec, http_span span) {
    str_view v = {NULL, 0};
    if (span.off != HTTP1_SPAN_ABSENT) {
        v.ptr = rec->head ? rec->head + span.off : "";
        v.len = span.len;
    }
    return v;
}

static void message_fill(const http_rec *rec, http_message *m, http_header_view *views) {
    m->present = 1;
    m->first_ts_ns = rec->first_ts_ns;
    m->last_ts_ns = rec->last_ts_ns;
    for (uint32_t i = 0; i < rec->field_count; i++) {
        views[i].name = span_view(rec, rec->fields[i].name);
        views[i].value = span_view(rec, rec->fields[i].value);
    }
    m->headers = rec->field_count ? views : NULL;
    m->header_count = rec->field_count;
    m->content_type = span_view(rec, rec->content_type);
    m->content_encoding = span_view(rec, rec->content_encoding);
    m->body_bytes_known = rec->body_known;
    m->body_bytes = rec->body_bytes;
    m->body = rec->body_len ? rec->body : NULL;
    m->body_len = rec->body_len;
    m->body_decoded = rec->body_decoded;
}

static void transaction_fill(http_engine *e, const http_ready *r, http_transaction *tx) {
    memset(tx, 0, sizeof *tx);
    tx->flow_serial = r->flow_serial;
    tx->client_ip = r->client_ip;
    tx->server_ip = r->server_ip;
    tx->client_port = r->client_port;
    tx->server_port = r->server_port;
    const http_rec *req = r->request, *resp = r->response;
    uint32_t flags = 0;
    if (req) {
        flags |= req->flags;
        tx->version_major = req->major;
        tx->version_minor = req->minor;
        const char *method = llhttp_method_name((llhttp_method_t)req->method);
        tx->method.ptr = method;
        tx->method.len = (uint32_t)strlen(method);
        tx->uri = span_view(req, req->uri);
        tx->host = span_view(req, req->host);
        if (!tx->host.len) /* absent or empty (allowed with an absolute-form target) */
            tx->host = absolute_authority(tx->uri);
        tx->interim_count = req->interim_count;
        message_fill(req, &tx->request, e->views[0]);
        if (!resp)
            flags |= TX_FLAG_NO_RESPONSE;
    } else {
        flags |= TX_FLAG_ORPHAN_RESPONSE;
    }
    if (resp) {
        flags |= resp->flags;
        tx->status = resp->status;
        tx->reason = span_view(resp, resp->reason);
        if (!req) {
            tx->version_major = resp->major;
            tx->version_minor = resp->minor;
        }
        message_fill(resp, &tx->response, e->views[1]);
    }
    tx->flags = flags;
}

int http_engine_next(http_engine *e, http_transaction *tx) {
    release_emitted(e);
    e->anomalies = e->job.anomalies;
    job_run(e);
    if (e->ready_count == 0)
        return 0;
    http_ready *r = &e->ready[e->ready_head];
    e->ready_head = (e->ready_head + 1) % e->ready_cap;
    e->ready_count--;
    e->emitted = *r;
    e->has_emitted = 1;
    e->stats.transactions++;
    transaction_fill(e, &e->emitted, tx);
    return 1;
}

http_engine_stats http_engine_get_stats(const http_engine *e) {
    http_engine_stats st = e->stats;
    st.session_bytes_live = st.sessions_live * sizeof(http_session) + e->rec_bytes_live;
    return st;
}

void http_engine_destroy(http_engine *e) {
    if (!e)
        return;
    e->anomalies = NULL; /* the caller's counters may be gone by now */
    e->job.active = 0;
    if (e->sessions) {
        for (uint32_t i = 0; i < e->slots_used; i++)
            if (e->sessions[i].live)
                session_end(e, &e->sessions[i], 0, 0);
    }
    release_emitted(e);
    while (e->ready && e->ready_count > 0) {
        http_ready *r = &e->ready[e->ready_head];
        rec_put(e, r->request);
        rec_put(e, r->response);
        e->ready_head = (e->ready_head + 1) % e->ready_cap;
        e->ready_count--;
    }
    while (e->free_recs) {
        http_rec *rec = e->free_recs;
        e->free_recs = rec->next;
        rec_free_extra(rec);
    }
    /* pooled body buffers of the kept classes are carved; larger ones are never pooled */
    while (e->chunk) {
        char *chunk = e->chunk;
        memcpy(&e->chunk, chunk, sizeof e->chunk);
        ASAN_UNPOISON_MEMORY_REGION(chunk, HTTP1_CHUNK_BYTES);
        bigmem_free(chunk, HTTP1_CHUNK_BYTES);
    }
    for (uint32_t i = 0; i < e->free_decoder_count; i++)
        http_body_decoder_destroy(e->free_decoders[i]);
    free(e->views[0]);
    free(e->views[1]);
    free(e->ready);
    bigmem_free(e->sessions, (size_t)e->slot_count * sizeof *e->sessions);
    free(e);
}
