/*
 * Fuzz target for the TLS record layer, handshake parsers and decryptor
 * (parse/tls.c, parse/tls_hello.c, parse/tls_keylog.c, parse/tls_crypto.c).
 *
 * The whole input is first given to the ClientHello and ServerHello
 * parsers and, when it parses, to JA3/JA4. Then it is read as a script of
 * chunks for both directions of a flow:
 *   byte 0        bit 0: small limits (1 KiB records and hellos, 16 key
 *                 log entries, 1 pair); bit 1: a key log holding secrets
 *                 for the client random 0x11 x 32 (CLIENT_RANDOM 0x33 x 48;
 *                 TLS 1.3 handshake/traffic secrets 0x21/0x22/0x23/0x24 x
 *                 32), so protected records of a seed open and the fuzzer
 *                 reaches the handshake scanner behind the AEAD
 *   then records  [op:1][len:2, little endian][data:len, for data records]
 * op % 8: 0/1 data to server/client, 2/3 gap, 4/5 FIN, 6 RST to server,
 * 7 close the flow and start the next one (same slot, new serial). Every
 * plaintext chunk and the flow's TLS facts are read whole, so a stale view
 * shows up under ASan.
 */
#include <stdint.h>
#include <string.h>

#include "parse/tls.h"
#include "parse/tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

static void fuzz_touch(const void *p, size_t len) {
    const uint8_t *b = p;
    uint64_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += b[i];
    fuzz_sink += sum;
}

static void fuzz_parsers(const uint8_t *data, size_t size) {
    static tls_client_hello ch;
    tls_server_hello sh;
    char ja3[TLS_JA3_HEX + 1], ja4[TLS_JA4_CHARS + 1];
    if (tls_client_hello_parse(data, size, &ch) == AS_OK) {
        if (tls_ja3(&ch, ja3) != AS_OK || tls_ja4(&ch, ja4) != AS_OK || strlen(ja4) > 36)
            __builtin_trap();
        fuzz_touch(ja3, strlen(ja3));
    }
    if (tls_server_hello_parse(data, size, &sh) == AS_OK)
        fuzz_sink += sh.cipher;
}

static void fuzz_keylog_lines(tls_keylog *kl) {
    static const char *const lines[] = {
        "CLIENT_RANDOM 1111111111111111111111111111111111111111111111111111111111111111 "
        "333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333"
        "333333",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET "
        "1111111111111111111111111111111111111111111111111111111111111111 "
        "2121212121212121212121212121212121212121212121212121212121212121",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET "
        "1111111111111111111111111111111111111111111111111111111111111111 "
        "2222222222222222222222222222222222222222222222222222222222222222",
        "CLIENT_TRAFFIC_SECRET_0 1111111111111111111111111111111111111111111111111111111111111111 "
        "2323232323232323232323232323232323232323232323232323232323232323",
        "SERVER_TRAFFIC_SECRET_0 1111111111111111111111111111111111111111111111111111111111111111 "
        "2424242424242424242424242424242424242424242424242424242424242424",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        tls_keylog_add_line(kl, lines[i], strlen(lines[i]));
}

static void fuzz_drain(tls_engine *e, const flow *f) {
    tcp_chunk out;
    while (tls_engine_next(e, &out)) {
        if (out.data)
            fuzz_touch(out.data, out.len);
    }
    http_transaction tx;
    memset(&tx, 0, sizeof tx);
    tx.flow_serial = f->serial;
    tls_engine_annotate(e, f, &tx);
    if (tx.tls) {
        if (str_view_present(tx.tls->sni))
            fuzz_touch(tx.tls->sni.ptr, tx.tls->sni.len);
        if (tx.tls->ja4)
            fuzz_touch(tx.tls->ja4, strlen(tx.tls->ja4));
    }
}

static flow fuzz_flow(uint64_t serial) {
    flow f;
    memset(&f, 0, sizeof f);
    f.slot = 1;
    f.serial = serial;
    f.ip_proto = 6;
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    fuzz_parsers(data, size);
    limits lim = limits_default();
    lim.tls_keylog_entries = 64; /* a fuzz input adds at most five lines */
    if (data[0] & 1) {
        lim.tls_record_bytes = 1024;
        lim.tls_handshake_bytes = 1024;
        lim.tls_keylog_entries = 16;
        lim.tls_fingerprint_pairs = 1;
    }
    char err[256];
    tls_keylog *kl = NULL;
    if ((data[0] & 2) && tls_keylog_open(NULL, &lim, err, sizeof err, &kl) == AS_OK)
        fuzz_keylog_lines(kl);
    tls_engine *e = NULL;
    if (tls_engine_create(&lim, 4, kl, &e) != AS_OK) {
        tls_keylog_destroy(kl);
        return 0;
    }
    anomaly_counters anomalies;
    memset(&anomalies, 0, sizeof anomalies);
    uint64_t serial = 1;
    flow f = fuzz_flow(serial);
    uint64_t ts = 1;
    size_t pos = 1;
    while (pos + 3 <= size) {
        uint8_t op = data[pos];
        uint32_t len = (uint32_t)data[pos + 1] | ((uint32_t)data[pos + 2] << 8);
        pos += 3;
        tcp_chunk chunk = {NULL, 0, 0, ts++};
        int kind = op % 8;
        flow_direction dir = (kind & 1) ? FLOW_TO_CLIENT : FLOW_TO_SERVER;
        switch (kind) {
        case 0:
        case 1:
            if (len > size - pos)
                len = (uint32_t)(size - pos);
            chunk.data = data + pos;
            chunk.len = len;
            pos += len;
            break;
        case 2:
        case 3:
            chunk.len = len + 1;
            chunk.flags = TCP_CHUNK_GAP;
            break;
        case 4:
        case 5:
            chunk.flags = TCP_CHUNK_FIN;
            break;
        case 6:
            chunk.flags = TCP_CHUNK_RST;
            break;
        default:
            tls_engine_close(e, &f);
            f = fuzz_flow(++serial);
            continue;
        }
        tls_engine_feed(e, &f, dir, &chunk, &anomalies);
        fuzz_drain(e, &f);
    }
    tls_engine_close(e, &f);
    tls_engine_stats st = tls_engine_get_stats(e);
    if (st.records_decrypted > st.records)
        __builtin_trap();
    tls_engine_destroy(e);
    tls_keylog_destroy(kl);
    return 0;
}
