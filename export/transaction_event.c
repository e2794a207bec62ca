/*
 * Serialises an http_transaction as the CONTRACT.md "transaction" event.
 *
 * Absent knowledge is null: a missing response gives "status":null and
 * response body_bytes null; a body whose length is unknown (the message did
 * not complete) gives body_bytes null. latency_us is the time from the last
 * byte of the request to the first byte of the response (server think time
 * plus network), null without both. A transaction carried by TLS has a
 * "tls" object (version, cipher, sni, alpn, ja3, ja4: null when unknown);
 * cleartext transactions have no "tls" key.
 */
#include "transaction_event.h"

#include <string.h>
#include <strings.h>

#include "format_ecs.h"
#include "format_ocsf.h"
#include "format_splunk.h"

static void write_view(json_writer *w, const char *key, str_view v) {
    json_key(w, key);
    if (str_view_present(v))
        json_string(w, v.ptr, v.len);
    else
        json_null(w);
}

static void write_endpoint(json_writer *w, const char *key, const ip_address *ip, uint16_t port) {
    char text[64];
    json_key(w, key);
    json_object_begin(w);
    json_key(w, "ip");
    json_cstring(w, ip_address_format(ip, text, sizeof text));
    json_key(w, "port");
    json_uint(w, port);
    json_object_end(w);
}

static void write_message(json_writer *w, const char *key, const http_message *m) {
    json_key(w, key);
    json_object_begin(w);
    write_view(w, "content_type", m->present ? m->content_type : (str_view){0, 0});
    json_key(w, "body_bytes");
    if (m->present && m->body_bytes_known)
        json_uint(w, m->body_bytes);
    else
        json_null(w);
    json_object_end(w);
}

static void write_cstring_or_null(json_writer *w, const char *key, const char *text) {
    json_key(w, key);
    if (text)
        json_cstring(w, text);
    else
        json_null(w);
}

static void write_tls(json_writer *w, const tx_tls *tls) {
    static const char *const versions[] = {"1.0", "1.1", "1.2", "1.3"};
    json_key(w, "tls");
    json_object_begin(w);
    write_cstring_or_null(
        w, "version",
        tls->version >= 0x0301 && tls->version <= 0x0304 ? versions[tls->version - 0x0301] : NULL);
    char cipher[8];
    if (!tls->cipher_name && tls->cipher) {
        static const char digits[] = "0123456789abcdef";
        cipher[0] = '0';
        cipher[1] = 'x';
        for (int i = 0; i < 4; i++)
            cipher[2 + i] = digits[(tls->cipher >> (12 - 4 * i)) & 15];
        cipher[6] = '\0';
    }
    write_cstring_or_null(w, "cipher",
                          tls->cipher_name ? tls->cipher_name
                          : tls->cipher    ? cipher
                                           : NULL);
    write_view(w, "sni", tls->sni);
    write_view(w, "alpn", tls->alpn);
    write_cstring_or_null(w, "ja3", tls->ja3);
    write_cstring_or_null(w, "ja4", tls->ja4);
    json_object_end(w);
}

uint64_t transaction_event_time(const http_transaction *tx) {
    return tx->request.present ? tx->request.first_ts_ns : tx->response.first_ts_ns;
}

int transaction_event_latency_us(const http_transaction *tx, uint64_t *out) {
    if (!tx->request.present || !tx->response.present ||
        tx->response.first_ts_ns < tx->request.last_ts_ns)
        return 0;
    *out = (tx->response.first_ts_ns - tx->request.last_ts_ns) / 1000u;
    return 1;
}

const char *transaction_event_version(const http_transaction *tx, char buf[4]) {
    if (!tx->version_major && !tx->version_minor)
        return NULL;
    buf[0] = (char)('0' + tx->version_major % 10);
    buf[1] = '.';
    buf[2] = (char)('0' + tx->version_minor % 10);
    buf[3] = '\0';
    return buf;
}

void transaction_event_flags(json_writer *w, const http_transaction *tx) {
    json_array_begin(w);
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++)
        if (tx->flags & (1u << bit))
            json_cstring(w, tx_flag_name(bit));
    json_array_end(w);
}

str_view transaction_event_header(const http_message *m, const char *name) {
    size_t len = strlen(name);
    for (uint32_t i = 0; m->present && m->headers && i < m->header_count; i++) {
        str_view h = m->headers[i].name;
        if (h.ptr && h.len == len && !strncasecmp(h.ptr, name, len))
            return m->headers[i].value;
    }
    return (str_view){NULL, 0};
}

static void write_native(json_writer *w, const event_sensor *sensor, const char *community,
                         const http_transaction *tx, const transaction_context *ctx) {
    event_begin(w, "transaction", transaction_event_time(tx), sensor);
    json_key(w, "community_id");
    json_cstring(w, community);
    write_endpoint(w, "client", &tx->client_ip, tx->client_port);
    write_endpoint(w, "server", &tx->server_ip, tx->server_port);

    json_key(w, "http");
    json_object_begin(w);
    char version[4];
    json_key(w, "version");
    json_cstring(w, transaction_event_version(tx, version));
    write_view(w, "method", tx->method);
    write_view(w, "host", tx->host);
    write_view(w, "uri", tx->uri);
    json_key(w, "status");
    if (tx->status)
        json_uint(w, tx->status);
    else
        json_null(w);
    uint64_t latency;
    json_key(w, "latency_us");
    if (transaction_event_latency_us(tx, &latency))
        json_uint(w, latency);
    else
        json_null(w);
    write_message(w, "request", &tx->request);
    write_message(w, "response", &tx->response);
    json_object_end(w);

    if (tx->tls)
        write_tls(w, tx->tls);
    if (ctx && ctx->analysed) {
        json_key(w, "endpoint");
        if (ctx->endpoint)
            format_endpoint(w, ctx->endpoint);
        else
            json_null(w);
        json_key(w, "identity");
        if (ctx->identity_kind.ptr) {
            json_object_begin(w);
            write_view(w, "kind", ctx->identity_kind);
            write_view(w, "id", ctx->identity_id);
            json_object_end(w);
        } else {
            json_null(w);
        }
    }

    json_key(w, "flags");
    transaction_event_flags(w, tx);
    json_object_end(w);
}

void transaction_event_write(json_writer *w, const event_sensor *sensor, community_id *cid,
                             const http_transaction *tx) {
    char text[64];
    write_native(w, sensor,
                 community_id_format(cid, &tx->client_ip, tx->client_port, &tx->server_ip,
                                     tx->server_port, 6, text, sizeof text),
                 tx, NULL);
}

void transaction_event_write_as(json_writer *w, export_format format, const event_sensor *sensor,
                                const char *community, const http_transaction *tx,
                                const transaction_context *ctx) {
    http_transaction shown;
    if (ctx && str_view_present(ctx->uri) && ctx->uri.ptr != tx->uri.ptr) {
        shown = *tx;
        shown.uri = ctx->uri;
        tx = &shown;
    }
    switch (format) {
    case FORMAT_ECS:
        format_ecs_transaction(w, sensor, community, tx);
        break;
    case FORMAT_OCSF:
        format_ocsf_transaction(w, sensor, community, tx);
        break;
    case FORMAT_SPLUNK:
        format_splunk_transaction(w, sensor, community, tx);
        break;
    case FORMAT_NATIVE:
    default:
        write_native(w, sensor, community, tx, ctx);
        break;
    }
}
