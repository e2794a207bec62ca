/*
 * ClientHello / ServerHello decoding and JA3/JA4 (see tls_hello.h).
 *
 * Every read goes through a cursor; a length field that runs past its
 * enclosing vector fails the whole message. Unknown extensions are kept by
 * type only. The hashes use libcrypto (MD5 for JA3, SHA-256 for JA4).
 */
#include "tls_hello.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/cursor.h"

static void list_add(tls_u16_list *l, uint16_t v) {
    if (l->n < TLS_HELLO_MAX_LIST)
        l->v[l->n++] = v;
    else
        l->truncated = 1;
}

/* A sub-cursor over the next len bytes of c (failing c when short). */
static cursor sub_cursor(cursor *c, size_t len) {
    static const uint8_t nothing[1];
    const uint8_t *p = cursor_take(c, len);
    if (!p) {
        cursor bad = cursor_make(nothing, 0);
        bad.error = 1;
        return bad;
    }
    return cursor_make(p, len);
}

static void read_u16_vector(cursor *c, tls_u16_list *l) {
    while (cursor_left(c) >= 2)
        list_add(l, cursor_be16(c));
    if (cursor_left(c))
        c->error = 1;
}

static void parse_sni(cursor *ext, tls_client_hello *ch) {
    cursor list = sub_cursor(ext, cursor_be16(ext));
    while (cursor_ok(&list) && cursor_left(&list) > 0) {
        uint8_t type = cursor_u8(&list);
        uint16_t len = cursor_be16(&list);
        const uint8_t *name = cursor_take(&list, len);
        if (name && type == 0 && !ch->has_sni) {
            ch->has_sni = 1;
            ch->sni_len = (uint8_t)(len > TLS_SNI_MAX ? TLS_SNI_MAX : len);
            memcpy(ch->sni, name, ch->sni_len);
            ch->sni[ch->sni_len] = '\0';
        }
    }
    if (!cursor_ok(&list))
        ext->error = 1;
}

static void parse_alpn(cursor *ext, tls_client_hello *ch) {
    cursor list = sub_cursor(ext, cursor_be16(ext));
    int first = 1;
    while (cursor_ok(&list) && cursor_left(&list) > 0) {
        uint8_t len = cursor_u8(&list);
        const uint8_t *proto = cursor_take(&list, len);
        if (proto && first) {
            ch->alpn_len = (uint8_t)(len > TLS_ALPN_MAX ? TLS_ALPN_MAX : len);
            memcpy(ch->alpn, proto, ch->alpn_len);
            ch->alpn[ch->alpn_len] = '\0';
        }
        first = 0;
    }
    if (!cursor_ok(&list))
        ext->error = 1;
}

static void parse_client_extension(uint16_t type, cursor *ext, tls_client_hello *ch) {
    switch (type) {
    case TLS_EXT_SERVER_NAME:
        parse_sni(ext, ch);
        break;
    case TLS_EXT_ALPN:
        ch->has_alpn = 1;
        parse_alpn(ext, ch);
        break;
    case TLS_EXT_SUPPORTED_GROUPS: {
        cursor v = sub_cursor(ext, cursor_be16(ext));
        read_u16_vector(&v, &ch->groups);
        break;
    }
    case TLS_EXT_SIGNATURE_ALGORITHMS: {
        cursor v = sub_cursor(ext, cursor_be16(ext));
        read_u16_vector(&v, &ch->sig_algs);
        break;
    }
    case TLS_EXT_EC_POINT_FORMATS: {
        cursor v = sub_cursor(ext, cursor_u8(ext));
        while (cursor_left(&v) > 0)
            list_add(&ch->point_formats, cursor_u8(&v));
        break;
    }
    case TLS_EXT_SUPPORTED_VERSIONS: {
        cursor v = sub_cursor(ext, cursor_u8(ext));
        read_u16_vector(&v, &ch->versions);
        break;
    }
    default:
        break;
    }
}

as_status tls_client_hello_parse(const uint8_t *body, size_t len, tls_client_hello *ch) {
    memset(ch, 0, sizeof *ch);
    cursor c = cursor_make(body, len);
    ch->legacy_version = cursor_be16(&c);
    cursor_copy(&c, ch->random, sizeof ch->random);
    cursor_skip(&c, cursor_u8(&c)); /* legacy_session_id */
    cursor suites = sub_cursor(&c, cursor_be16(&c));
    read_u16_vector(&suites, &ch->ciphers);
    cursor_skip(&c, cursor_u8(&c)); /* legacy_compression_methods */
    if (!cursor_ok(&c) || !cursor_ok(&suites))
        return AS_ERR_FORMAT;
    if (cursor_left(&c) == 0)
        return AS_OK; /* no extensions (SSL 3.0 style) */
    cursor exts = sub_cursor(&c, cursor_be16(&c));
    while (cursor_ok(&exts) && cursor_left(&exts) > 0) {
        uint16_t type = cursor_be16(&exts);
        cursor ext = sub_cursor(&exts, cursor_be16(&exts));
        if (!cursor_ok(&exts))
            break;
        list_add(&ch->extensions, type);
        parse_client_extension(type, &ext, ch);
        if (!cursor_ok(&ext))
            return AS_ERR_FORMAT;
    }
    return cursor_ok(&exts) && cursor_ok(&c) ? AS_OK : AS_ERR_FORMAT;
}

as_status tls_server_hello_parse(const uint8_t *body, size_t len, tls_server_hello *sh) {
    /* SHA-256("HelloRetryRequest"), the random of a HelloRetryRequest. */
    static const uint8_t retry_random[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
                                             0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                             0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
                                             0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    memset(sh, 0, sizeof *sh);
    cursor c = cursor_make(body, len);
    sh->legacy_version = cursor_be16(&c);
    sh->version = sh->legacy_version;
    cursor_copy(&c, sh->random, sizeof sh->random);
    cursor_skip(&c, cursor_u8(&c)); /* legacy_session_id_echo */
    sh->cipher = cursor_be16(&c);
    cursor_skip(&c, 1); /* legacy_compression_method */
    if (!cursor_ok(&c))
        return AS_ERR_FORMAT;
    sh->retry_request = memcmp(sh->random, retry_random, sizeof retry_random) == 0;
    if (cursor_left(&c) == 0)
        return AS_OK;
    cursor exts = sub_cursor(&c, cursor_be16(&c));
    while (cursor_ok(&exts) && cursor_left(&exts) > 0) {
        uint16_t type = cursor_be16(&exts);
        cursor ext = sub_cursor(&exts, cursor_be16(&exts));
        if (type == TLS_EXT_SUPPORTED_VERSIONS && cursor_left(&ext) == 2)
            sh->version = cursor_be16(&ext);
        else if (type == TLS_EXT_ENCRYPT_THEN_MAC)
            sh->encrypt_then_mac = 1;
    }
    return cursor_ok(&exts) ? AS_OK : AS_ERR_FORMAT;
}

/* ------------------------------------------------------------------ */
/* fingerprints                                                        */

/* Appends text to buf[*len..size); sets *len past size on overflow. */
static void append(char *buf, size_t size, size_t *len, const char *text, size_t n) {
    if (*len + n < size)
        memcpy(buf + *len, text, n);
    *len += n;
}

/* Writes v in decimal to out (room for 5 digits); returns the length. */
static size_t format_decimal(unsigned v, char *out) {
    char digits[5];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    return n;
}

static void append_decimal_list(char *buf, size_t size, size_t *len, const tls_u16_list *l,
                                int skip_grease) {
    int first = 1;
    for (uint16_t i = 0; i < l->n; i++) {
        if (skip_grease && tls_is_grease(l->v[i]))
            continue;
        char num[8];
        size_t n = 0;
        if (!first)
            num[n++] = '-';
        n += format_decimal(l->v[i], num + n);
        append(buf, size, len, num, n);
        first = 0;
    }
}

size_t tls_ja3_string(const tls_client_hello *ch, char *text, size_t size) {
    size_t len = 0;
    char num[8];
    size_t n = format_decimal(ch->legacy_version, num);
    num[n++] = ',';
    append(text, size, &len, num, n);
    append_decimal_list(text, size, &len, &ch->ciphers, 1);
    append(text, size, &len, ",", 1);
    append_decimal_list(text, size, &len, &ch->extensions, 1);
    append(text, size, &len, ",", 1);
    append_decimal_list(text, size, &len, &ch->groups, 1);
    append(text, size, &len, ",", 1);
    append_decimal_list(text, size, &len, &ch->point_formats, 0);
    if (len >= size)
        return 0;
    text[len] = '\0';
    return len;
}

static void hex_encode(const uint8_t *bytes, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

as_status tls_ja3(const tls_client_hello *ch, char out[TLS_JA3_HEX + 1]) {
    /* 5 lists of at most TLS_HELLO_MAX_LIST numbers of at most 6 characters */
    char text[5 * TLS_HELLO_MAX_LIST * 6 + 16];
    size_t len = tls_ja3_string(ch, text, sizeof text);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (!len || EVP_Digest(text, len, md, &md_len, EVP_md5(), NULL) != 1 || md_len != 16)
        return AS_ERR_INTERNAL;
    hex_encode(md, 16, out);
    return AS_OK;
}

as_status tls_ja4_hash12(const char *text, size_t len, char out[13]) {
    if (len == 0) {
        memcpy(out, "000000000000", 13);
        return AS_OK;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (EVP_Digest(text, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        return AS_ERR_INTERNAL;
    hex_encode(md, 6, out);
    return AS_OK;
}

static int compare_u16(const void *a, const void *b) {
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Appends the 4-hex-digit values of l, comma-separated; sorted when asked,
 * GREASE left out, and SNI/ALPN left out when drop_sni_alpn. */
static void append_hex_list(char *buf, size_t size, size_t *len, const tls_u16_list *l, int sort,
                            int drop_sni_alpn) {
    uint16_t values[TLS_HELLO_MAX_LIST];
    uint16_t n = 0;
    for (uint16_t i = 0; i < l->n; i++) {
        uint16_t v = l->v[i];
        if (tls_is_grease(v) || (drop_sni_alpn && (v == TLS_EXT_SERVER_NAME || v == TLS_EXT_ALPN)))
            continue;
        values[n++] = v;
    }
    if (sort)
        qsort(values, n, sizeof values[0], compare_u16);
    static const char digits[] = "0123456789abcdef";
    for (uint16_t i = 0; i < n; i++) {
        char item[5] = {',', digits[values[i] >> 12], digits[(values[i] >> 8) & 15],
                        digits[(values[i] >> 4) & 15], digits[values[i] & 15]};
        append(buf, size, len, i ? item : item + 1, i ? 5 : 4);
    }
}

static uint16_t count_non_grease(const tls_u16_list *l) {
    uint16_t n = 0;
    for (uint16_t i = 0; i < l->n; i++)
        n += !tls_is_grease(l->v[i]);
    return n;
}

static const char *ja4_version(const tls_client_hello *ch) {
    uint16_t version = 0;
    for (uint16_t i = 0; i < ch->versions.n; i++)
        if (!tls_is_grease(ch->versions.v[i]) && ch->versions.v[i] > version)
            version = ch->versions.v[i];
    if (!ch->versions.n)
        version = ch->legacy_version;
    switch (version) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0002:
        return "s2";
    case 0xfeff:
        return "d1";
    case 0xfefd:
        return "d2";
    case 0xfefc:
        return "d3";
    default:
        return "00";
    }
}

static int is_alnum(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void ja4_alpn(const tls_client_hello *ch, char out[2]) {
    static const char digits[] = "0123456789abcdef";
    if (!ch->alpn_len) {
        out[0] = out[1] = '0';
        return;
    }
    uint8_t first = (uint8_t)ch->alpn[0], last = (uint8_t)ch->alpn[ch->alpn_len - 1];
    if (is_alnum(first) && is_alnum(last)) {
        out[0] = (char)first;
        out[1] = (char)last;
    } else {
        out[0] = digits[first >> 4]; /* first and last characters of the hex form */
        out[1] = digits[last & 15];
    }
}

as_status tls_ja4(const tls_client_hello *ch, char out[TLS_JA4_CHARS + 1]) {
    char text[3 * TLS_HELLO_MAX_LIST * 5 + 4];
    char hash_ciphers[13], hash_extensions[13], alpn[2];
    size_t len = 0;
    append_hex_list(text, sizeof text, &len, &ch->ciphers, 1, 0);
    if (len >= sizeof text || tls_ja4_hash12(text, len, hash_ciphers) != AS_OK)
        return AS_ERR_INTERNAL;
    len = 0;
    append_hex_list(text, sizeof text, &len, &ch->extensions, 1, 1);
    if (len > 0 && count_non_grease(&ch->sig_algs) > 0) {
        append(text, sizeof text, &len, "_", 1);
        append_hex_list(text, sizeof text, &len, &ch->sig_algs, 0, 0);
    }
    if (len >= sizeof text || tls_ja4_hash12(text, len, hash_extensions) != AS_OK)
        return AS_ERR_INTERNAL;
    unsigned ciphers = count_non_grease(&ch->ciphers);
    unsigned extensions = count_non_grease(&ch->extensions);
    ja4_alpn(ch, alpn);
    snprintf(out, TLS_JA4_CHARS + 1, "t%s%c%02u%02u%c%c_%s_%s", ja4_version(ch),
             ch->has_sni ? 'd' : 'i', ciphers > 99 ? 99 : ciphers,
             extensions > 99 ? 99 : extensions, alpn[0], alpn[1], hash_ciphers, hash_extensions);
    return AS_OK;
}
