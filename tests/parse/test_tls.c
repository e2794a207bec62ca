/*
 * The TLS engine end to end on built conversations (test_tls_build.h) with
 * known secrets given through a key log:
 * - TLS 1.3 with each AEAD suite, a HelloRetryRequest and a KeyUpdate, and
 *   TLS 1.2 with AES-128/256-GCM and ChaCha20-Poly1305, each fed whole, in
 *   1-byte, 7-byte and 100-byte chunks (records split across segments and
 *   several records per segment): the plaintext out equals what was sent;
 * - failures stay with their flow: an authentication failure, a capture
 *   gap, a missing key, no key log, a record over tls_record_bytes, a flow
 *   picked up mid-stream are each counted under their reason, and another
 *   flow decrypts as usual;
 * - without keys the flow still yields SNI, JA3 and JA4 for its
 *   transactions, and the SNI becomes the host when there is no Host;
 * - the key log: a file appended after start is re-read on a miss, a file
 *   readable by others is refused, malformed lines are counted, the oldest
 *   entries are evicted at tls_keylog_entries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "parse/tls.h"
#include "test_tls_build.h"

static const char request1[] = "GET /a HTTP/1.1\r\nHost: api.test\r\n\r\n";
static const char request2[] = "GET /b HTTP/1.1\r\nHost: api.test\r\n\r\n";
static const char response1[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static const char response2[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

/* One built conversation: the client's stream in two parts (ClientHello,
 * the rest) and the server's stream, plus the key log lines for it. */
typedef struct convo {
    tbuf client_hello, client_rest, server;
    char keylog[2048];
} convo;

static void hex_line(char *out, size_t size, const char *label, const uint8_t *random,
                     const uint8_t *secret, size_t len) {
    size_t n = strlen(out);
    n += (size_t)snprintf(out + n, size - n, "%s ", label);
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(out + n, size - n, "%02x", random[i]);
    n += (size_t)snprintf(out + n, size - n, " ");
    for (size_t i = 0; i < len; i++)
        n += (size_t)snprintf(out + n, size - n, "%02x", secret[i]);
    snprintf(out + n, size - n, "\n");
}

static void client_hello_record(tbuf *t, const uint8_t *random, int tls13) {
    uint8_t body[512], msg[600];
    size_t len = client_hello_body(body, random, "api.test", tls13);
    tbuf m = {.n = 0};
    handshake(&m, 1, body, len);
    memcpy(msg, m.b, m.n);
    record(t, 22, msg, m.n);
}

static void build13(convo *c, uint16_t suite_id, uint8_t random_byte, int retry, int key_update) {
    memset(c, 0, sizeof *c);
    const tls_suite *suite = tls_suite_find(suite_id);
    size_t hash = tls_suite_hash_bytes(suite);
    uint8_t random[32], server_random[32], chs[48], shs[48], cts[48], sts[48];
    memset(random, random_byte, 32);
    memset(server_random, 0x55, 32);
    memset(chs, 0x21, hash);
    memset(shs, 0x22, hash);
    memset(cts, 0x23, hash);
    memset(sts, 0x24, hash);
    hex_line(c->keylog, sizeof c->keylog, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", random, chs, hash);
    hex_line(c->keylog, sizeof c->keylog, "SERVER_HANDSHAKE_TRAFFIC_SECRET", random, shs, hash);
    hex_line(c->keylog, sizeof c->keylog, "CLIENT_TRAFFIC_SECRET_0", random, cts, hash);
    hex_line(c->keylog, sizeof c->keylog, "SERVER_TRAFFIC_SECRET_0", random, sts, hash);

    client_hello_record(&c->client_hello, random, 1);

    uint8_t body[256];
    tbuf m = {.n = 0};
    if (retry) { /* HelloRetryRequest, then the client's second hello */
        static const uint8_t retry_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
                                                 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                                 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
                                                 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
        handshake(&m, 2, body, server_hello_body(body, retry_random, suite_id, 1));
        record(&c->server, 22, m.b, m.n);
        m.n = 0;
        uint8_t compat_ccs = 1; /* D.4: the client's CCS before its second hello */
        record(&c->client_rest, 20, &compat_ccs, 1);
        client_hello_record(&c->client_rest, random, 1);
    }
    handshake(&m, 2, body, server_hello_body(body, server_random, suite_id, 1));
    record(&c->server, 22, m.b, m.n);
    uint8_t ccs = 1;
    record(&c->server, 20, &ccs, 1);
    /* EncryptedExtensions (empty list) and Finished in one record */
    tseal s_hs, s_app, c_hs, c_app;
    seal_init13(&s_hs, suite_id, shs, hash);
    m.n = 0;
    uint8_t empty_ext[2] = {0, 0}, verify[48] = {0};
    handshake(&m, 8, empty_ext, 2);
    handshake(&m, 20, verify, hash);
    seal(&c->server, &s_hs, 22, m.b, m.n);
    seal_init13(&s_app, suite_id, sts, hash);
    m.n = 0;
    uint8_t ticket[16] = {0};
    handshake(&m, 4, ticket, sizeof ticket); /* NewSessionTicket */
    seal(&c->server, &s_app, 22, m.b, m.n);
    seal(&c->server, &s_app, 23, response1, strlen(response1));
    seal(&c->server, &s_app, 23, response2, strlen(response2));

    record(&c->client_rest, 20, &ccs, 1);
    seal_init13(&c_hs, suite_id, chs, hash);
    m.n = 0;
    handshake(&m, 20, verify, hash);
    seal(&c->client_rest, &c_hs, 22, m.b, m.n);
    seal_init13(&c_app, suite_id, cts, hash);
    seal(&c->client_rest, &c_app, 23, request1, strlen(request1));
    if (key_update) {
        m.n = 0;
        uint8_t update_requested = 0;
        handshake(&m, 24, &update_requested, 1);
        seal(&c->client_rest, &c_app, 22, m.b, m.n);
        uint8_t next[48];
        tls13_expand_label(test_crypto(), suite->hash_sha384, cts, hash, "traffic upd", NULL, 0,
                           next, hash);
        seal_init13(&c_app, suite_id, next, hash);
    }
    seal(&c->client_rest, &c_app, 23, request2, strlen(request2));
}

static void build12(convo *c, uint16_t suite_id, uint8_t random_byte, int encrypt_then_mac) {
    memset(c, 0, sizeof *c);
    const tls_suite *suite = tls_suite_find(suite_id);
    uint8_t random[32], server_random[32], master[48], block[256];
    memset(random, random_byte, 32);
    memset(server_random, 0x66, 32);
    memset(master, 0x33, 48);
    hex_line(c->keylog, sizeof c->keylog, "CLIENT_RANDOM", random, master, 48);
    size_t mac = suite->mac_bytes, key = suite->key_bytes;
    size_t iv = mac ? 0 : suite->aead == TLS_AEAD_CHACHA20_POLY1305 ? 12 : 4;
    uint8_t seed[64];
    memcpy(seed, server_random, 32);
    memcpy(seed + 32, random, 32);
    tls12_prf(test_crypto(), suite->hash_sha384, master, 48, "key expansion", seed, 64, block,
              2 * mac + 2 * key + 2 * iv);
    tseal cw, sw;
    const uint8_t *keys = block + 2 * mac, *ivs = keys + 2 * key;
    seal_init12(&cw, suite_id, block, keys, ivs, encrypt_then_mac);
    seal_init12(&sw, suite_id, block + mac, keys + key, ivs + iv, encrypt_then_mac);

    client_hello_record(&c->client_hello, random, 0);
    uint8_t body[256], zeros[12] = {0}, ccs = 1;
    tbuf m = {.n = 0};
    handshake(&m, 2, body,
              server_hello_body(body, server_random, suite_id, encrypt_then_mac ? 2 : 0));
    handshake(&m, 11, zeros, 3); /* Certificate, empty list */
    handshake(&m, 14, NULL, 0);  /* ServerHelloDone */
    record(&c->server, 22, m.b, m.n);
    record(&c->server, 20, &ccs, 1);
    m.n = 0;
    handshake(&m, 20, zeros, 12); /* Finished */
    seal(&c->server, &sw, 22, m.b, m.n);
    seal(&c->server, &sw, 23, response1, strlen(response1));
    seal(&c->server, &sw, 23, response2, strlen(response2));

    m.n = 0;
    handshake(&m, 16, zeros, 4); /* ClientKeyExchange */
    record(&c->client_rest, 22, m.b, m.n);
    record(&c->client_rest, 20, &ccs, 1);
    m.n = 0;
    handshake(&m, 20, zeros, 12);
    seal(&c->client_rest, &cw, 22, m.b, m.n);
    seal(&c->client_rest, &cw, 23, request1, strlen(request1));
    seal(&c->client_rest, &cw, 23, request2, strlen(request2));
}

/* What came out of the engine for one flow. */
typedef struct outcome {
    tbuf plain[2];
    int gaps, ends;
    int not_tls;
} outcome;

static void feed(tls_engine *e, const flow *f, flow_direction dir, const uint8_t *data, size_t len,
                 size_t step, outcome *o, anomaly_counters *a) {
    for (size_t pos = 0; pos < len; pos += step) {
        size_t n = len - pos < step ? len - pos : step;
        tcp_chunk chunk = {data + pos, (uint32_t)n, 0, 1000};
        if (!tls_engine_feed(e, f, dir, &chunk, a)) {
            o->not_tls++;
            continue;
        }
        tcp_chunk out;
        while (tls_engine_next(e, &out)) {
            if (out.flags & TCP_CHUNK_GAP)
                o->gaps++;
            else if (out.flags & (TCP_CHUNK_FIN | TCP_CHUNK_RST))
                o->ends++;
            else
                putn(&o->plain[dir], out.data, out.len);
        }
    }
}

static void run_convo(tls_engine *e, const flow *f, const convo *c, size_t step, outcome *o,
                      anomaly_counters *a) {
    memset(o, 0, sizeof *o);
    feed(e, f, FLOW_TO_SERVER, c->client_hello.b, c->client_hello.n, step, o, a);
    feed(e, f, FLOW_TO_CLIENT, c->server.b, c->server.n, step, o, a);
    feed(e, f, FLOW_TO_SERVER, c->client_rest.b, c->client_rest.n, step, o, a);
}

static void assert_plaintext(const outcome *o) {
    char want[256];
    snprintf(want, sizeof want, "%s%s", request1, request2);
    assert_int_equal(o->plain[FLOW_TO_SERVER].n, strlen(want));
    assert_memory_equal(o->plain[FLOW_TO_SERVER].b, want, strlen(want));
    snprintf(want, sizeof want, "%s%s", response1, response2);
    assert_int_equal(o->plain[FLOW_TO_CLIENT].n, strlen(want));
    assert_memory_equal(o->plain[FLOW_TO_CLIENT].b, want, strlen(want));
}

static tls_keylog *keylog_with(const char *lines, const limits *lim) {
    tls_keylog *kl = NULL;
    char err[256];
    assert_int_equal(tls_keylog_open(NULL, lim, err, sizeof err, &kl), AS_OK);
    const char *p = lines;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        tls_keylog_add_line(kl, p, len);
        p += len + (nl ? 1 : 0);
    }
    return kl;
}

static flow make_flow(uint32_t slot) {
    flow f;
    memset(&f, 0, sizeof f);
    f.slot = slot;
    f.serial = slot + 1;
    return f;
}

/* Builds, feeds in every segmentation and checks the plaintext. */
static void check_decrypts(const convo *c, int tls13) {
    static const size_t steps[] = {1, 7, 100, 1 << 20};
    limits lim = limits_default();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        tls_keylog *kl = keylog_with(c->keylog, &lim);
        tls_engine *e = NULL;
        assert_int_equal(tls_engine_create(&lim, 4, kl, &e), AS_OK);
        flow f = make_flow(1);
        outcome o;
        anomaly_counters a = {{0}};
        run_convo(e, &f, c, steps[i], &o, &a);
        assert_int_equal(o.not_tls, 0);
        assert_plaintext(&o);
        http_transaction tx;
        memset(&tx, 0, sizeof tx);
        tx.flow_serial = f.serial;
        tls_engine_annotate(e, &f, &tx);
        assert_non_null(tx.tls);
        assert_int_equal(tx.tls->version, tls13 ? 0x0304 : 0x0303);
        assert_non_null(tx.tls->cipher_name);
        tls_engine_close(e, &f);
        tls_engine_stats st = tls_engine_get_stats(e);
        assert_int_equal(st.flows, 1);
        assert_int_equal(st.flows_decrypted, 1);
        assert_int_equal(st.flows_with_keys, 1);
        for (int r = 0; r < TLS_REASON_COUNT; r++)
            assert_int_equal(st.flows_undecryptable[r], 0);
        tls_engine_destroy(e);
        tls_keylog_destroy(kl);
    }
}

static void test_tls13_suites(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1301, 0x11, 0, 0);
    check_decrypts(&c, 1);
    build13(&c, 0x1302, 0x12, 0, 0);
    check_decrypts(&c, 1);
    build13(&c, 0x1303, 0x13, 0, 0);
    check_decrypts(&c, 1);
}

static void test_tls13_retry_and_key_update(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1301, 0x14, 1, 1);
    check_decrypts(&c, 1);
    build13(&c, 0x1302, 0x15, 0, 1);
    check_decrypts(&c, 1);
}

/* RFC 8446 D.4: a client may send its compatibility ChangeCipherSpec
 * before any ServerHello (ahead of its second hello or of early data). */
static void test_tls13_early_compat_ccs(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1301, 0x16, 0, 0);
    limits lim = limits_default();
    tls_keylog *kl = keylog_with(c.keylog, &lim);
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(&lim, 4, kl, &e), AS_OK);
    flow f = make_flow(0);
    outcome o;
    memset(&o, 0, sizeof o);
    anomaly_counters a = {{0}};
    tbuf ccs = {.n = 0};
    uint8_t one = 1;
    record(&ccs, 20, &one, 1);
    feed(e, &f, FLOW_TO_SERVER, c.client_hello.b, c.client_hello.n, 1000, &o, &a);
    feed(e, &f, FLOW_TO_SERVER, ccs.b, ccs.n, 1000, &o, &a);
    feed(e, &f, FLOW_TO_CLIENT, c.server.b, c.server.n, 1000, &o, &a);
    feed(e, &f, FLOW_TO_SERVER, c.client_rest.b, c.client_rest.n, 1000, &o, &a);
    assert_plaintext(&o);
    tls_engine_destroy(e);
    tls_keylog_destroy(kl);
}

static void test_tls12_suites(void **state) {
    (void)state;
    static convo c;
    build12(&c, 0xc02f, 0x41, 0);
    check_decrypts(&c, 0);
    build12(&c, 0xc030, 0x42, 0);
    check_decrypts(&c, 0);
    build12(&c, 0xcca8, 0x43, 0);
    check_decrypts(&c, 0);
}

/* Runs c on flow slot 1 (possibly damaged by the caller through c) next to
 * an intact flow on slot 2; returns the stats after both ended. */
static tls_engine_stats run_beside_good_flow(const convo *c, tls_keylog *kl, const limits *lim,
                                             outcome *o, anomaly_counters *a) {
    static convo good;
    build13(&good, 0x1301, 0x77, 0, 0);
    const char *p = good.keylog;
    for (int i = 0; i < 4; i++) {
        size_t len = strcspn(p, "\n");
        tls_keylog_add_line(kl, p, len);
        p += len + 1;
    }
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(lim, 4, kl, &e), AS_OK);
    flow bad = make_flow(1), ok = make_flow(2);
    outcome good_out;
    run_convo(e, &bad, c, 50, o, a);
    run_convo(e, &ok, &good, 50, &good_out, a);
    assert_plaintext(&good_out);
    tls_engine_close(e, &bad);
    tls_engine_close(e, &ok);
    tls_engine_stats st = tls_engine_get_stats(e);
    assert_int_equal(st.flows, 2);
    tls_engine_destroy(e);
    return st;
}

static void test_auth_failure(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1301, 0x21, 0, 0);
    c.client_rest.b[c.client_rest.n - 20] ^= 0x40; /* inside the last record */
    limits lim = limits_default();
    tls_keylog *kl = keylog_with(c.keylog, &lim);
    outcome o;
    anomaly_counters a = {{0}};
    tls_engine_stats st = run_beside_good_flow(&c, kl, &lim, &o, &a);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_AUTH_FAILED], 1);
    assert_int_equal(st.flows_decrypted, 2);
    assert_int_equal(a.count[ANOMALY_TLS_AUTH_FAILED], 1);
    assert_int_equal(o.plain[FLOW_TO_SERVER].n, strlen(request1)); /* the first request only */
    tls_keylog_destroy(kl);
}

/* AES-CBC with HMAC-SHA1/SHA256/SHA384, MAC-then-encrypt and (RFC 7366)
 * encrypt-then-MAC. */
static void test_tls12_cbc_suites(void **state) {
    (void)state;
    static convo c;
    static const uint16_t suites[] = {0xc013, 0x0035, 0xc027, 0xc028};
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        for (int etm = 0; etm < 2; etm++) {
            build12(&c, suites[i], (uint8_t)(0x50 + 2 * i + (size_t)etm), etm);
            check_decrypts(&c, 0);
        }
    }
    /* a bad MAC is an authentication failure */
    build12(&c, 0xc013, 0x5f, 0);
    c.client_rest.b[c.client_rest.n - 5] ^= 1; /* inside the padding or MAC */
    limits lim = limits_default();
    tls_keylog *kl = keylog_with(c.keylog, &lim);
    outcome o;
    anomaly_counters a = {{0}};
    tls_engine_stats st = run_beside_good_flow(&c, kl, &lim, &o, &a);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_AUTH_FAILED], 1);
    tls_keylog_destroy(kl);
}

static void test_missing_key(void **state) {
    (void)state;
    static convo c;
    build12(&c, 0xc02f, 0x22, 0);
    limits lim = limits_default();
    tls_keylog *kl = keylog_with("", &lim);
    outcome o;
    anomaly_counters a = {{0}};
    tls_engine_stats st = run_beside_good_flow(&c, kl, &lim, &o, &a);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_MISSING_KEY], 1);
    assert_int_equal(st.flows_with_keys, 1);
    assert_true(a.count[ANOMALY_TLS_MISSING_KEY] >= 1);
    assert_int_equal(o.plain[0].n + o.plain[1].n, 0);
    tls_keylog_destroy(kl);
}

static void test_gap(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1303, 0x23, 0, 0);
    limits lim = limits_default();
    tls_keylog *kl = keylog_with(c.keylog, &lim);
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(&lim, 4, kl, &e), AS_OK);
    flow f = make_flow(0);
    outcome o;
    memset(&o, 0, sizeof o);
    anomaly_counters a = {{0}};
    feed(e, &f, FLOW_TO_SERVER, c.client_hello.b, c.client_hello.n, 1000, &o, &a);
    feed(e, &f, FLOW_TO_CLIENT, c.server.b, c.server.n, 1000, &o, &a);
    tcp_chunk gap = {NULL, 300, TCP_CHUNK_GAP, 2000};
    assert_true(tls_engine_feed(e, &f, FLOW_TO_SERVER, &gap, &a));
    tcp_chunk out;
    assert_true(tls_engine_next(e, &out)); /* the gap goes on to HTTP */
    assert_true(out.flags & TCP_CHUNK_GAP);
    assert_false(tls_engine_next(e, &out));
    feed(e, &f, FLOW_TO_SERVER, c.client_rest.b, c.client_rest.n, 1000, &o, &a);
    assert_int_equal(o.plain[FLOW_TO_SERVER].n, 0);
    tcp_chunk fin = {NULL, 0, TCP_CHUNK_FIN, 3000};
    assert_true(tls_engine_feed(e, &f, FLOW_TO_SERVER, &fin, &a));
    assert_true(tls_engine_next(e, &out));
    assert_true(out.flags & TCP_CHUNK_FIN);
    tls_engine_close(e, &f);
    tls_engine_stats st = tls_engine_get_stats(e);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_GAP], 1);
    assert_int_equal(a.count[ANOMALY_TLS_GAP], 1);
    tls_engine_destroy(e);
    tls_keylog_destroy(kl);
}

static void test_no_keylog_fingerprints(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1302, 0x24, 0, 0);
    limits lim = limits_default();
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(&lim, 4, NULL, &e), AS_OK);
    flow f = make_flow(3);
    outcome o;
    anomaly_counters a = {{0}};
    run_convo(e, &f, &c, 1 << 20, &o, &a);
    assert_int_equal(o.plain[0].n + o.plain[1].n, 0);
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.flow_serial = f.serial;
    tls_engine_annotate(e, &f, &tx);
    assert_non_null(tx.tls);
    assert_int_equal(tx.host.len, 8);
    assert_memory_equal(tx.host.ptr, "api.test", 8); /* no Host: the SNI */
    assert_int_equal(strlen(tx.tls->ja3), 32);
    assert_int_equal(strncmp(tx.tls->ja4, "t13d0403h2_", 11), 0);
    assert_int_equal(tx.tls->alpn.len, 2);
    assert_int_equal(tx.tls->version, 0x0304);
    tls_engine_close(e, &f);
    tls_engine_stats st = tls_engine_get_stats(e);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_NO_KEYLOG], 1);
    assert_int_equal(st.flows_sni, 1);
    assert_int_equal(st.bytes, c.client_hello.n + c.client_rest.n + c.server.n);
    tls_engine_destroy(e);
}

/* A flow picked up mid-stream shows no ClientHello: the classifier may
 * stop waiting for one. A flow that sent its hello, or is no TLS, does not
 * say so. */
static void test_hello_missed(void **state) {
    (void)state;
    static convo c;
    build13(&c, 0x1302, 0x25, 0, 0);
    limits lim = limits_default();
    for (int with_keylog = 0; with_keylog < 2; with_keylog++) {
        tls_keylog *kl = with_keylog ? keylog_with(c.keylog, &lim) : NULL;
        tls_engine *e = NULL;
        assert_int_equal(tls_engine_create(&lim, 8, kl, &e), AS_OK);
        anomaly_counters a = {{0}};
        outcome o;
        memset(&o, 0, sizeof o);
        flow mid = make_flow(1);
        static const uint8_t app_data[] = {0x17, 0x03, 0x03, 0x00, 0x04, 1, 2, 3, 4};
        assert_int_equal(tls_engine_hello_missed(e, &mid), 0); /* nothing seen yet */
        feed(e, &mid, FLOW_TO_SERVER, app_data, sizeof app_data, sizeof app_data, &o, &a);
        assert_int_equal(o.not_tls, 0);
        assert_int_equal(tls_engine_hello_missed(e, &mid), 1);

        flow whole = make_flow(2);
        run_convo(e, &whole, &c, 1 << 20, &o, &a);
        assert_int_equal(tls_engine_hello_missed(e, &whole), 0);

        flow http = make_flow(3);
        static const char get[] = "GET / HTTP/1.1\r\n\r\n";
        feed(e, &http, FLOW_TO_SERVER, (const uint8_t *)get, strlen(get), 64, &o, &a);
        assert_int_equal(o.not_tls, 1);
        assert_int_equal(tls_engine_hello_missed(e, &http), 0);
        tls_engine_close(e, &mid);
        tls_engine_close(e, &whole);
        tls_engine_close(e, &http);
        tls_engine_destroy(e);
        tls_keylog_destroy(kl);
    }
}

static void count_pair(const char *sni, const char *ja4, uint64_t flows, void *arg) {
    (void)ja4;
    if (!strcmp(sni, "api.test"))
        *(uint64_t *)arg += flows;
}

static void test_pairs_and_limits(void **state) {
    (void)state;
    static convo c;
    build12(&c, 0xc02f, 0x25, 0);
    limits lim = limits_default();
    lim.tls_record_bytes = 1024;
    lim.tls_fingerprint_pairs = 1;
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(&lim, 8, NULL, &e), AS_OK);
    anomaly_counters a = {{0}};
    outcome o;
    for (uint32_t slot = 0; slot < 3; slot++) {
        flow f = make_flow(slot);
        run_convo(e, &f, &c, 64, &o, &a);
        tls_engine_close(e, &f);
    }
    /* a record longer than tls_record_bytes */
    tbuf big = {.n = 0};
    static uint8_t filler[2000];
    record(&big, 23, filler, sizeof filler);
    flow f = make_flow(4);
    feed(e, &f, FLOW_TO_SERVER, big.b, big.n, 100, &o, &a);
    tls_engine_close(e, &f);
    /* empty records, their headers split across chunks: the loop moves on */
    tbuf empty = {.n = 0};
    record(&empty, 22, NULL, 0);
    record(&empty, 22, NULL, 0);
    f = make_flow(7);
    feed(e, &f, FLOW_TO_SERVER, empty.b, empty.n, 3, &o, &a);
    tls_engine_close(e, &f);
    /* picked up mid-stream: application data first, no handshake */
    tbuf mid = {.n = 0};
    record(&mid, 23, filler, 100);
    f = make_flow(5);
    feed(e, &f, FLOW_TO_CLIENT, mid.b, mid.n, 1000, &o, &a);
    tls_engine_close(e, &f);
    /* not TLS at all */
    f = make_flow(6);
    memset(&o, 0, sizeof o);
    feed(e, &f, FLOW_TO_SERVER, (const uint8_t *)request1, strlen(request1), 5, &o, &a);
    assert_int_equal(o.not_tls, (int)((strlen(request1) + 4) / 5));
    tls_engine_close(e, &f);

    tls_engine_stats st = tls_engine_get_stats(e);
    assert_int_equal(st.flows, 6);
    assert_int_equal(st.flows_undecryptable[TLS_REASON_RECORD_LIMIT], 1);
    assert_int_equal(a.count[ANOMALY_TLS_RECORD_LIMIT], 1);
    uint64_t api = 0;
    tls_engine_foreach_pair(e, count_pair, &api);
    assert_int_equal(api, 3);            /* one pair for the three hellos */
    assert_int_equal(st.pairs_other, 3); /* the hello-less flows do not fit */
    tls_engine_destroy(e);
}

static void write_file(const char *path, const char *text, const char *mode) {
    FILE *fp = fopen(path, mode);
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_keylog_file(void **state) {
    (void)state;
    char path[] = "/tmp/apisensor-test-keylog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    limits lim = limits_default();
    char err[512];
    tls_keylog *kl = NULL;

    chmod(path, 0644); /* readable by others and writable: refused */
    assert_int_equal(tls_keylog_open(path, &lim, err, sizeof err, &kl), AS_ERR_CONFIG);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "readable by other users"));
    chmod(path, 0444); /* a read-only archive: accepted */
    assert_int_equal(tls_keylog_open(path, &lim, err, sizeof err, &kl), AS_OK);
    tls_keylog_destroy(kl);
    chmod(path, 0600);
    assert_int_equal(tls_keylog_open(path, &lim, err, sizeof err, &kl), AS_OK);

    /* appended after start: read on the first miss */
    static convo c;
    build13(&c, 0x1301, 0x31, 0, 0);
    write_file(path, "# comment\nEXPORTER_SECRET 00 11\nCLIENT_RANDOM zz 00\n", "a");
    write_file(path, c.keylog, "a");
    tls_engine *e = NULL;
    assert_int_equal(tls_engine_create(&lim, 4, kl, &e), AS_OK);
    flow f = make_flow(0);
    outcome o;
    anomaly_counters a = {{0}};
    run_convo(e, &f, &c, 300, &o, &a);
    assert_plaintext(&o);
    tls_engine_close(e, &f);
    tls_keylog_stats ks = tls_keylog_get_stats(kl);
    assert_int_equal(ks.lines, 4);
    assert_int_equal(ks.lines_bad, 1);     /* CLIENT_RANDOM with a bad random */
    assert_int_equal(ks.lines_skipped, 2); /* the comment and the exporter secret */
    assert_int_equal(ks.entries, 1);
    assert_true(ks.reads >= 1);
    tls_engine_destroy(e);
    tls_keylog_destroy(kl);

    unlink(path);
    assert_int_equal(tls_keylog_open(path, &lim, err, sizeof err, &kl), AS_ERR_IO);
}

static void test_keylog_eviction(void **state) {
    (void)state;
    limits lim = limits_default();
    lim.tls_keylog_entries = 16;
    tls_keylog *kl = keylog_with("", &lim);
    uint8_t random[32], secret[48];
    memset(secret, 0x5a, sizeof secret);
    for (int i = 0; i < 20; i++) {
        char line[256] = "";
        memset(random, i + 1, sizeof random);
        hex_line(line, sizeof line, "CLIENT_RANDOM", random, secret, 48);
        assert_true(tls_keylog_add_line(kl, line, strlen(line) - 1));
    }
    tls_keylog_stats ks = tls_keylog_get_stats(kl);
    assert_int_equal(ks.entries, 16);
    assert_int_equal(ks.evicted, 4);
    const uint8_t *found;
    size_t len;
    memset(random, 1, sizeof random);
    assert_false(tls_keylog_find(kl, random, TLS_SECRET_MASTER, &found, &len));
    memset(random, 20, sizeof random);
    assert_true(tls_keylog_find(kl, random, TLS_SECRET_MASTER, &found, &len));
    assert_int_equal(len, 48);
    assert_false(tls_keylog_find(kl, random, TLS_SECRET_CLIENT_TRAFFIC0, &found, &len));
    tls_keylog_destroy(kl);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls13_suites),
        cmocka_unit_test(test_tls13_retry_and_key_update),
        cmocka_unit_test(test_tls13_early_compat_ccs),
        cmocka_unit_test(test_tls12_suites),
        cmocka_unit_test(test_tls12_cbc_suites),
        cmocka_unit_test(test_auth_failure),
        cmocka_unit_test(test_missing_key),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_no_keylog_fingerprints),
        cmocka_unit_test(test_hello_missed),
        cmocka_unit_test(test_pairs_and_limits),
        cmocka_unit_test(test_keylog_file),
        cmocka_unit_test(test_keylog_eviction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
