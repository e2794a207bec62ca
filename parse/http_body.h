/*
 * Content-Encoding decoding of HTTP bodies (private to parse/).
 *
 * A decoder turns the wire bytes of one body (after de-chunking) into its
 * content: gzip and x-gzip (zlib's automatic gzip/zlib header detection),
 * deflate (zlib-wrapped or raw, told apart by the first two bytes, since
 * servers send both) and br (libbrotlidec). It works incrementally: bodies
 * arrive in pieces of any size, down to one byte.
 *
 * Output is bounded twice: by the caller's output limit (the decoded bytes
 * kept) and by a decompression ratio (decoded bytes per consumed wire byte),
 * which stops zip bombs before they cost CPU. Once the output limit is
 * reached the decoder keeps reading only to learn whether more content
 * follows (then http_body_decoder_truncated() says so).
 *
 * A decoder is reused across bodies: http_body_decoder_start() resets it
 * (zlib's state is kept and reset, so steady-state gzip/deflate decoding does
 * not allocate; a brotli instance is created per br body). The decoder owns
 * its zlib/brotli state; the output buffer belongs to the caller. One thread.
 */
#ifndef APISENSOR_PARSE_HTTP_BODY_H
#define APISENSOR_PARSE_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef enum {
    HTTP_CODING_NONE = 0,    /* no Content-Encoding, or identity */
    HTTP_CODING_GZIP,        /* gzip, x-gzip */
    HTTP_CODING_DEFLATE,     /* deflate: zlib-wrapped or raw */
    HTTP_CODING_BR,          /* brotli */
    HTTP_CODING_UNSUPPORTED, /* anything else, or several codings */
} http_coding;

/* The coding named by a Content-Encoding value (case-insensitive, blanks
 * around it ignored). */
http_coding http_body_coding(const char *value, uint32_t len);

typedef struct http_body_decoder http_body_decoder;

/* AS_ERR_NOMEM when zlib cannot allocate its state. */
as_status http_body_decoder_create(http_body_decoder **out);

/* Prepares for a new body. coding must be GZIP, DEFLATE or BR. out_limit:
 * decoded bytes to keep; ratio: largest decoded/consumed ratio accepted. */
as_status http_body_decoder_start(http_body_decoder *d, http_coding coding, uint64_t out_limit,
                                  uint64_t ratio);

/*
 * Decodes wire bytes in[0..in_len) and appends content at out[*out_len ..
 * out_cap), where out_cap <= out_limit. Sets *consumed to the input used.
 *   AS_OK          all input consumed; feed the next piece
 *   AS_NEED_MORE   out_cap is full below out_limit: grow the buffer and call
 *                  again with the rest of the input
 *   AS_DONE        the stream ended, or the output limit was reached (see
 *                  http_body_decoder_truncated); feed nothing more
 *   AS_ERR_FORMAT  the bytes are not a valid stream of this coding
 *   AS_ERR_LIMIT   the decompression ratio was exceeded
 * After any status other than AS_OK / AS_NEED_MORE, further calls return it
 * again without reading.
 */
as_status http_body_decoder_feed(http_body_decoder *d, const uint8_t *in, size_t in_len,
                                 size_t *consumed, uint8_t *out, size_t out_cap, size_t *out_len);

/* 1 when content beyond out_limit was found and dropped. */
int http_body_decoder_truncated(const http_body_decoder *d);

/* Content bytes produced since start (including dropped ones). */
uint64_t http_body_decoder_total_out(const http_body_decoder *d);

/* Releases per-body state (a brotli instance); the decoder stays reusable. */
void http_body_decoder_finish(http_body_decoder *d);

void http_body_decoder_destroy(http_body_decoder *d);

#endif
