/*
 * Fuzz target for the HTTP/1.x engine (parse/http1.c, parse/http_body.c),
 * with nDPI's URL check (classify_url_risks) and the header look-up run on
 * every transaction as the model stage does.
 *
 * The input is a script of chunks for both directions of a flow:
 *   byte 0        bit 0: small limits (pipeline depth 2, 1 KiB heads, ...)
 *   then records  [op:1][len:2, little endian][data:len, for data records]
 * op & 0x0f: 0/1 data to server/client, 2/3 gap to server/client (len bytes
 * missing), 4/5 FIN, 6/7 RST, 8 close the flow and start the next one (same
 * slot, new serial). op & 0x10 marks an overlap conflict, op & 0x20 a
 * snaplen gap. Every transaction is drained after every chunk and all its
 * bytes are read, so a stale view shows up under ASan.
 */
#include <stdint.h>
#include <string.h>

#include "parse/classify.h"
#include "parse/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

static void fuzz_touch(const void *p, uint32_t len) {
    const uint8_t *b = p;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < len; i++)
        sum += b[i];
    fuzz_sink += sum;
}

static void fuzz_touch_view(str_view v) {
    if (str_view_present(v))
        fuzz_touch(v.ptr, v.len);
}

static void fuzz_touch_message(const http_message *m, const limits *lim) {
    if (!m->present)
        return;
    for (uint32_t i = 0; i < m->header_count; i++) {
        fuzz_touch_view(m->headers[i].name);
        fuzz_touch_view(m->headers[i].value);
    }
    fuzz_touch_view(m->content_type);
    fuzz_touch_view(m->content_encoding);
    if (m->body)
        fuzz_touch(m->body, m->body_len);
    uint64_t bound = (uint64_t)lim->http_body_capture_bytes;
    if ((uint64_t)lim->http_decoded_body_bytes > bound)
        bound = (uint64_t)lim->http_decoded_body_bytes;
    if (m->body_len > bound || m->header_count > (uint64_t)lim->http_headers_per_message)
        __builtin_trap();
}

static void fuzz_drain(http_engine *e, const limits *lim) {
    http_transaction tx;
    while (http_engine_next(e, &tx)) {
        fuzz_touch_view(tx.method);
        fuzz_touch_view(tx.uri);
        if (tx.uri.ptr)
            fuzz_sink += classify_url_risks(tx.uri.ptr, tx.uri.len);
        fuzz_touch_view(http_message_header(&tx.request, "User-Agent"));
        fuzz_touch_view(tx.host);
        fuzz_touch_view(tx.reason);
        fuzz_touch_message(&tx.request, lim);
        fuzz_touch_message(&tx.response, lim);
        if (!tx.request.present && !tx.response.present)
            __builtin_trap();
    }
}

static flow fuzz_flow(uint64_t serial) {
    flow f;
    memset(&f, 0, sizeof f);
    f.slot = 1;
    f.serial = serial;
    f.ip_proto = 6;
    f.client_ip.family = 4;
    f.server_ip.family = 4;
    f.client_port = 40000;
    f.server_port = 80;
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    limits lim = limits_default();
    if (data[0] & 1) {
        lim.http_pipeline_depth = 2;
        lim.http_head_bytes = 1024;
        lim.http_body_capture_bytes = 64;
        lim.http_decoded_body_bytes = 128;
        lim.http_decompression_ratio = 4;
        lim.http_resync_scan_bytes = 256;
        lim.http_headers_per_message = 8;
    }
    if (data[0] & 2) /* below the configurable minimum: every growth past the first is refused */
        lim.http_memory_bytes = 8192;
    http_engine *e = NULL;
    if (http_engine_create(&lim, 4, &e) != AS_OK)
        return 0;
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
        uint32_t extra = 0;
        if (op & 0x10)
            extra |= TCP_CHUNK_OVERLAP_CONFLICT;
        tcp_chunk chunk = {NULL, 0, extra, ts++};
        int kind = (op & 0x0f) % 9;
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
            chunk.flags |= TCP_CHUNK_GAP | ((op & 0x20) ? TCP_CHUNK_SNAPLEN : 0);
            break;
        case 4:
        case 5:
            chunk.flags |= TCP_CHUNK_FIN;
            break;
        case 6:
        case 7:
            chunk.flags |= TCP_CHUNK_RST;
            break;
        default:
            http_engine_close(e, &f, &anomalies);
            fuzz_drain(e, &lim);
            f = fuzz_flow(++serial);
            continue;
        }
        http_engine_feed(e, &f, dir, &chunk, &anomalies);
        fuzz_drain(e, &lim);
    }
    http_engine_close(e, &f, &anomalies);
    fuzz_drain(e, &lim);
    http_engine_stats st = http_engine_get_stats(e);
    if (st.sessions_live != 0 || st.session_bytes_live != 0)
        __builtin_trap();
    http_engine_destroy(e);
    return 0;
}
