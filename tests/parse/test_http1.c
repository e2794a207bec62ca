/*
 * Tests of parse/http1.c (the HTTP/1.x engine) and parse/http_body.c.
 *
 * A scenario is a script of chunks for both directions of one hand-made
 * flow (data, gaps, FIN, RST). check_scenario() feeds it whole, one byte per
 * chunk, split in two at every position of every data step, in fixed-size
 * segments and in random pieces, drains the engine after every chunk, and
 * asserts that every run yields exactly the expected transactions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <brotli/encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "parse/http1.h"
#include "parse/http_body.h"

/* ---------------------------------------------------------------- scripts */

enum { STEP_DATA, STEP_GAP, STEP_FIN, STEP_RST };

typedef struct step {
    int dir;          /* FLOW_TO_SERVER or FLOW_TO_CLIENT */
    int kind;         /* STEP_* */
    const char *data; /* STEP_DATA bytes */
    size_t len;       /* data bytes, or missing bytes of a gap */
    uint32_t flags;   /* extra TCP_CHUNK_* flags on the (first) chunk */
} step;

#define REQ(s)                                                                                     \
    { FLOW_TO_SERVER, STEP_DATA, s, sizeof(s) - 1, 0 }
#define RSP(s)                                                                                     \
    { FLOW_TO_CLIENT, STEP_DATA, s, sizeof(s) - 1, 0 }
#define GAP(d, n)                                                                                  \
    { d, STEP_GAP, NULL, n, 0 }
#define FIN(d)                                                                                     \
    { d, STEP_FIN, NULL, 0, 0 }
#define RST(d)                                                                                     \
    { d, STEP_RST, NULL, 0, 0 }
#define C2S FLOW_TO_SERVER
#define S2C FLOW_TO_CLIENT
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Body sizes in expectations. */
#define UNKNOWN (-1) /* message seen, body length not known */
#define ABSENT (-2)  /* no such message */

typedef struct expect {
    const char *method; /* NULL: absent (orphan response) */
    const char *uri;
    const char *host; /* NULL: absent */
    int status;
    int64_t req_body, resp_body; /* bytes, UNKNOWN or ABSENT */
    uint32_t flags;
    int interim;
    int at; /* when nonzero: emitted while feeding step at-1 (steps count from 0) */
} expect;

/* A transaction copied out of the engine (views die at the next call). */
typedef struct got {
    char *method, *uri, *host, *reason;
    uint32_t uri_len;
    int status, interim;
    uint32_t flags;
    uint8_t major, minor;
    int req_present, resp_present;
    int req_known, resp_known;
    uint64_t req_bytes, resp_bytes;
    uint8_t *req_body, *resp_body;
    uint32_t req_body_len, resp_body_len;
    int req_decoded, resp_decoded;
    uint64_t req_first_ts, req_last_ts, resp_first_ts, resp_last_ts;
    uint32_t req_headers, resp_headers;
    char *req_ctype, *resp_ctype, *resp_cenc;
    char *req_header0_name, *req_header0_value;
    uint16_t client_port, server_port;
    uint64_t flow_serial;
    int step; /* step being fed when it came out; -1 = at close */
} got;

#define MAX_TX 64

typedef struct run {
    got tx[MAX_TX];
    int count;
    anomaly_counters an;
    http_engine_stats stats;
} run;

enum { SPLIT_WHOLE, SPLIT_BYTES, SPLIT_AT, SPLIT_FIXED, SPLIT_RANDOM };

typedef struct split {
    int mode;
    size_t step; /* SPLIT_AT: the step split in two */
    size_t arg;  /* SPLIT_AT: position; SPLIT_FIXED: size; SPLIT_RANDOM: seed */
} split;

static char *dup_view(str_view v) {
    if (!str_view_present(v))
        return NULL;
    char *s = malloc((size_t)v.len + 1);
    assert_non_null(s);
    memcpy(s, v.ptr, v.len);
    s[v.len] = '\0';
    return s;
}

static uint8_t *dup_bytes(const uint8_t *p, uint32_t len) {
    if (!p || len == 0)
        return NULL;
    uint8_t *b = malloc(len);
    assert_non_null(b);
    memcpy(b, p, len);
    return b;
}

static void got_free(got *g) {
    free(g->method);
    free(g->uri);
    free(g->host);
    free(g->reason);
    free(g->req_body);
    free(g->resp_body);
    free(g->req_ctype);
    free(g->resp_ctype);
    free(g->resp_cenc);
    free(g->req_header0_name);
    free(g->req_header0_value);
}

static void run_free(run *r) {
    for (int i = 0; i < r->count; i++)
        got_free(&r->tx[i]);
    r->count = 0;
}

static void drain(http_engine *e, run *out, int step_index) {
    http_transaction tx;
    while (http_engine_next(e, &tx)) {
        assert_true(out->count < MAX_TX);
        got *g = &out->tx[out->count++];
        memset(g, 0, sizeof *g);
        g->method = dup_view(tx.method);
        g->uri = dup_view(tx.uri);
        g->uri_len = tx.uri.len;
        g->host = dup_view(tx.host);
        g->reason = dup_view(tx.reason);
        g->status = tx.status;
        g->interim = tx.interim_count;
        g->flags = tx.flags;
        g->major = tx.version_major;
        g->minor = tx.version_minor;
        g->req_present = tx.request.present;
        g->resp_present = tx.response.present;
        g->req_known = tx.request.body_bytes_known;
        g->resp_known = tx.response.body_bytes_known;
        g->req_bytes = tx.request.body_bytes;
        g->resp_bytes = tx.response.body_bytes;
        g->req_body = dup_bytes(tx.request.body, tx.request.body_len);
        g->req_body_len = tx.request.body_len;
        g->resp_body = dup_bytes(tx.response.body, tx.response.body_len);
        g->resp_body_len = tx.response.body_len;
        g->req_decoded = tx.request.body_decoded;
        g->resp_decoded = tx.response.body_decoded;
        g->req_first_ts = tx.request.first_ts_ns;
        g->req_last_ts = tx.request.last_ts_ns;
        g->resp_first_ts = tx.response.first_ts_ns;
        g->resp_last_ts = tx.response.last_ts_ns;
        g->req_headers = tx.request.header_count;
        g->resp_headers = tx.response.header_count;
        g->req_ctype = dup_view(tx.request.content_type);
        g->resp_ctype = dup_view(tx.response.content_type);
        g->resp_cenc = dup_view(tx.response.content_encoding);
        if (tx.request.header_count > 0) {
            g->req_header0_name = dup_view(tx.request.headers[0].name);
            g->req_header0_value = dup_view(tx.request.headers[0].value);
        }
        g->client_port = tx.client_port;
        g->server_port = tx.server_port;
        g->flow_serial = tx.flow_serial;
        g->step = step_index;
    }
}

static flow test_flow(uint32_t slot, uint64_t serial) {
    flow f;
    memset(&f, 0, sizeof f);
    f.slot = slot;
    f.serial = serial;
    f.ip_proto = 6;
    f.client_ip.family = 4;
    f.client_ip.bytes[0] = 10;
    f.client_ip.bytes[3] = 2;
    f.server_ip.family = 4;
    f.server_ip.bytes[0] = 10;
    f.server_ip.bytes[3] = 80;
    f.client_port = 40000;
    f.server_port = 80;
    return f;
}

static uint64_t step_ts(size_t i) {
    return 1700000000000000000ull + (uint64_t)(i + 1) * 1000;
}

static void feed_chunk(http_engine *e, const flow *f, int dir, const char *data, size_t len,
                       uint32_t flags, uint64_t ts, run *out, int step_index) {
    tcp_chunk c = {(const uint8_t *)data, (uint32_t)len, flags, ts};
    http_engine_feed(e, f, (flow_direction)dir, &c, &out->an);
    drain(e, out, step_index);
}

static uint32_t rng_next(uint32_t *state) {
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/* Feeds one data step in the pieces the split asks for. */
static void feed_data(http_engine *e, const flow *f, const step *st, size_t index, split sp,
                      uint32_t *rng, run *out) {
    size_t pos = 0;
    uint32_t flags = st->flags;
    while (pos < st->len) {
        size_t n = st->len - pos;
        switch (sp.mode) {
        case SPLIT_BYTES:
            n = 1;
            break;
        case SPLIT_AT:
            if (index == sp.step && pos < sp.arg)
                n = sp.arg - pos;
            break;
        case SPLIT_FIXED:
            if (n > sp.arg)
                n = sp.arg;
            break;
        case SPLIT_RANDOM:
            n = 1 + rng_next(rng) % 97;
            if (n > st->len - pos)
                n = st->len - pos;
            break;
        default:
            break;
        }
        feed_chunk(e, f, st->dir, st->data + pos, n, flags, step_ts(index), out, (int)index);
        flags = 0;
        pos += n;
    }
}

static void run_script(const step *steps, size_t n, split sp, const limits *lim, run *out) {
    memset(out, 0, sizeof *out);
    limits defaults = limits_default();
    http_engine *e = NULL;
    assert_int_equal(http_engine_create(lim ? lim : &defaults, 16, &e), AS_OK);
    flow f = test_flow(5, 1);
    uint32_t rng = (uint32_t)sp.arg;
    for (size_t i = 0; i < n; i++) {
        const step *st = &steps[i];
        switch (st->kind) {
        case STEP_DATA:
            feed_data(e, &f, st, i, sp, &rng, out);
            break;
        case STEP_GAP:
            feed_chunk(e, &f, st->dir, NULL, st->len, TCP_CHUNK_GAP | st->flags, step_ts(i), out,
                       (int)i);
            break;
        case STEP_FIN:
            feed_chunk(e, &f, st->dir, NULL, 0, TCP_CHUNK_FIN, step_ts(i), out, (int)i);
            break;
        case STEP_RST:
            feed_chunk(e, &f, st->dir, NULL, 0, TCP_CHUNK_RST, step_ts(i), out, (int)i);
            break;
        default:
            fail();
        }
    }
    http_engine_close(e, &f, &out->an);
    drain(e, out, -1);
    out->stats = http_engine_get_stats(e);
    assert_int_equal(out->stats.sessions_live, 0);
    assert_int_equal(out->stats.session_bytes_live, 0);
    http_engine_destroy(e);
}

static const char *split_name(split sp, char *buf, size_t len) {
    static const char *const names[] = {"whole", "bytes", "at", "fixed", "random"};
    snprintf(buf, len, "%s step=%zu arg=%zu", names[sp.mode], sp.step, sp.arg);
    return buf;
}

static int str_equal(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static void check_body(const char *what, int present, int known, uint64_t bytes, int64_t want,
                       const char *ctx, int i) {
    if (want == ABSENT) {
        if (present)
            fail_msg("%s tx %d: %s message present, expected absent", ctx, i, what);
        return;
    }
    if (!present)
        fail_msg("%s tx %d: %s message absent", ctx, i, what);
    if (want == UNKNOWN) {
        if (known)
            fail_msg("%s tx %d: %s body known (%llu), expected unknown", ctx, i, what,
                     (unsigned long long)bytes);
        return;
    }
    if (!known || bytes != (uint64_t)want)
        fail_msg("%s tx %d: %s body known=%d bytes=%llu, expected %lld", ctx, i, what, known,
                 (unsigned long long)bytes, (long long)want);
}

static void check_run(const run *r, const expect *x, size_t nx, const char *ctx) {
    if ((size_t)r->count != nx) {
        for (int i = 0; i < r->count; i++)
            print_message("  got %s %s -> %d flags 0x%x\n", r->tx[i].method ? r->tx[i].method : "-",
                          r->tx[i].uri ? r->tx[i].uri : "-", r->tx[i].status, r->tx[i].flags);
        fail_msg("%s: %d transactions, expected %zu", ctx, r->count, nx);
    }
    for (size_t i = 0; i < nx; i++) {
        const got *g = &r->tx[i];
        const expect *e = &x[i];
        if (!str_equal(g->method, e->method) || !str_equal(g->uri, e->uri) ||
            !str_equal(g->host, e->host))
            fail_msg("%s tx %zu: %s %s host %s, expected %s %s host %s", ctx, i,
                     g->method ? g->method : "-", g->uri ? g->uri : "-", g->host ? g->host : "-",
                     e->method ? e->method : "-", e->uri ? e->uri : "-", e->host ? e->host : "-");
        if (g->status != e->status)
            fail_msg("%s tx %zu: status %d, expected %d", ctx, i, g->status, e->status);
        if (g->flags != e->flags)
            fail_msg("%s tx %zu: flags 0x%x, expected 0x%x", ctx, i, g->flags, e->flags);
        if (g->interim != e->interim)
            fail_msg("%s tx %zu: interim %d, expected %d", ctx, i, g->interim, e->interim);
        check_body("request", g->req_present, g->req_known, g->req_bytes, e->req_body, ctx, (int)i);
        check_body("response", g->resp_present, g->resp_known, g->resp_bytes, e->resp_body, ctx,
                   (int)i);
        if (e->at && g->step != e->at - 1)
            fail_msg("%s tx %zu: emitted at step %d, expected %d", ctx, i, g->step, e->at - 1);
    }
}

static void check_one(const step *steps, size_t n, const expect *x, size_t nx, const limits *lim,
                      split sp) {
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    char name[96];
    run_script(steps, n, sp, lim, r);
    check_run(r, x, nx, split_name(sp, name, sizeof name));
    run_free(r);
    free(r);
}

/* Runs the scenario in every split and checks the same answer each time. */
static void check_scenario(const step *steps, size_t n, const expect *x, size_t nx,
                           const limits *lim) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (steps[i].kind == STEP_DATA)
            total += steps[i].len;
    check_one(steps, n, x, nx, lim, (split){SPLIT_WHOLE, 0, 0});
    check_one(steps, n, x, nx, lim, (split){SPLIT_BYTES, 0, 0});
    check_one(steps, n, x, nx, lim, (split){SPLIT_FIXED, 0, 1460});
    check_one(steps, n, x, nx, lim, (split){SPLIT_FIXED, 0, 7});
    for (size_t seed = 1; seed <= 24; seed++)
        check_one(steps, n, x, nx, lim, (split){SPLIT_RANDOM, 0, seed});
    if (total > 4096)
        return;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].kind != STEP_DATA)
            continue;
        for (size_t at = 1; at < steps[i].len; at++)
            check_one(steps, n, x, nx, lim, (split){SPLIT_AT, i, at});
    }
}

/* One whole run whose transactions the test inspects itself. */
static run *run_whole(const step *steps, size_t n, const limits *lim) {
    run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    run_script(steps, n, (split){SPLIT_WHOLE, 0, 0}, lim, r);
    return r;
}

static void run_release(run *r) {
    run_free(r);
    free(r);
}

/* ---------------------------------------------------------------- basic exchanges */

static void test_simple_get(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /users/17?expand=1 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: t\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
            "0123456789"),
    };
    const expect x[] = {{"GET", "/users/17?expand=1", "api.example.com", 200, 0, 10, 0, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    run *r = run_whole(s, COUNT(s), NULL);
    got *g = &r->tx[0];
    assert_string_equal(g->reason, "OK");
    assert_int_equal(g->major, 1);
    assert_int_equal(g->minor, 1);
    assert_int_equal(g->req_headers, 2);
    assert_string_equal(g->req_header0_name, "Host");
    assert_string_equal(g->req_header0_value, "api.example.com");
    assert_int_equal(g->resp_headers, 2);
    assert_string_equal(g->resp_ctype, "application/json");
    assert_null(g->req_ctype);
    assert_int_equal(g->resp_body_len, 10);
    assert_memory_equal(g->resp_body, "0123456789", 10);
    assert_int_equal(g->resp_decoded, 0);
    assert_int_equal(g->req_first_ts, step_ts(0));
    assert_int_equal(g->resp_first_ts, step_ts(1));
    assert_int_equal(g->resp_last_ts, step_ts(1));
    assert_int_equal(g->client_port, 40000);
    assert_int_equal(g->server_port, 80);
    assert_int_equal(g->flow_serial, 1);
    assert_int_equal(r->stats.sessions, 1);
    assert_int_equal(r->stats.requests, 1);
    assert_int_equal(r->stats.responses, 1);
    assert_int_equal(r->stats.transactions, 1);
    run_release(r);
}

static void test_post_body(void **state) {
    (void)state;
    const step s[] = {
        REQ("POST /api/login HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            "Content-Length: 16\r\n\r\n{\"user\":\"alice\"}"),
        RSP("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x[] = {{"POST", "/api/login", "a", 201, 16, 0, 0, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->tx[0].req_body_len, 16);
    assert_memory_equal(r->tx[0].req_body, "{\"user\":\"alice\"}", 16);
    assert_string_equal(r->tx[0].req_ctype, "application/json");
    assert_null(r->tx[0].resp_body);
    run_release(r);
}

/* Bodies across the body buffer size classes: sized by Content-Length,
 * grown chunk by chunk, and cut at http_body_capture_bytes; fed whole and
 * in random pieces, with the records and buffers reused between them. */
static void test_large_bodies_keep_their_prefix(void **state) {
    (void)state;
    enum { CL_LEN = 5000, CHUNK_LEN = 1500, CHUNKS = 4, BIG_LEN = 20000 };
    static char pattern[BIG_LEN];
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (char)('a' + (i * 7) % 26);
    static char cl_resp[CL_LEN + 128], chunked_resp[CHUNKS * (CHUNK_LEN + 16) + 128],
        big_resp[BIG_LEN + 128];
    int n =
        snprintf(cl_resp, sizeof cl_resp, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", CL_LEN);
    memcpy(cl_resp + n, pattern, CL_LEN);
    size_t cl_len = (size_t)n + CL_LEN;
    size_t chunked_len = (size_t)snprintf(chunked_resp, sizeof chunked_resp,
                                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int c = 0; c < CHUNKS; c++) {
        chunked_len += (size_t)snprintf(chunked_resp + chunked_len,
                                        sizeof chunked_resp - chunked_len, "%x\r\n", CHUNK_LEN);
        memcpy(chunked_resp + chunked_len, pattern + c * CHUNK_LEN, CHUNK_LEN);
        chunked_len += CHUNK_LEN;
        memcpy(chunked_resp + chunked_len, "\r\n", 2);
        chunked_len += 2;
    }
    memcpy(chunked_resp + chunked_len, "0\r\n\r\n", 5);
    chunked_len += 5;
    n = snprintf(big_resp, sizeof big_resp, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n",
                 BIG_LEN);
    memcpy(big_resp + n, pattern, BIG_LEN);
    size_t big_len = (size_t)n + BIG_LEN;
    const step s[] = {
        REQ("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
        {FLOW_TO_CLIENT, STEP_DATA, cl_resp, cl_len, 0},
        REQ("GET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
        {FLOW_TO_CLIENT, STEP_DATA, chunked_resp, chunked_len, 0},
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        {FLOW_TO_CLIENT, STEP_DATA, big_resp, big_len, 0},
        REQ("GET /d HTTP/1.1\r\nHost: a\r\n\r\n"),
        {FLOW_TO_CLIENT, STEP_DATA, cl_resp, cl_len, 0},
    };
    limits lim = limits_default();
    const uint32_t expected[] = {CL_LEN, CHUNKS * CHUNK_LEN, (uint32_t)lim.http_body_capture_bytes,
                                 CL_LEN};
    for (uint32_t seed = 0; seed < 4; seed++) {
        run *r = calloc(1, sizeof *r);
        assert_non_null(r);
        run_script(s, COUNT(s), seed ? (split){SPLIT_RANDOM, 0, seed} : (split){SPLIT_WHOLE, 0, 0},
                   &lim, r);
        assert_int_equal(r->count, 4);
        for (int i = 0; i < 4; i++) {
            assert_int_equal(r->tx[i].resp_body_len, expected[i]);
            assert_memory_equal(r->tx[i].resp_body, pattern, expected[i]);
        }
        run_release(r);
    }
}

static void test_timestamps_span_chunks(void **state) {
    (void)state;
    const step s[] = {
        REQ("POST /t HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab"),
        REQ("cd"),
        RSP("HTTP/1.1 200 OK\r\nContent-"),
        RSP("Length: 2\r\n\r\nok"),
    };
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->tx[0].req_first_ts, step_ts(0));
    assert_int_equal(r->tx[0].req_last_ts, step_ts(1));
    assert_int_equal(r->tx[0].resp_first_ts, step_ts(2));
    assert_int_equal(r->tx[0].resp_last_ts, step_ts(3));
    run_release(r);
}

static void test_pipelined(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 Not Found\r\nContent-Len"),
        RSP("gth: 2\r\n\r\nbbHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nccc"),
        REQ("POST /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxDELETE /5 HTTP/1.1\r\n"
            "Host: a\r\n\r\n"),
        RSP("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"),
    };
    const expect x[] = {
        {"GET", "/1", "a", 200, 0, 1, 0, 0, 2},    {"GET", "/2", "a", 404, 0, 2, 0, 0, 3},
        {"GET", "/3", "a", 200, 0, 3, 0, 0, 3},    {"POST", "/4", "a", 201, 1, 0, 0, 0, 5},
        {"DELETE", "/5", "a", 204, 0, 0, 0, 0, 5},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
}

static void test_head_no_body(void **state) {
    (void)state;
    const step s[] = {
        REQ("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 123456\r\n\r\n"),
        REQ("GET /n HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
    };
    const expect x[] = {{"HEAD", "/h", "a", 200, 0, 0, 0, 0, 2},
                        {"GET", "/n", "a", 200, 0, 2, 0, 0, 4}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
}

static void test_continue_twice(void **state) {
    (void)state;
    const step s[] = {
        REQ("POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
        RSP("HTTP/1.1 100 Continue\r\n\r\n"),
        RSP("HTTP/1.1 100 Continue\r\n\r\n"),
        REQ("hello"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x[] = {{"POST", "/up", "a", 200, 5, 2, 0, 2, 5}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->stats.interim_responses, 2);
    assert_int_equal(r->stats.responses, 1);
    run_release(r);
}

static void test_204_304(void **state) {
    (void)state;
    const step s[] = {
        REQ("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n"
            "If-None-Match: \"e\"\r\n\r\nGET /z HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nHTTP/1.1 304 Not Modified\r\n"
            "Content-Length: 50\r\nETag: \"e\"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"
            "abc"),
    };
    const expect x[] = {
        {"DELETE", "/x", "a", 204, 0, 0, 0, 0, 2},
        {"GET", "/y", "a", 304, 0, 0, 0, 0, 2},
        {"GET", "/z", "a", 200, 0, 3, 0, 0, 2},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
}

static void test_chunked_extensions_trailers(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
            "5;name=value\r\nhello\r\n6;last\r\n world\r\n0\r\nX-Sum: 11\r\nX-Other: y\r\n"
            "\r\n"),
        REQ("GET /d HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    };
    const expect x[] = {{"GET", "/c", "a", 200, 0, 11, 0, 0, 2},
                        {"GET", "/d", "a", 200, 0, 1, 0, 0, 4}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->tx[0].resp_body_len, 11);
    assert_memory_equal(r->tx[0].resp_body, "hello world", 11);
    assert_int_equal(r->tx[0].resp_headers, 2); /* trailers are not head fields */
    run_release(r);

    /* llhttp 8.1 accepts one extension per chunk: a second one (or a quoted
     * value) makes the response malformed; the next exchange is still found. */
    const step s2[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\nGET /d HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c=\"d\"\r\nhello\r\n"
            "0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    };
    const expect x2[] = {{"GET", "/c", "a", 200, 0, UNKNOWN, TX_FLAG_MALFORMED_RESPONSE, 0, 2},
                         {"GET", "/d", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 2}};
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

static void test_close_delimited_fin(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /cd HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody-until-close"),
        FIN(S2C),
        FIN(C2S),
    };
    const expect x[] = {{"GET", "/cd", "a", 200, 0, 16, 0, 0, 3}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    const step s10[] = {
        REQ("GET /old HTTP/1.0\r\n\r\n"),
        RSP("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n"),
        FIN(S2C),
    };
    const expect x10[] = {{"GET", "/old", NULL, 200, 0, 20, 0, 0, 3}};
    check_scenario(s10, COUNT(s10), x10, COUNT(x10), NULL);
    run *r = run_whole(s10, COUNT(s10), NULL);
    assert_int_equal(r->tx[0].major, 1);
    assert_int_equal(r->tx[0].minor, 0);
    run_release(r);
}

static void test_http10_without_host(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /v1/status HTTP/1.0\r\nUser-Agent: old\r\n\r\n"),
        RSP("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
    };
    const expect x[] = {{"GET", "/v1/status", NULL, 200, 0, 2, 0, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
}

static void test_absolute_form(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET http://user:pw@proxy.example:8080/p?q=1 HTTP/1.1\r\nAccept: */*\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        REQ("GET http://ignored.example/x HTTP/1.1\r\nHost: real.example\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x[] = {
        {"GET", "http://user:pw@proxy.example:8080/p?q=1", "proxy.example:8080", 200, 0, 0, 0, 0,
         2},
        {"GET", "http://ignored.example/x", "real.example", 200, 0, 0, 0, 0, 4},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
}

static void test_upgrade_stops(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
        RSP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "\r\n\x81\x05hello"),
        REQ("\x81\x85xxxxGET /not HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x[] = {{"GET", "/ws", "a", 101, 0, 0, TX_FLAG_UPGRADE, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* An Upgrade the server refuses: parsing goes on. */
    const step s2[] = {
        REQ("GET /u HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            "\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        REQ("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ny"),
    };
    const expect x2[] = {{"GET", "/u", "a", 200, 0, 1, 0, 0, 2},
                         {"GET", "/next", "a", 200, 0, 1, 0, 0, 4}};
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

static void test_connect_tunnel(void **state) {
    (void)state;
    const step s[] = {
        REQ("CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n"),
        RSP("HTTP/1.1 200 Connection established\r\n\r\n"),
        REQ("\x16\x03\x01\x00\x05hello GET / HTTP/1.1\r\n\r\n"),
        RSP("\x16\x03\x03\x00\x02hi HTTP/1.1 200 OK\r\n\r\n"),
    };
    const expect x[] = {
        {"CONNECT", "api.example:443", "api.example:443", 200, 0, 0, TX_FLAG_TUNNEL, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    const step s2[] = {
        REQ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        RSP("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 3\r\n\r\nno!"),
        REQ("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nProxy-Authorization: Basic eA==\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\n\r\n"),
        REQ("\x16\x03\x01"),
    };
    const expect x2[] = {
        {"CONNECT", "a:443", "a:443", 407, 0, 3, 0, 0, 2},
        {"CONNECT", "a:443", "a:443", 200, 0, 0, TX_FLAG_TUNNEL, 0, 4},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

/* ---------------------------------------------------------------- gaps */

static void test_gap_in_length_body(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /g HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n0123456789"),
        GAP(S2C, 10),
        RSP("0123456789"),
        REQ("GET /h HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x[] = {
        {"GET", "/g", "a", 200, 0, 30, TX_FLAG_RESPONSE_GAP, 0, 4},
        {"GET", "/h", "a", 200, 0, 2, 0, 0, 6},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->tx[0].resp_body_len, 10); /* no fake bytes after the gap */
    run_release(r);

    /* The gap ends exactly where the body does. */
    const step s2[] = {
        REQ("GET /g HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n0123456789"),
        GAP(S2C, 10),
        REQ("GET /h HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x2[] = {
        {"GET", "/g", "a", 200, 0, 20, TX_FLAG_RESPONSE_GAP, 0, 3},
        {"GET", "/h", "a", 200, 0, 2, 0, 0, 5},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);

    /* A gap in the request body. */
    const step s3[] = {
        REQ("PUT /p HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\nab"),
        GAP(C2S, 4),
        REQ("cdGET /q HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
            "0\r\n\r\n"),
    };
    const expect x3[] = {
        {"PUT", "/p", "a", 200, 8, 0, TX_FLAG_REQUEST_GAP, 0, 4},
        {"GET", "/q", "a", 200, 0, 0, 0, 0, 4},
    };
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);
}

static void test_gap_across_boundary(void **state) {
    (void)state;
    /* The gap eats the end of response 1 and the start of response 2. */
    const step s[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"),
        GAP(S2C, 30),
        RSP("ength: 4\r\n\r\nlostHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz"),
    };
    const expect x[] = {
        {"GET", "/1", "a", 200, 0, 10, TX_FLAG_RESPONSE_GAP, 0, 3},
        {"GET", "/2", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE | TX_FLAG_RESPONSE_GAP, 0, 3},
        {"GET", "/3", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 4},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* A response lost whole in a gap between two exchanges. */
    const step s2[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        REQ("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        REQ("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        GAP(S2C, 38),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"),
    };
    const expect x2[] = {
        {"GET", "/1", "a", 200, 0, 1, 0, 0, 2},
        {"GET", "/2", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE | TX_FLAG_RESPONSE_GAP, 0, 5},
        {"GET", "/3", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 6},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

static void test_gap_in_chunked_body(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123"),
        GAP(S2C, 3),
        RSP("789\r\n0\r\n\r\n"),
        REQ("GET /d HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    };
    const expect x[] = {
        {"GET", "/c", "a", 200, 0, 10, TX_FLAG_RESPONSE_GAP, 0, 4},
        {"GET", "/d", "a", 200, 0, 1, 0, 0, 6},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* The gap ends exactly at the end of a chunk's data. */
    const step s2[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123"),
        GAP(S2C, 6),
        RSP("\r\n2\r\nxy\r\n0\r\n\r\n"),
    };
    const expect x2[] = {{"GET", "/c", "a", 200, 0, 12, TX_FLAG_RESPONSE_GAP, 0, 4}};
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);

    /* The gap swallows the chunk framing: the message is cut, the next found. */
    const step s3[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\nGET /d HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123"),
        GAP(S2C, 20),
        RSP("0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
    };
    const expect x3[] = {
        {"GET", "/c", "a", 200, 0, UNKNOWN, TX_FLAG_RESPONSE_GAP | TX_FLAG_INCOMPLETE, 0, 3},
        {"GET", "/d", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 4},
    };
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);
}

static void test_gap_in_headers(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /a HTTP/1.1\r\nHost: a\r\nX-Lo"),
        GAP(C2S, 20),
        REQ("ng: y\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
            "\r\nb"),
    };
    const expect x[] = {
        {"GET", "/a", "a", 200, UNKNOWN, 1, TX_FLAG_REQUEST_GAP | TX_FLAG_INCOMPLETE, 0, 4},
        {"GET", "/b", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 4},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* A gap inside a request line: that request is lost (its response is an
     * orphan), the next is found. */
    const step s2[] = {
        REQ("GET /lo"),
        GAP(C2S, 100),
        REQ("ng HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"),
    };
    const expect x2[] = {{NULL, NULL, NULL, 200, ABSENT, 1, TX_FLAG_ORPHAN_RESPONSE, 0, 4},
                         {"GET", "/b", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 5}};
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

static void test_snaplen_and_conflict_flags(void **state) {
    (void)state;
    step s[] = {
        REQ("GET /s HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
        GAP(S2C, 90),
    };
    s[2].flags = TCP_CHUNK_SNAPLEN;
    s[1].flags = TCP_CHUNK_OVERLAP_CONFLICT;
    const expect x[] = {{"GET", "/s", "a", 200, 0, 100,
                         TX_FLAG_RESPONSE_GAP | TX_FLAG_SNAPLEN | TX_FLAG_OVERLAP_CONFLICT, 0, 3}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* A conflict reported after the request was complete still marks it. */
    step s2[] = {
        REQ("GET /o HTTP/1.1\r\nHost: a\r\n\r\n"),
        REQ("x"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    s2[1].flags = TCP_CHUNK_OVERLAP_CONFLICT;
    run *r = run_whole(s2, COUNT(s2), NULL);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->tx[0].flags, TX_FLAG_OVERLAP_CONFLICT);
    run_release(r);
}

/* ---------------------------------------------------------------- not HTTP, resync */

static void test_junk_produces_nothing(void **state) {
    (void)state;
    static char tls[205], random_bytes[3000], random_reply[500];
    tls[0] = 0x16;
    tls[1] = 0x03;
    tls[2] = 0x01;
    tls[3] = 0;
    tls[4] = (char)200;
    for (int i = 0; i < 200; i++)
        tls[5 + i] = (char)i;
    uint32_t rng = 9;
    for (size_t i = 0; i < sizeof random_bytes; i++)
        random_bytes[i] = (char)rng_next(&rng);
    for (size_t i = 0; i < sizeof random_reply; i++)
        random_reply[i] = (char)rng_next(&rng);

    const step tls_flow[] = {
        {C2S, STEP_DATA, tls, sizeof tls, 0},
        {S2C, STEP_DATA, random_reply, sizeof random_reply, 0},
        FIN(C2S),
        FIN(S2C),
    };
    check_scenario(tls_flow, COUNT(tls_flow), NULL, 0, NULL);
    run *r = run_whole(tls_flow, COUNT(tls_flow), NULL);
    assert_int_equal(r->an.count[ANOMALY_HTTP_NOT_HTTP], 1);
    run_release(r);

    const step ssh_flow[] = {
        RSP("SSH-2.0-OpenSSH_9.6\r\n"),
        REQ("SSH-2.0-client\r\n\0\0\0\x14\x06\x1f"),
    };
    check_scenario(ssh_flow, COUNT(ssh_flow), NULL, 0, NULL);

    const step binary_flow[] = {
        {C2S, STEP_DATA, random_bytes, sizeof random_bytes, 0},
        {S2C, STEP_DATA, random_reply, sizeof random_reply, 0},
    };
    check_scenario(binary_flow, COUNT(binary_flow), NULL, 0, NULL);

    const step almost_http[] = {
        REQ("GET\r\n\r\nHTTP/9.9 xyz\r\n\x00\xff garbage\r\n\r\n"),
        {S2C, STEP_DATA, random_reply, sizeof random_reply, 0},
    };
    check_scenario(almost_http, COUNT(almost_http), NULL, 0, NULL);

    const step h2[] = {
        REQ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"),
        RSP("\x00\x00\x00\x04\x01\x00\x00\x00\x00"),
    };
    check_scenario(h2, COUNT(h2), NULL, 0, NULL);
}

static void test_malformed_then_valid(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x[] = {{"GET", "/ok", "a", 200, 0, 0, TX_FLAG_RESYNC, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* A broken message between two good ones on a parsed stream. */
    const step s2[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nBOGUS\x01LINE\r\nGET /2 HTTP/1.1\r\nHost: "
            "a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: "
            "0\r\n\r\n"),
    };
    const expect x2[] = {
        {"GET", "/1", "a", 200, 0, 0, 0, 0, 2},
        {"GET", "/2", "a", 200, 0, 0, TX_FLAG_RESYNC, 0, 2},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
    run *r = run_whole(s2, COUNT(s2), NULL);
    assert_int_equal(r->an.count[ANOMALY_HTTP_MALFORMED_REQUEST], 1);
    assert_int_equal(r->an.count[ANOMALY_HTTP_RESYNC], 1);
    run_release(r);

    /* A request that fails after its request line is still paired. */
    const step s3[] = {
        REQ("GET /bad HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"),
        RSP("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x3[] = {{"GET", "/bad", "a", 400, UNKNOWN, 0, TX_FLAG_MALFORMED_REQUEST, 0, 2}};
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);

    /* A response with a broken header block still answers its request. */
    const step s4[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nBro\x01ken: x\r\nContent-Length: 2\r\n\r\nab"
            "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nc"),
    };
    const expect x4[] = {
        {"GET", "/1", "a", 200, 0, UNKNOWN, TX_FLAG_MALFORMED_RESPONSE, 0, 2},
        {"GET", "/2", "a", 404, 0, 1, TX_FLAG_RESYNC, 0, 2},
    };
    check_scenario(s4, COUNT(s4), x4, COUNT(x4), NULL);
}

static void test_midstream_pickup(void **state) {
    (void)state;
    /* Capture starts inside a request body and inside a response body. */
    const step s[] = {
        REQ("rest of a form body\r\nname=value&x=1\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("tail of a text body\r\nHTTP/1.1 is mentioned here\r\nHTTP/1.1 200 OK\r\n"
            "Content-Length: 2\r\n\r\nok"),
    };
    const expect x[] = {{"GET", "/next", "a", 200, 0, 2, TX_FLAG_RESYNC, 0, 2}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* Messages right after a body that ends without a newline. */
    const step s2[] = {
        REQ("\"x\":1}GET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("\"done\":true}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x2[] = {{"GET", "/next", "a", 200, 0, 2, TX_FLAG_RESYNC, 0, 2}};
    check_one(s2, COUNT(s2), x2, COUNT(x2), NULL, (split){SPLIT_WHOLE, 0, 0});

    /* A stream that starts with a response (request before the capture). */
    const step s3[] = {
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        REQ("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    };
    const expect x3[] = {
        {NULL, NULL, NULL, 200, ABSENT, 2, TX_FLAG_ORPHAN_RESPONSE, 0, 1},
        {"GET", "/x", "a", 404, 0, 0, 0, 0, 3},
    };
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);
}

static void test_lost_messages_keep_pairing(void **state) {
    (void)state;
    /* A whole exchange dropped by the capture: request and response gaps. */
    const step s[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        GAP(C2S, 50),
        REQ("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        GAP(S2C, 40),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"),
    };
    const expect x[] = {
        {"GET", "/1", "a", 200, 0, 1, 0, 0, 2},
        {"GET", "/3", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 6},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    /* Only the request was lost: its response is an orphan. */
    const step s2[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"),
        GAP(C2S, 50),
        REQ("GET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nbb"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"),
    };
    const expect x2[] = {
        {"GET", "/1", "a", 200, 0, 1, 0, 0, 2},
        {NULL, NULL, NULL, 404, ABSENT, 2, TX_FLAG_ORPHAN_RESPONSE, 0, 5},
        {"GET", "/3", "a", 200, 0, 1, TX_FLAG_RESYNC, 0, 6},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);

    /* The server stream is picked up inside the response to a pending request. */
    const step s3[] = {
        REQ("GET /js HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("var a = 1;\nfunction f() { return a; }\n"),
        REQ("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x3[] = {
        {"GET", "/js", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE | TX_FLAG_RESPONSE_GAP, 0, 2},
        {"GET", "/next", "a", 200, 0, 2, TX_FLAG_RESYNC, 0, 4},
    };
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);

    /* A SOCKS 5 handshake before the HTTP exchange. */
    const step s4[] = {
        {C2S, STEP_DATA, "\x05\x01\x00", 3, 0},
        {S2C, STEP_DATA, "\x05\x00", 2, 0},
        {C2S, STEP_DATA, "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x50", 10, 0},
        {S2C, STEP_DATA, "\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10, 0},
        REQ("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    const expect x4[] = {{"GET", "/", "a", 200, 0, 2, TX_FLAG_RESYNC, 0, 6}};
    check_scenario(s4, COUNT(s4), x4, COUNT(x4), NULL);
}

static void test_roles_swapped(void **state) {
    (void)state;
    /* The flow table took the server for the client: requests arrive on
     * the to-client direction. */
    const step s[] = {
        {S2C, STEP_DATA, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n", 28, 0},
        {C2S, STEP_DATA, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 40, 0},
        {S2C, STEP_DATA, "GET /y HTTP/1.1\r\nHost: a\r\n\r\n", 28, 0},
        {C2S, STEP_DATA, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 45, 0},
    };
    const expect x[] = {{"GET", "/x", "a", 200, 0, 2, 0, 0, 2},
                        {"GET", "/y", "a", 404, 0, 0, 0, 0, 4}};
    /* The evidence is a whole start line in one segment, as real ones are. */
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_WHOLE, 0, 0});
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_FIXED, 0, 1460});
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_AT, 1, 30});
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->tx[0].client_port, 80);
    assert_int_equal(r->tx[0].server_port, 40000);
    run_release(r);
}

/* ---------------------------------------------------------------- bounds */

static void test_pipeline_bound(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.http_pipeline_depth = 2;
    const step s[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
            "GET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n3HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
            "\r\n4"),
    };
    const expect x[] = {
        {"GET", "/1", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE, 0, 1},
        {"GET", "/2", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE, 0, 1},
        {"GET", "/3", "a", 200, 0, 1, 0, 0, 2},
        {"GET", "/4", "a", 200, 0, 1, 0, 0, 2},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), &lim);
    run *r = run_whole(s, COUNT(s), &lim);
    assert_int_equal(r->an.count[ANOMALY_HTTP_PIPELINE_FULL], 2);
    run_release(r);
}

static char *make_long_request(const char *prefix, size_t uri_len, const char *before,
                               size_t header_len, const char *after, size_t *len_out) {
    size_t cap = uri_len + header_len + 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, cap, "%s", prefix);
    size_t target_start = n;
    while (n < target_start + uri_len)
        buf[n++] = 'a';
    n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.1\r\n%s", before);
    if (header_len > 0) {
        size_t line_start = n;
        n += (size_t)snprintf(buf + n, cap - n, "X-Long: ");
        while (n < line_start + header_len)
            buf[n++] = 'b';
        n += (size_t)snprintf(buf + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(buf + n, cap - n, "%s\r\n", after);
    *len_out = n;
    return buf;
}

static void test_head_bound(void **state) {
    (void)state;
    /* A 65536-byte target and a 65536-byte header line (the edge capture). */
    size_t len = 0;
    char *big = make_long_request("GET /api/v1/search?q=", 65536 - 17, "Host: api.example\r\n",
                                  65536, "User-Agent: t\r\n", &len);
    const step s[] = {
        {C2S, STEP_DATA, big, len, 0},
        RSP("HTTP/1.1 414 URI Too Long\r\nContent-Length: 15\r\n\r\n{\"error\":\"uri\"}"),
        REQ("GET /api/v1/after HTTP/1.1\r\nHost: api.example\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
    };
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->tx[0].uri_len, 65536);
    assert_memory_equal(r->tx[0].uri, "/api/v1/search?q=aaaa", 21);
    assert_string_equal(r->tx[0].host, "api.example");
    assert_int_equal(r->tx[0].status, 414);
    assert_int_equal(r->tx[0].flags, TX_FLAG_HEAD_TRUNCATED);
    assert_string_equal(r->tx[1].uri, "/api/v1/after");
    assert_int_equal(r->tx[1].flags, 0);
    assert_int_equal(r->an.count[ANOMALY_HTTP_HEAD_TRUNCATED], 1);
    run_release(r);

    char uri[65536 + 1];
    memset(uri, 'a', sizeof uri - 1);
    memcpy(uri, "/api/v1/search?q=", 17);
    uri[65536] = '\0';
    const expect x[] = {
        {"GET", uri, "api.example", 414, 0, 15, TX_FLAG_HEAD_TRUNCATED, 0, 2},
        {"GET", "/api/v1/after", "api.example", 200, 0, 2, 0, 0, 4},
    };
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_FIXED, 0, 1460});
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_BYTES, 0, 0});
    check_one(s, COUNT(s), x, COUNT(x), NULL, (split){SPLIT_RANDOM, 0, 3});
    free(big);

    /* Key headers after a head-filling line are still kept. */
    big = make_long_request("POST /x", 10, "", 140000,
                            "Host: late.example\r\nContent-Type: text/plain\r\n"
                            "X-After: dropped\r\nContent-Length: 3\r\n\r\nabc",
                            &len);
    len -= 2; /* the helper's final CRLF is not part of this request */
    const step s2[] = {
        {C2S, STEP_DATA, big, len, 0},
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    r = run_whole(s2, COUNT(s2), NULL);
    assert_int_equal(r->count, 1);
    assert_string_equal(r->tx[0].host, "late.example");
    assert_string_equal(r->tx[0].req_ctype, "text/plain");
    assert_int_equal(r->tx[0].req_bytes, 3);
    assert_int_equal(r->tx[0].flags, TX_FLAG_HEAD_TRUNCATED);
    run_release(r);
    free(big);

    /* More header fields than http_headers_per_message. */
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "GET /m HTTP/1.1\r\n");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: %d\r\n", i, i);
    n += (size_t)snprintf(many + n, sizeof many - n, "Host: h\r\n\r\n");
    limits lim = limits_default();
    lim.http_headers_per_message = 8;
    const step s3[] = {
        {C2S, STEP_DATA, many, n, 0},
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    r = run_whole(s3, COUNT(s3), &lim);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->tx[0].req_headers, 8);
    assert_string_equal(r->tx[0].host, "h");
    assert_int_equal(r->tx[0].flags, TX_FLAG_HEAD_TRUNCATED);
    run_release(r);
}

/* ---------------------------------------------------------------- close, RST */

static void test_incomplete_at_close(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}"),
        REQ("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
    };
    const expect x[] = {
        {"GET", "/a", "a", 200, 0, 7, 0, 0, 2},
        {"GET", "/big", "a", 200, 0, UNKNOWN, TX_FLAG_INCOMPLETE, 0, 0},
    };
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->tx[1].step, -1); /* at close, not before */
    run_release(r);

    /* Requests without a response at close; a request cut in its body. */
    const step s2[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n"
            "\r\nabc"),
    };
    const expect x2[] = {
        {"GET", "/1", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE, 0, 0},
        {"POST", "/2", "a", 0, UNKNOWN, ABSENT, TX_FLAG_NO_RESPONSE | TX_FLAG_INCOMPLETE, 0, 0},
    };
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);
}

static void test_rst(void **state) {
    (void)state;
    const step s[] = {
        REQ("GET /dl HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n0123456789"),
        RST(S2C),
        RSP("more after the reset"),
    };
    const expect x[] = {
        {"GET", "/dl", "a", 200, 0, UNKNOWN, TX_FLAG_INCOMPLETE | TX_FLAG_CONNECTION_RESET, 0, 3}};
    check_scenario(s, COUNT(s), x, COUNT(x), NULL);

    const step s2[] = {
        REQ("GET /third HTTP/1.1\r\nHost: a\r\n\r\n"),
        RST(C2S),
    };
    const expect x2[] = {
        {"GET", "/third", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE | TX_FLAG_CONNECTION_RESET, 0, 2}};
    check_scenario(s2, COUNT(s2), x2, COUNT(x2), NULL);

    /* A close-delimited body ended by a reset keeps its length. */
    const step s3[] = {
        REQ("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.0 200 OK\r\n\r\nabcd"),
        RST(S2C),
    };
    const expect x3[] = {{"GET", "/c", "a", 200, 0, 4, TX_FLAG_CONNECTION_RESET, 0, 3}};
    check_scenario(s3, COUNT(s3), x3, COUNT(x3), NULL);

    /* Server FIN: pending requests will get no response. */
    const step s4[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        FIN(S2C),
        REQ("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
    };
    const expect x4[] = {
        {"GET", "/1", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE, 0, 2},
        {"GET", "/2", "a", 0, 0, ABSENT, TX_FLAG_NO_RESPONSE, 0, 3},
    };
    check_scenario(s4, COUNT(s4), x4, COUNT(x4), NULL);
}

/* ---------------------------------------------------------------- content decoding */

static char *make_json(size_t want, size_t *len_out) {
    char *buf = malloc(want + 128);
    assert_non_null(buf);
    size_t n = 0;
    uint32_t rng = 7;
    buf[n++] = '[';
    while (n < want) {
        n += (size_t)snprintf(buf + n, want + 128 - n,
                              "{\"id\":%u,\"name\":\"user%u\",\"score\":%u.%02u},", rng_next(&rng),
                              rng_next(&rng), rng_next(&rng), rng_next(&rng) % 100);
    }
    buf[n - 1] = ']';
    *len_out = n;
    return buf;
}

static uint8_t *zlib_compress(const char *in, size_t len, int wbits, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static uint8_t *brotli_compress(const char *in, size_t len, size_t *out_len) {
    size_t cap = BrotliEncoderMaxCompressedSize(len) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    *out_len = cap;
    assert_true(
        BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, len, (const uint8_t *)in, out_len, out));
    return out;
}

/* A response "200" carrying body with Content-Encoding coding, CL-framed or chunked. */
static char *make_encoded_response(const char *coding, const uint8_t *body, size_t body_len,
                                   int chunked, size_t *len_out) {
    size_t cap = body_len * 2 + 512;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n;
    if (!chunked) {
        n = (size_t)snprintf(buf, cap,
                             "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Encoding: %s\r\nContent-Length: %zu\r\n\r\n",
                             coding, body_len);
        memcpy(buf + n, body, body_len);
        n += body_len;
    } else {
        n = (size_t)snprintf(buf, cap,
                             "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n",
                             coding);
        for (size_t off = 0; off < body_len; off += 1000) {
            size_t piece = body_len - off < 1000 ? body_len - off : 1000;
            n += (size_t)snprintf(buf + n, cap - n, "%zx\r\n", piece);
            memcpy(buf + n, body + off, piece);
            n += piece;
            buf[n++] = '\r';
            buf[n++] = '\n';
        }
        n += (size_t)snprintf(buf + n, cap - n, "0\r\n\r\n");
    }
    *len_out = n;
    return buf;
}

static void check_decoded(const char *coding, const uint8_t *wire, size_t wire_len,
                          const char *json, size_t json_len, int chunked) {
    size_t len = 0;
    char *resp = make_encoded_response(coding, wire, wire_len, chunked, &len);
    const step s[] = {
        REQ("GET /data HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n"),
        {S2C, STEP_DATA, resp, len, 0},
        REQ("GET /after HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    split splits[] = {{SPLIT_WHOLE, 0, 0},
                      {SPLIT_BYTES, 0, 0},
                      {SPLIT_FIXED, 0, 1460},
                      {SPLIT_RANDOM, 0, 1},
                      {SPLIT_RANDOM, 0, 2}};
    for (size_t i = 0; i < COUNT(splits); i++) {
        run *r = calloc(1, sizeof *r);
        assert_non_null(r);
        run_script(s, COUNT(s), splits[i], NULL, r);
        assert_int_equal(r->count, 2);
        got *g = &r->tx[0];
        assert_int_equal(g->resp_known, 1);
        assert_int_equal(g->resp_bytes, wire_len);
        assert_int_equal(g->resp_decoded, 1);
        assert_int_equal(g->flags, 0);
        assert_string_equal(g->resp_cenc, coding);
        assert_int_equal(g->resp_body_len, json_len);
        assert_memory_equal(g->resp_body, json, json_len);
        assert_string_equal(r->tx[1].uri, "/after");
        run_release(r);
    }
    free(resp);
}

static void test_content_decoding(void **state) {
    (void)state;
    size_t json_len = 0;
    char *json = make_json(20000, &json_len);
    size_t n = 0;
    uint8_t *gz = zlib_compress(json, json_len, 15 + 16, &n);
    check_decoded("gzip", gz, n, json, json_len, 0);
    check_decoded("x-gzip", gz, n, json, json_len, 1);
    free(gz);
    uint8_t *zl = zlib_compress(json, json_len, 15, &n);
    check_decoded("deflate", zl, n, json, json_len, 0);
    free(zl);
    uint8_t *raw = zlib_compress(json, json_len, -15, &n);
    check_decoded("deflate", raw, n, json, json_len, 1);
    free(raw);
    uint8_t *br = brotli_compress(json, json_len, &n);
    check_decoded("br", br, n, json, json_len, 0);
    check_decoded("BR", br, n, json, json_len, 1);
    free(br);

    /* A deflate request body. */
    const char *form = "{\"user\":\"alice\",\"password\":\"secret\"}";
    uint8_t *req_body = zlib_compress(form, strlen(form), 15, &n);
    char req[512];
    size_t req_len = (size_t)snprintf(req, sizeof req,
                                      "POST /login HTTP/1.1\r\nHost: a\r\nContent-Encoding: "
                                      "deflate\r\nContent-Length: %zu\r\n\r\n",
                                      n);
    memcpy(req + req_len, req_body, n);
    req_len += n;
    const step s[] = {
        {C2S, STEP_DATA, req, req_len, 0},
        RSP("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->tx[0].req_bytes, n);
    assert_int_equal(r->tx[0].req_decoded, 1);
    assert_int_equal(r->tx[0].req_body_len, strlen(form));
    assert_memory_equal(r->tx[0].req_body, form, strlen(form));
    run_release(r);
    free(req_body);

    /* Unknown and stacked codings are captured raw; corrupt data is flagged. */
    const step s2[] = {
        REQ("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        RSP("HTTP/1.1 200 OK\r\nContent-Encoding: compress\r\nContent-Length: 4\r\n\r\nabcd"
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzipped!"),
    };
    r = run_whole(s2, COUNT(s2), NULL);
    assert_int_equal(r->count, 2);
    assert_int_equal(r->tx[0].resp_decoded, 0);
    assert_int_equal(r->tx[0].resp_body_len, 4);
    assert_int_equal(r->tx[0].flags, 0);
    assert_int_equal(r->tx[1].resp_bytes, 12);
    assert_int_equal(r->tx[1].flags, TX_FLAG_DECODE_ERROR);
    assert_int_equal(r->an.count[ANOMALY_HTTP_DECODE_ERROR], 1);
    run_release(r);
    free(json);
}

static void test_decompression_bomb(void **state) {
    (void)state;
    size_t zeros_len = 8u << 20;
    char *zeros = calloc(1, zeros_len);
    assert_non_null(zeros);
    size_t n = 0;
    uint8_t *gz = zlib_compress(zeros, zeros_len, 15 + 16, &n);
    size_t len = 0;
    char *resp = make_encoded_response("gzip", gz, n, 0, &len);
    const step s[] = {
        REQ("GET /bomb HTTP/1.1\r\nHost: a\r\n\r\n"),
        {S2C, STEP_DATA, resp, len, 0},
    };
    run *r = run_whole(s, COUNT(s), NULL);
    assert_int_equal(r->count, 1);
    assert_int_equal(r->tx[0].resp_bytes, n);
    assert_int_equal(r->tx[0].flags, TX_FLAG_BODY_TRUNCATED);
    assert_true(r->tx[0].resp_body_len <= 65536);
    assert_int_equal(r->an.count[ANOMALY_HTTP_DECODE_RATIO], 1);
    run_release(r);

    /* Below the ratio, the decoded-size bound cuts the body instead. */
    limits lim = limits_default();
    lim.http_decompression_ratio = 100000;
    r = run_whole(s, COUNT(s), &lim);
    assert_int_equal(r->tx[0].flags, TX_FLAG_BODY_TRUNCATED);
    assert_int_equal(r->tx[0].resp_body_len, 65536);
    assert_int_equal(r->an.count[ANOMALY_HTTP_DECODE_RATIO], 0);
    run_release(r);
    free(resp);
    free(gz);
    free(zeros);
}

static void test_body_decoder_unit(void **state) {
    (void)state;
    assert_int_equal(http_body_coding("gzip", 4), HTTP_CODING_GZIP);
    assert_int_equal(http_body_coding(" X-GZip ", 8), HTTP_CODING_GZIP);
    assert_int_equal(http_body_coding("deflate", 7), HTTP_CODING_DEFLATE);
    assert_int_equal(http_body_coding("br", 2), HTTP_CODING_BR);
    assert_int_equal(http_body_coding("identity", 8), HTTP_CODING_NONE);
    assert_int_equal(http_body_coding("", 0), HTTP_CODING_NONE);
    assert_int_equal(http_body_coding("gzip, identity", 14), HTTP_CODING_GZIP);
    assert_int_equal(http_body_coding("gzip, br", 8), HTTP_CODING_UNSUPPORTED);
    assert_int_equal(http_body_coding("compress", 8), HTTP_CODING_UNSUPPORTED);

    /* Output limit reached exactly at the end of the stream: not truncated. */
    const char *text = "hello hello hello hello";
    size_t n = 0;
    uint8_t *raw = zlib_compress(text, strlen(text), -15, &n);
    http_body_decoder *d = NULL;
    assert_int_equal(http_body_decoder_create(&d), AS_OK);
    uint8_t out[64];
    size_t out_len = 0, consumed = 0;
    assert_int_equal(http_body_decoder_start(d, HTTP_CODING_DEFLATE, strlen(text), 200), AS_OK);
    as_status st = AS_OK;
    for (size_t i = 0; i < n && st == AS_OK; i++)
        st = http_body_decoder_feed(d, raw + i, 1, &consumed, out, strlen(text), &out_len);
    assert_int_equal(st, AS_DONE);
    assert_int_equal(out_len, strlen(text));
    assert_false(http_body_decoder_truncated(d));

    /* One byte short: truncated. */
    assert_int_equal(http_body_decoder_start(d, HTTP_CODING_DEFLATE, strlen(text) - 1, 200), AS_OK);
    out_len = 0;
    st = http_body_decoder_feed(d, raw, n, &consumed, out, strlen(text) - 1, &out_len);
    assert_int_equal(st, AS_DONE);
    assert_true(http_body_decoder_truncated(d));
    assert_int_equal(out_len, strlen(text) - 1);

    /* A small output buffer asks to grow. */
    assert_int_equal(http_body_decoder_start(d, HTTP_CODING_DEFLATE, sizeof out, 200), AS_OK);
    out_len = 0;
    st = http_body_decoder_feed(d, raw, n, &consumed, out, 4, &out_len);
    assert_int_equal(st, AS_NEED_MORE);
    assert_int_equal(out_len, 4);
    st = http_body_decoder_feed(d, raw + consumed, n - consumed, &consumed, out, sizeof out,
                                &out_len);
    assert_int_equal(st, AS_DONE);
    assert_int_equal(out_len, strlen(text));
    assert_memory_equal(out, text, strlen(text));
    http_body_decoder_destroy(d);
    http_body_decoder_destroy(NULL);
    free(raw);
}

/* ---------------------------------------------------------------- engine API */

static void test_looks_like(void **state) {
    (void)state;
    const char *yes_req[] = {"G",
                             "GET",
                             "GET ",
                             "GET /",
                             "GET /x HTTP/1.1\r\n",
                             "M-SEARCH * HTTP/1.1\r",
                             "PROPFIND /dav HTTP/1.1\r\n",
                             "OPTIONS * HTTP/1.0\n",
                             "MKCALENDAR /c"};
    const char *no_req[] = {"GET\r\n",         "get / HTTP/1.1",     "GET  / HTTP/1.1",
                            "GETX / HTTP/1.1", "GET / HTTP/2.0\r\n", "GET / HTTP/1.1x",
                            "HTTP/1.1 200 OK", "\x16\x03",           "SSH-2.0"};
    for (size_t i = 0; i < COUNT(yes_req); i++)
        assert_true(http1_looks_like_request((const uint8_t *)yes_req[i], strlen(yes_req[i])));
    for (size_t i = 0; i < COUNT(no_req); i++)
        assert_false(http1_looks_like_request((const uint8_t *)no_req[i], strlen(no_req[i])));
    const char *yes_resp[] = {"H", "HTTP/1.", "HTTP/1.1 200 OK\r\n", "HTTP/1.0 404",
                              "HTTP/1.1 200\r\n"};
    const char *no_resp[] = {"HTTP/2 200", "HTTP/1.1 20x", "HTTP/1.1  200", "GET / HTTP/1.1",
                             "HTTP/1.1 2000 OK"};
    for (size_t i = 0; i < COUNT(yes_resp); i++)
        assert_true(http1_looks_like_response((const uint8_t *)yes_resp[i], strlen(yes_resp[i])));
    for (size_t i = 0; i < COUNT(no_resp); i++)
        assert_false(http1_looks_like_response((const uint8_t *)no_resp[i], strlen(no_resp[i])));
    assert_false(http1_looks_like_request(NULL, 0));
    assert_false(http1_looks_like_response((const uint8_t *)"", 0));
}

static void test_flag_names(void **state) {
    (void)state;
    assert_string_equal(tx_flag_name(TX_FLAG_BIT_NO_RESPONSE), "no_response");
    assert_string_equal(tx_flag_name(TX_FLAG_BIT_SNAPLEN), "truncated");
    assert_string_equal(tx_flag_name(TX_FLAG_BIT_DECODE_ERROR), "body_decode_error");
    assert_string_equal(tx_flag_name(-1), "unknown");
    assert_string_equal(tx_flag_name(TX_FLAG_COUNT), "unknown");
}

static void test_engine_lifecycle(void **state) {
    (void)state;
    limits lim = limits_default();
    http_engine *e = NULL;
    assert_int_equal(http_engine_create(&lim, 0, &e), AS_ERR_ARG);
    assert_int_equal(http_engine_create(&lim, 4, &e), AS_OK);
    anomaly_counters an;
    memset(&an, 0, sizeof an);
    http_transaction tx;
    const char *req = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    tcp_chunk c_req = {(const uint8_t *)req, (uint32_t)strlen(req), 0, 1};
    tcp_chunk c_resp = {(const uint8_t *)resp, (uint32_t)strlen(resp), 0, 2};

    /* Out-of-range slot: ignored. */
    flow bad = test_flow(4, 1);
    http_engine_feed(e, &bad, FLOW_TO_SERVER, &c_req, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);

    /* Fed twice without draining: nothing is lost. */
    flow f = test_flow(1, 10);
    http_engine_feed(e, &f, FLOW_TO_SERVER, &c_req, &an);
    http_engine_feed(e, &f, FLOW_TO_CLIENT, &c_resp, &an);
    assert_int_equal(http_engine_next(e, &tx), 1);
    assert_int_equal(tx.status, 200);
    assert_int_equal(http_engine_next(e, &tx), 0);

    /* The slot reused by another flow without a close: the old session ends. */
    http_engine_feed(e, &f, FLOW_TO_SERVER, &c_req, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);
    flow g = test_flow(1, 11);
    g.client_port = 40001;
    http_engine_feed(e, &g, FLOW_TO_SERVER, &c_req, &an);
    assert_int_equal(http_engine_next(e, &tx), 1);
    assert_int_equal(tx.flow_serial, 10);
    assert_int_equal(tx.flags, TX_FLAG_NO_RESPONSE);
    assert_int_equal(http_engine_next(e, &tx), 0);
    http_engine_feed(e, &g, FLOW_TO_CLIENT, &c_resp, &an);
    assert_int_equal(http_engine_next(e, &tx), 1);
    assert_int_equal(tx.flow_serial, 11);
    assert_int_equal(tx.client_port, 40001);
    http_engine_close(e, &g, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);

    /* ignore() before any HTTP stops the flow; after HTTP it does not. */
    flow h = test_flow(2, 20);
    const char *junk = "xxxx";
    tcp_chunk c_junk = {(const uint8_t *)junk, 4, 0, 3};
    http_engine_feed(e, &h, FLOW_TO_SERVER, &c_junk, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);
    http_engine_ignore(e, &h);
    http_engine_feed(e, &h, FLOW_TO_SERVER, &c_req, &an);
    http_engine_feed(e, &h, FLOW_TO_CLIENT, &c_resp, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);
    http_engine_close(e, &h, &an);
    flow k = test_flow(3, 30);
    http_engine_feed(e, &k, FLOW_TO_SERVER, &c_req, &an);
    assert_int_equal(http_engine_next(e, &tx), 0);
    http_engine_ignore(e, &k);
    http_engine_feed(e, &k, FLOW_TO_CLIENT, &c_resp, &an);
    assert_int_equal(http_engine_next(e, &tx), 1);
    assert_int_equal(tx.uri.len, 2);
    assert_memory_equal(tx.uri.ptr, "/a", 2);
    http_engine_close(e, &k, &an);

    /* A flow given up and closed: its slot works again for the next flow. */
    flow m = test_flow(2, 21);
    http_engine_feed(e, &m, FLOW_TO_SERVER, &c_req, &an);
    http_engine_feed(e, &m, FLOW_TO_CLIENT, &c_resp, &an);
    assert_int_equal(http_engine_next(e, &tx), 1);
    http_engine_stats st = http_engine_get_stats(e);
    assert_int_equal(st.sessions_live, 1);
    assert_true(st.session_bytes_live > 0);
    http_engine_destroy(e);
}

/* Requests of `flows` connections, each with a 64 KiB body and no response
 * yet, then a response on each; returns the bytes the engine held at the
 * peak and counts the bodies captured whole into *whole. */
static uint64_t feed_many_bodies(const limits *lim, uint32_t flows, uint32_t *emitted,
                                 uint32_t *whole, anomaly_counters *an) {
    enum { BODY = 65536 };
    http_engine *e = NULL;
    assert_int_equal(http_engine_create(lim, flows, &e), AS_OK);
    char *req = malloc(BODY + 128);
    assert_non_null(req);
    int head =
        snprintf(req, 128, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", BODY);
    memset(req + head, 'x', BODY);
    const char *resp = "HTTP/1.1 204 No Content\r\n\r\n";
    memset(an, 0, sizeof *an);
    *emitted = *whole = 0;
    http_transaction tx;
    for (uint32_t i = 0; i < flows; i++) {
        flow f = test_flow(i, 100 + i);
        tcp_chunk c = {(const uint8_t *)req, (uint32_t)(head + BODY), 0, 1000 + i};
        http_engine_feed(e, &f, FLOW_TO_SERVER, &c, an);
        assert_int_equal(http_engine_next(e, &tx), 0);
    }
    uint64_t peak = http_engine_get_stats(e).session_bytes_live;
    for (uint32_t i = 0; i < flows; i++) {
        flow f = test_flow(i, 100 + i);
        tcp_chunk c = {(const uint8_t *)resp, (uint32_t)strlen(resp), 0, 5000 + i};
        http_engine_feed(e, &f, FLOW_TO_CLIENT, &c, an);
        while (http_engine_next(e, &tx)) {
            (*emitted)++;
            assert_int_equal(tx.status, 204);
            assert_true(tx.request.body_bytes_known);
            assert_int_equal(tx.request.body_bytes, BODY);
            *whole += tx.request.body_len == BODY;
        }
        http_engine_close(e, &f, an);
    }
    free(req);
    http_engine_destroy(e);
    return peak;
}

/* http_memory_bytes bounds what all flows hold together: bodies past it
 * are cut (the transactions are all reported, with their sizes), and the
 * refusals are counted. */
static void test_memory_limit_across_flows(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.http_body_capture_bytes = 65536;
    uint32_t emitted, whole;
    anomaly_counters an;
    uint64_t free_peak = feed_many_bodies(&lim, 40, &emitted, &whole, &an);
    assert_int_equal(emitted, 40);
    assert_int_equal(whole, 40);
    assert_int_equal(an.count[ANOMALY_HTTP_MEMORY_LIMIT], 0);
    assert_true(free_peak > 40u * 65536);

    lim.http_memory_bytes = 1 << 20;
    uint64_t capped_peak = feed_many_bodies(&lim, 40, &emitted, &whole, &an);
    assert_int_equal(emitted, 40);
    assert_true(whole >= 8 && whole < 16);
    assert_true(an.count[ANOMALY_HTTP_MEMORY_LIMIT] > 0);
    assert_true(capped_peak <= (1u << 20) + 40u * 4096);
}

/* Past the limit a connection keeps one request waiting: the older ones are
 * reported without a response instead of piling up. */
static void test_memory_limit_pipelined(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.http_memory_bytes = 1 << 20;
    lim.http_pipeline_depth = 4096;
    http_engine *e = NULL;
    assert_int_equal(http_engine_create(&lim, 4, &e), AS_OK);
    const char *one = "GET /item HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = strlen(one);
    enum { REQUESTS = 4000 };
    char *many = malloc(n * REQUESTS);
    assert_non_null(many);
    for (int i = 0; i < REQUESTS; i++)
        memcpy(many + (size_t)i * n, one, n);
    anomaly_counters an;
    memset(&an, 0, sizeof an);
    flow f = test_flow(0, 1);
    http_transaction tx;
    uint32_t emitted = 0;
    uint64_t peak = 0;
    for (int i = 0; i < REQUESTS; i += 100) {
        tcp_chunk c = {(const uint8_t *)many + (size_t)i * n, (uint32_t)(n * 100), 0, 1000};
        http_engine_feed(e, &f, FLOW_TO_SERVER, &c, &an);
        while (http_engine_next(e, &tx)) {
            assert_true(tx.flags & TX_FLAG_NO_RESPONSE);
            emitted++;
        }
        uint64_t live = http_engine_get_stats(e).session_bytes_live;
        peak = live > peak ? live : peak;
    }
    http_engine_close(e, &f, &an);
    while (http_engine_next(e, &tx))
        emitted++;
    assert_int_equal(emitted, REQUESTS);
    assert_true(an.count[ANOMALY_HTTP_MEMORY_LIMIT] > 0);
    assert_true(peak <= (1u << 20) + 256u * 1024);
    free(many);
    http_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_body),
        cmocka_unit_test(test_large_bodies_keep_their_prefix),
        cmocka_unit_test(test_timestamps_span_chunks),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_head_no_body),
        cmocka_unit_test(test_continue_twice),
        cmocka_unit_test(test_204_304),
        cmocka_unit_test(test_chunked_extensions_trailers),
        cmocka_unit_test(test_close_delimited_fin),
        cmocka_unit_test(test_http10_without_host),
        cmocka_unit_test(test_absolute_form),
        cmocka_unit_test(test_upgrade_stops),
        cmocka_unit_test(test_connect_tunnel),
        cmocka_unit_test(test_gap_in_length_body),
        cmocka_unit_test(test_gap_across_boundary),
        cmocka_unit_test(test_gap_in_chunked_body),
        cmocka_unit_test(test_gap_in_headers),
        cmocka_unit_test(test_snaplen_and_conflict_flags),
        cmocka_unit_test(test_junk_produces_nothing),
        cmocka_unit_test(test_malformed_then_valid),
        cmocka_unit_test(test_midstream_pickup),
        cmocka_unit_test(test_lost_messages_keep_pairing),
        cmocka_unit_test(test_roles_swapped),
        cmocka_unit_test(test_pipeline_bound),
        cmocka_unit_test(test_memory_limit_across_flows),
        cmocka_unit_test(test_memory_limit_pipelined),
        cmocka_unit_test(test_head_bound),
        cmocka_unit_test(test_incomplete_at_close),
        cmocka_unit_test(test_rst),
        cmocka_unit_test(test_content_decoding),
        cmocka_unit_test(test_decompression_bomb),
        cmocka_unit_test(test_body_decoder_unit),
        cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_flag_names),
        cmocka_unit_test(test_engine_lifecycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
