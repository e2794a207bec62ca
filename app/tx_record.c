/*
 * The flat transaction record (see tx_record.h).
 *
 * Layout: http_transaction, tx_tls (when tx->tls), the request's then the
 * response's header array, then the bytes of every view in a fixed order.
 * Structures come first so that they stay 8-byte aligned; bytes follow
 * unaligned. Writing and opening walk the same fields in the same order
 * (for_each_view), so the two cannot disagree.
 */
#include "tx_record.h"

#include <stdint.h>
#include <string.h>

typedef struct writer {
    uint8_t *base; /* NULL: only measure */
    size_t pos;
} writer;

static size_t align8(size_t n) {
    return (n + 7u) & ~(size_t)7u;
}

/* Copies n bytes at p to the record; returns the stored pointer value
 * (offset + 1, 0 for NULL). */
static uintptr_t put(writer *w, const void *p, size_t n) {
    if (!p)
        return 0;
    uintptr_t at = (uintptr_t)w->pos + 1;
    if (w->base && n)
        memcpy(w->base + w->pos, p, n);
    w->pos += n;
    return at;
}

static void put_view(writer *w, str_view *v) {
    v->ptr = (const char *)put(w, v->ptr, v->len);
}

static void put_string(writer *w, const char **s) {
    *s = (const char *)put(w, *s, *s ? strlen(*s) + 1 : 0);
}

static void put_message(writer *w, http_message *m) {
    put_view(w, &m->content_type);
    put_view(w, &m->content_encoding);
    m->body = (const uint8_t *)put(w, m->body, m->body_len);
}

/* Writes (or measures) tx; the structures are copied first, then their
 * pointers are rewritten as offsets while the bytes are appended. */
static size_t write_record(writer *w, const http_transaction *source) {
    http_transaction tx = *source;
    tx_tls tls;
    w->pos = align8(sizeof tx);
    size_t tls_at = 0, req_at = 0, resp_at = 0;
    if (tx.tls) {
        tls = *tx.tls;
        tls_at = w->pos;
        w->pos = align8(w->pos + sizeof tls);
    }
    http_header_view *req = NULL, *resp = NULL;
    size_t header_bytes = sizeof(http_header_view);
    if (tx.request.headers && tx.request.header_count) {
        req_at = w->pos;
        w->pos += tx.request.header_count * header_bytes;
        if (w->base) {
            req = (http_header_view *)(w->base + req_at);
            memcpy(req, tx.request.headers, tx.request.header_count * header_bytes);
        }
    }
    if (tx.response.headers && tx.response.header_count) {
        resp_at = w->pos;
        w->pos += tx.response.header_count * header_bytes;
        if (w->base) {
            resp = (http_header_view *)(w->base + resp_at);
            memcpy(resp, tx.response.headers, tx.response.header_count * header_bytes);
        }
    }
    http_header_view scratch; /* measuring: rewritten views go nowhere */
    put_view(w, &tx.method);
    put_view(w, &tx.uri);
    put_view(w, &tx.host);
    put_view(w, &tx.reason);
    for (int side = 0; side < 2; side++) {
        http_message *m = side ? &tx.response : &tx.request;
        http_header_view *copy = side ? resp : req;
        const http_header_view *orig = m->headers;
        for (uint32_t i = 0; orig && i < m->header_count; i++) {
            http_header_view *h = copy ? &copy[i] : &scratch;
            *h = orig[i];
            put_view(w, &h->name);
            put_view(w, &h->value);
        }
        put_message(w, m);
        m->headers = (const http_header_view *)(uintptr_t)(side ? (resp_at ? resp_at + 1 : 0)
                                                                : (req_at ? req_at + 1 : 0));
    }
    if (tx.tls) {
        put_view(w, &tls.sni);
        put_view(w, &tls.alpn);
        put_string(w, &tls.cipher_name);
        put_string(w, &tls.ja3);
        put_string(w, &tls.ja4);
        tx.tls = (const tx_tls *)(uintptr_t)(tls_at + 1);
        if (w->base)
            memcpy(w->base + tls_at, &tls, sizeof tls);
    }
    if (w->base)
        memcpy(w->base, &tx, sizeof tx);
    return w->pos;
}

size_t tx_record_size(const http_transaction *tx) {
    writer w = {NULL, 0};
    return write_record(&w, tx);
}

size_t tx_record_max_size(const limits *lim) {
    size_t head = (size_t)lim->http_head_bytes;
    size_t body = (size_t)(lim->http_body_capture_bytes > lim->http_decoded_body_bytes
                               ? lim->http_body_capture_bytes
                               : lim->http_decoded_body_bytes);
    size_t headers = (size_t)lim->http_headers_per_message * sizeof(http_header_view);
    /* per message: header array, the head's bytes (names and values), views
     * into it copied again (URI, method, host, reason, content type and
     * encoding: at most the head twice more), the body */
    size_t message = headers + 3 * head + body;
    return align8(sizeof(http_transaction)) + align8(sizeof(tx_tls)) + 2 * message +
           2 * (size_t)lim->tls_handshake_bytes + 1024;
}

void tx_record_write(void *dst, const http_transaction *tx) {
    writer w = {dst, 0};
    write_record(&w, tx);
}

static const char *relocate(uint8_t *base, const void *stored) {
    uintptr_t at = (uintptr_t)stored;
    return at ? (const char *)(base + at - 1) : NULL;
}

static void open_view(uint8_t *base, str_view *v) {
    v->ptr = relocate(base, v->ptr);
}

const http_transaction *tx_record_open(void *rec) {
    uint8_t *base = rec;
    http_transaction *tx = rec;
    open_view(base, &tx->method);
    open_view(base, &tx->uri);
    open_view(base, &tx->host);
    open_view(base, &tx->reason);
    for (int side = 0; side < 2; side++) {
        http_message *m = side ? &tx->response : &tx->request;
        http_header_view *h = (http_header_view *)relocate(base, m->headers);
        m->headers = h;
        for (uint32_t i = 0; h && i < m->header_count; i++) {
            open_view(base, &h[i].name);
            open_view(base, &h[i].value);
        }
        open_view(base, &m->content_type);
        open_view(base, &m->content_encoding);
        m->body = (const uint8_t *)relocate(base, m->body);
    }
    if (tx->tls) {
        tx_tls *tls = (tx_tls *)relocate(base, tx->tls);
        open_view(base, &tls->sni);
        open_view(base, &tls->alpn);
        tls->cipher_name = relocate(base, tls->cipher_name);
        tls->ja3 = relocate(base, tls->ja3);
        tls->ja4 = relocate(base, tls->ja4);
        tx->tls = tls;
    }
    return tx;
}
