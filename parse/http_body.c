/*
 * Content-Encoding decoders for HTTP bodies: zlib for gzip/deflate, brotli
 * for br, run in small output steps so the decompression ratio is checked
 * while decoding rather than after a bomb has filled the buffer.
 *
 * The zlib stream is initialised once per decoder and reset per body
 * (inflateReset2 also switches between gzip/zlib autodetection and raw
 * deflate), so gzip and deflate bodies decode without allocating once the
 * decoder exists. Brotli has no reset: one instance per br body.
 */
#include "http_body.h"

#include <brotli/decode.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Output produced per step between two ratio checks. */
#define HTTP_BODY_STEP_BYTES 4096
/* The ratio is checked only beyond this much output: tiny bodies (an empty
 * JSON object, a short error) legitimately expand more than any bomb ratio. */
#define HTTP_BODY_RATIO_FLOOR_BYTES 4096
/* zlib window bits: 15 plus 32 = detect a gzip or zlib header. */
#define HTTP_BODY_WBITS_AUTO (15 + 32)
#define HTTP_BODY_WBITS_ZLIB 15
#define HTTP_BODY_WBITS_RAW (-15)

struct http_body_decoder {
    z_stream zs;
    BrotliDecoderState *br; /* br bodies only; NULL otherwise */
    http_coding coding;
    as_status final;    /* AS_OK while decoding; the sticky outcome after */
    uint64_t out_limit; /* decoded bytes to keep */
    uint64_t ratio;     /* largest decoded/consumed ratio accepted */
    uint64_t total_in;  /* wire bytes consumed */
    uint64_t total_out; /* content bytes produced, kept or not */
    uint64_t kept;      /* content bytes written to the caller's buffer */
    uint8_t started;    /* the zlib stream is set up (deflate waits for 2 bytes) */
    uint8_t pending;    /* the last step filled its output: more may come without input */
    uint8_t truncated;  /* content beyond out_limit was found */
    uint8_t header[2];  /* deflate: first bytes, held until zlib vs raw is known */
    uint8_t header_len; /* bytes in header */
    uint8_t header_fed; /* bytes of header already given to zlib */
    uint8_t probe[HTTP_BODY_STEP_BYTES / 16]; /* discard area used beyond out_limit */
};

/* ---------------------------------------------------------------- codings */

static int body_token_is(const char *token, uint32_t len, const char *name) {
    size_t name_len = strlen(name);
    if (len != name_len)
        return 0;
    for (uint32_t i = 0; i < len; i++) {
        char c = token[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != name[i])
            return 0;
    }
    return 1;
}

static http_coding body_token_coding(const char *token, uint32_t len) {
    if (len == 0 || body_token_is(token, len, "identity"))
        return HTTP_CODING_NONE;
    if (body_token_is(token, len, "gzip") || body_token_is(token, len, "x-gzip"))
        return HTTP_CODING_GZIP;
    if (body_token_is(token, len, "deflate"))
        return HTTP_CODING_DEFLATE;
    if (body_token_is(token, len, "br"))
        return HTTP_CODING_BR;
    return HTTP_CODING_UNSUPPORTED;
}

http_coding http_body_coding(const char *value, uint32_t len) {
    http_coding result = HTTP_CODING_NONE;
    uint32_t pos = 0;
    while (pos <= len && value) {
        uint32_t end = pos;
        while (end < len && value[end] != ',')
            end++;
        uint32_t start = pos, stop = end;
        while (start < stop && (value[start] == ' ' || value[start] == '\t'))
            start++;
        while (stop > start && (value[stop - 1] == ' ' || value[stop - 1] == '\t'))
            stop--;
        http_coding c = body_token_coding(value + start, stop - start);
        if (c != HTTP_CODING_NONE) {
            /* Several real codings stacked: we decode only one layer. */
            if (result != HTTP_CODING_NONE)
                return HTTP_CODING_UNSUPPORTED;
            result = c;
        }
        pos = end + 1;
    }
    return result;
}

/* ---------------------------------------------------------------- lifetime */

as_status http_body_decoder_create(http_body_decoder **out) {
    *out = NULL;
    http_body_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return AS_ERR_NOMEM;
    if (inflateInit2(&d->zs, HTTP_BODY_WBITS_AUTO) != Z_OK) {
        free(d);
        return AS_ERR_NOMEM;
    }
    d->final = AS_DONE;
    *out = d;
    return AS_OK;
}

void http_body_decoder_finish(http_body_decoder *d) {
    if (d && d->br) {
        BrotliDecoderDestroyInstance(d->br);
        d->br = NULL;
    }
}

void http_body_decoder_destroy(http_body_decoder *d) {
    if (!d)
        return;
    http_body_decoder_finish(d);
    inflateEnd(&d->zs);
    free(d);
}

as_status http_body_decoder_start(http_body_decoder *d, http_coding coding, uint64_t out_limit,
                                  uint64_t ratio) {
    http_body_decoder_finish(d);
    d->coding = coding;
    d->out_limit = out_limit;
    d->ratio = ratio ? ratio : 1;
    d->total_in = d->total_out = d->kept = 0;
    d->started = d->truncated = d->pending = 0;
    d->header_len = d->header_fed = 0;
    d->final = AS_OK;
    switch (coding) {
    case HTTP_CODING_GZIP:
        if (inflateReset2(&d->zs, HTTP_BODY_WBITS_AUTO) != Z_OK)
            break;
        d->started = 1;
        return AS_OK;
    case HTTP_CODING_DEFLATE:
        return AS_OK; /* zlib or raw is decided on the first two bytes */
    case HTTP_CODING_BR:
        d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!d->br) {
            d->final = AS_ERR_NOMEM;
            return AS_ERR_NOMEM;
        }
        d->started = 1;
        return AS_OK;
    default:
        break;
    }
    d->final = AS_ERR_ARG;
    return AS_ERR_ARG;
}

int http_body_decoder_truncated(const http_body_decoder *d) {
    return d->truncated;
}

uint64_t http_body_decoder_total_out(const http_body_decoder *d) {
    return d->total_out;
}

/* ---------------------------------------------------------------- decoding */

/* A zlib header: CM 8, window <= 32 KiB, header checksum a multiple of 31. */
static int body_is_zlib_header(const uint8_t header[2]) {
    return (header[0] & 0x0f) == 8 && (header[0] >> 4) <= 7 &&
           ((header[0] << 8) | header[1]) % 31 == 0;
}

typedef enum { STEP_PROGRESS, STEP_END, STEP_ERROR } body_step_result;

/* One bounded decoding step from src into dst. */
static body_step_result body_step(http_body_decoder *d, const uint8_t *src, size_t src_len,
                                  size_t *src_used, uint8_t *dst, size_t dst_len,
                                  size_t *produced) {
    if (d->coding == HTTP_CODING_BR) {
        size_t avail_in = src_len, avail_out = dst_len;
        const uint8_t *next_in = src;
        uint8_t *next_out = dst;
        BrotliDecoderResult r =
            BrotliDecoderDecompressStream(d->br, &avail_in, &next_in, &avail_out, &next_out, NULL);
        *src_used = src_len - avail_in;
        *produced = dst_len - avail_out;
        if (r == BROTLI_DECODER_RESULT_SUCCESS)
            return STEP_END;
        if (r == BROTLI_DECODER_RESULT_ERROR)
            return STEP_ERROR;
        return STEP_PROGRESS;
    }
    d->zs.next_in = (Bytef *)(uintptr_t)src;
    d->zs.avail_in = (uInt)src_len;
    d->zs.next_out = dst;
    d->zs.avail_out = (uInt)dst_len;
    int rc = inflate(&d->zs, Z_NO_FLUSH);
    *src_used = src_len - d->zs.avail_in;
    *produced = dst_len - d->zs.avail_out;
    if (rc == Z_STREAM_END)
        return STEP_END;
    if (rc == Z_OK || rc == Z_BUF_ERROR)
        return STEP_PROGRESS;
    return STEP_ERROR;
}

as_status http_body_decoder_feed(http_body_decoder *d, const uint8_t *in, size_t in_len,
                                 size_t *consumed, uint8_t *out, size_t out_cap, size_t *out_len) {
    *consumed = 0;
    if (d->final != AS_OK)
        return d->final;
    size_t used = 0;
    if (!d->started) {
        while (d->header_len < 2 && used < in_len)
            d->header[d->header_len++] = in[used++];
        *consumed = used;
        if (d->header_len < 2)
            return AS_OK;
        int wbits = body_is_zlib_header(d->header) ? HTTP_BODY_WBITS_ZLIB : HTTP_BODY_WBITS_RAW;
        if (inflateReset2(&d->zs, wbits) != Z_OK) {
            d->final = AS_ERR_FORMAT;
            return d->final;
        }
        d->started = 1;
    }
    for (;;) {
        /* Source: held deflate header bytes first, then the caller's input. */
        const uint8_t *src;
        size_t src_len;
        int from_header = d->header_fed < d->header_len;
        if (from_header) {
            src = d->header + d->header_fed;
            src_len = (size_t)(d->header_len - d->header_fed);
        } else {
            src = in + used;
            src_len = in_len - used;
        }
        if (src_len == 0 && !d->pending) {
            *consumed = used;
            return AS_OK;
        }
        if (!src)
            src = d->header; /* no input: any valid pointer */
        /* Destination: the caller's buffer up to out_limit, then the probe. */
        uint8_t *dst;
        size_t room;
        int probing = d->kept >= d->out_limit;
        if (probing) {
            dst = d->probe;
            room = sizeof d->probe;
        } else {
            if (*out_len >= out_cap) {
                *consumed = used;
                return AS_NEED_MORE;
            }
            room = out_cap - *out_len;
            if (room > d->out_limit - d->kept)
                room = (size_t)(d->out_limit - d->kept);
            if (room > HTTP_BODY_STEP_BYTES)
                room = HTTP_BODY_STEP_BYTES;
            dst = out + *out_len;
        }
        size_t src_used = 0, produced = 0;
        body_step_result r = body_step(d, src, src_len, &src_used, dst, room, &produced);
        d->pending = produced == room;
        if (from_header)
            d->header_fed = (uint8_t)(d->header_fed + src_used);
        else
            used += src_used;
        d->total_in += src_used;
        d->total_out += produced;
        if (probing) {
            if (produced > 0) {
                d->truncated = 1;
                d->final = AS_DONE;
            }
        } else {
            *out_len += produced;
            d->kept += produced;
        }
        if (r == STEP_END && d->final == AS_OK)
            d->final = AS_DONE;
        else if (r == STEP_ERROR)
            d->final = AS_ERR_FORMAT;
        if (d->final == AS_OK && d->total_out > HTTP_BODY_RATIO_FLOOR_BYTES &&
            d->total_out > d->ratio * d->total_in)
            d->final = AS_ERR_LIMIT;
        if (d->final != AS_OK) {
            /* The rest of the input belongs to a finished stream: nothing to do with it. */
            *consumed = in_len;
            return d->final;
        }
        if (src_used == 0 && produced == 0) {
            /* No progress with input and room available: the decoder holds
             * everything it can use; the stream is not usable further. */
            *consumed = used;
            if (from_header || used < in_len) {
                d->final = AS_ERR_FORMAT;
                return d->final;
            }
            return AS_OK;
        }
    }
}
