/*
 * Unit tests of capture sources: every file-format case of the edge
 * captures, the pcapng reader against crafted blocks and against libpcap on
 * the real pcapng files, standard input through a pipe, and error messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/source.h"

#define EDGE_DIR SHARED_DIR "/pcaps/edge/"
#define REAL_DIR SHARED_DIR "/pcaps/real/"

static capture_source *open_ok(const char *path, anomaly_counters *anomalies) {
    char err[512];
    capture_source *src = NULL;
    as_status status = capture_source_open_file(path, anomalies, err, sizeof err, &src);
    if (status != AS_OK)
        fail_msg("open %s: %s (%s)", path, status_name(status), err);
    assert_non_null(src);
    assert_string_equal(err, "");
    return src;
}

/* Reads to the end; returns the packet count and the final status. */
static uint64_t read_all(capture_source *src, as_status *final_status) {
    capture_packet pkt;
    uint64_t count = 0;
    as_status status;
    while ((status = capture_source_next(src, &pkt)) == AS_OK) {
        assert_true(pkt.caplen <= pkt.wirelen);
        assert_true(pkt.caplen == 0 || pkt.data != NULL);
        count++;
    }
    *final_status = status;
    return count;
}

/* ---------------------------------------------------------------- classic pcap */

static void empty_pcap_is_done_at_once(void **state) {
    (void)state;
    capture_source *src = open_ok(EDGE_DIR "pcap-empty.pcap", NULL);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    capture_source_stats stats = capture_source_get_stats(src);
    assert_int_equal(stats.packets, 0);
    capture_source_destroy(src);
}

static void big_endian_pcap_has_microsecond_times(void **state) {
    (void)state;
    capture_source *src = open_ok(EDGE_DIR "pcap-big-endian.pcap", NULL);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.ts_ns, UINT64_C(1700000000123956000));
    assert_int_equal(pkt.caplen, 54);
    assert_int_equal(pkt.wirelen, 54);
    assert_int_equal(pkt.linktype, LINK_ETHERNET);
    assert_int_equal(pkt.interface_id, 0);
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.ts_ns, UINT64_C(1700000000124456000));
    as_status status;
    assert_int_equal(read_all(src, &status), 8);
    assert_int_equal(status, AS_DONE);
    capture_source_stats stats = capture_source_get_stats(src);
    assert_int_equal(stats.packets, 10);
    capture_source_destroy(src);
}

static void nanosecond_pcap_keeps_nanoseconds(void **state) {
    (void)state;
    capture_source *src = open_ok(EDGE_DIR "pcap-nanosecond.pcap", NULL);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.ts_ns, UINT64_C(1700000000123956000));
    capture_source_destroy(src);
}

static void raw_and_null_link_types_are_reported(void **state) {
    (void)state;
    capture_packet pkt;
    capture_source *src = open_ok(EDGE_DIR "linktype-raw-ipv4.pcap", NULL);
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.linktype, LINK_RAW); /* libpcap says DLT_RAW (12) */
    capture_source_destroy(src);
    src = open_ok(EDGE_DIR "linktype-null-loopback.pcap", NULL);
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.linktype, LINK_NULL);
    capture_source_destroy(src);
}

static void truncated_record_returns_good_packets_then_error(void **state) {
    (void)state;
    anomaly_counters anomalies = {0};
    capture_source *src = open_ok(EDGE_DIR "pcap-truncated-record.pcap", &anomalies);
    as_status status;
    assert_int_equal(read_all(src, &status), 11);
    assert_int_equal(status, AS_ERR_TRUNCATED);
    const char *message = capture_source_error(src);
    assert_non_null(strstr(message, "pcap-truncated-record.pcap"));
    assert_non_null(strstr(message, "packet 12"));
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_TRUNCATED_RECORD], 1);
    capture_source_destroy(src);
}

static void progress_reaches_file_size(void **state) {
    (void)state;
    capture_source *src = open_ok(EDGE_DIR "http-pipelined.pcap", NULL);
    uint64_t offset, size;
    capture_source_progress(src, &offset, &size);
    assert_int_equal(size, 3456);
    as_status status;
    read_all(src, &status);
    assert_int_equal(status, AS_DONE);
    capture_source_progress(src, &offset, &size);
    assert_int_equal(offset, 3456);
    capture_source_destroy(src);

    src = open_ok(EDGE_DIR "pcapng-multi-interface.pcapng", NULL);
    read_all(src, &status);
    capture_source_progress(src, &offset, &size);
    assert_int_equal(size, 4524);
    assert_int_equal(offset, 4524);
    capture_source_destroy(src);
}

static void break_stops_a_file_source(void **state) {
    (void)state;
    capture_source *src = open_ok(EDGE_DIR "http-pipelined.pcap", NULL);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    capture_source_break(src);
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    capture_source_destroy(src);
}

/* ---------------------------------------------------------------- errors */

static void missing_file_is_named(void **state) {
    (void)state;
    char err[512];
    capture_source *src = (capture_source *)&err; /* must be reset to NULL */
    as_status status =
        capture_source_open_file("/nonexistent/dir/missing.pcap", NULL, err, sizeof err, &src);
    assert_int_equal(status, AS_ERR_IO);
    assert_null(src);
    assert_non_null(strstr(err, "/nonexistent/dir/missing.pcap"));
    assert_non_null(strstr(err, "No such file"));
}

static as_status open_bytes(const void *bytes, size_t len, anomaly_counters *anomalies, char *err,
                            unsigned err_len, capture_source **out) {
    FILE *fp = fmemopen((void *)bytes, len, "rb");
    assert_non_null(fp);
    return capture_source_open_stream(fp, "memory.pcapng", anomalies, err, err_len, out);
}

static void garbage_file_is_a_format_error(void **state) {
    (void)state;
    char path[] = "/tmp/apisensor-test-garbage-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "this is not a capture file at all\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char err[512];
    capture_source *src = NULL;
    assert_int_equal(capture_source_open_file(path, NULL, err, sizeof err, &src), AS_ERR_FORMAT);
    assert_null(src);
    assert_non_null(strstr(err, path));
    unlink(path);

    /* empty and too short */
    assert_int_equal(open_bytes("", 0, NULL, err, sizeof err, &src), AS_ERR_FORMAT);
    assert_non_null(strstr(err, "empty"));
    assert_int_equal(open_bytes("\xd4\xc3", 2, NULL, err, sizeof err, &src), AS_ERR_FORMAT);
    /* a pcap magic and a cut file header: libpcap's message, as truncated */
    assert_int_equal(open_bytes("\xd4\xc3\xb2\xa1\x02\x00", 6, NULL, err, sizeof err, &src),
                     AS_ERR_TRUNCATED);
    assert_non_null(strstr(err, "memory.pcapng"));
}

/* ---------------------------------------------------------------- pcapng files */

typedef struct expected_packet {
    uint32_t interface_id;
    uint64_t ts_ns;
    uint32_t caplen;
} expected_packet;

static void check_pcapng_file(const char *path, const expected_packet *expected, size_t count,
                              const uint32_t *linktypes) {
    anomaly_counters anomalies = {0};
    capture_source *src = open_ok(path, &anomalies);
    capture_packet pkt;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(capture_source_next(src, &pkt), AS_OK);
        assert_int_equal(pkt.interface_id, expected[i].interface_id);
        assert_int_equal(pkt.ts_ns, expected[i].ts_ns);
        assert_int_equal(pkt.caplen, expected[i].caplen);
        assert_int_equal(pkt.linktype, linktypes[pkt.interface_id]);
    }
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_UNKNOWN_INTERFACE], 0);
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_BAD_BLOCK], 0);
    capture_source_destroy(src);
}

/* Interface 0 Ethernet usec, 1 raw IPv4 with if_tsresol 9, 2 Ethernet+VLAN with if_tsresol 3. */
static void pcapng_multi_interface_link_types_and_times(void **state) {
    (void)state;
    static const expected_packet expected[] = {
        {0, 1700000000000500000, 54},  {1, 1700000000000630000, 40},  {0, 1700000000001000000, 54},
        {1, 1700000000001130000, 40},  {0, 1700000000001500000, 54},  {1, 1700000000001630000, 40},
        {0, 1700000000002000000, 127}, {1, 1700000000002130000, 113}, {0, 1700000000002500000, 54},
        {2, 1700000000002000000, 58},  {1, 1700000000002630000, 40},  {0, 1700000000003000000, 590},
        {2, 1700000000003000000, 58},  {1, 1700000000003130000, 576}, {0, 1700000000003500000, 54},
        {2, 1700000000003000000, 58},  {1, 1700000000003630000, 40},  {0, 1700000000004000000, 54},
        {2, 1700000000004000000, 132}, {1, 1700000000004130000, 40},  {0, 1700000000004500000, 54},
        {2, 1700000000004000000, 58},  {1, 1700000000004630000, 40},  {0, 1700000000005000000, 54},
        {2, 1700000000005000000, 592}, {1, 1700000000005130000, 40},  {2, 1700000000005000000, 58},
        {2, 1700000000006000000, 58},  {2, 1700000000006000000, 58},  {2, 1700000000007000000, 58},
    };
    static const uint32_t linktypes[] = {LINK_ETHERNET, LINK_RAW, LINK_ETHERNET};
    check_pcapng_file(EDGE_DIR "pcapng-multi-interface.pcapng", expected,
                      sizeof expected / sizeof expected[0], linktypes);
}

/* Three Ethernet interfaces with if_tsresol 6, 9 and 3. */
static void pcapng_multi_interface_ethernet_times(void **state) {
    (void)state;
    static const expected_packet expected[] = {
        {0, 1700000000000500000, 54},  {1, 1700000000000630000, 54},  {0, 1700000000001000000, 54},
        {1, 1700000000001130000, 54},  {0, 1700000000001500000, 54},  {1, 1700000000001630000, 54},
        {0, 1700000000002000000, 127}, {1, 1700000000002130000, 127}, {0, 1700000000002500000, 54},
        {2, 1700000000002000000, 58},  {1, 1700000000002630000, 54},  {0, 1700000000003000000, 592},
        {2, 1700000000003000000, 58},  {1, 1700000000003130000, 592}, {0, 1700000000003500000, 54},
        {2, 1700000000003000000, 58},  {1, 1700000000003630000, 54},  {0, 1700000000004000000, 54},
        {2, 1700000000004000000, 131}, {1, 1700000000004130000, 54},  {0, 1700000000004500000, 54},
        {2, 1700000000004000000, 58},  {1, 1700000000004630000, 54},  {0, 1700000000005000000, 54},
        {2, 1700000000005000000, 596}, {1, 1700000000005130000, 54},  {2, 1700000000005000000, 58},
        {2, 1700000000006000000, 58},  {2, 1700000000006000000, 58},  {2, 1700000000007000000, 58},
    };
    static const uint32_t linktypes[] = {LINK_ETHERNET, LINK_ETHERNET, LINK_ETHERNET};
    check_pcapng_file(EDGE_DIR "pcapng-multi-interface-ethernet.pcapng", expected,
                      sizeof expected / sizeof expected[0], linktypes);
}

/* libpcap on path with nanosecond times, the reference the readers are compared with. */
static pcap_t *libpcap_open(const char *path) {
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pcap =
        pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!pcap)
        fail_msg("libpcap cannot open %s: %s", path, errbuf);
    return pcap;
}

/* Our pcapng reader and libpcap must agree on every packet of a file libpcap can read. */
static void compare_with_libpcap(const char *path) {
    pcap_t *pcap = libpcap_open(path);
    capture_source *src = open_ok(path, NULL);
    capture_packet pkt;
    struct pcap_pkthdr *hdr;
    const u_char *data;
    uint64_t count = 0;
    while (pcap_next_ex(pcap, &hdr, &data) == 1) {
        assert_int_equal(capture_source_next(src, &pkt), AS_OK);
        uint64_t ts = (uint64_t)hdr->ts.tv_sec * 1000000000u + (uint64_t)hdr->ts.tv_usec;
        assert_int_equal(pkt.ts_ns, ts);
        assert_int_equal(pkt.caplen, hdr->caplen);
        assert_int_equal(pkt.wirelen, hdr->len);
        assert_memory_equal(pkt.data, data, hdr->caplen);
        count++;
    }
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    assert_true(count > 0);
    capture_source_destroy(src);
    pcap_close(pcap);
}

/* compare_with_libpcap on every file of dir whose name ends with suffix,
 * except those named in skip; returns the number of files compared. */
static int compare_directory_with_libpcap(const char *dir_path, const char *suffix,
                                          const char *const *skip) {
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    struct dirent *entry;
    int files = 0;
    char path[1024];
    size_t suffix_len = strlen(suffix);
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < suffix_len || strcmp(entry->d_name + n - suffix_len, suffix) != 0)
            continue;
        int skipped = 0;
        for (const char *const *name = skip; name && *name; name++)
            skipped |= strcmp(entry->d_name, *name) == 0;
        if (skipped)
            continue;
        snprintf(path, sizeof path, "%s%s", dir_path, entry->d_name);
        compare_with_libpcap(path);
        files++;
    }
    closedir(dir);
    return files;
}

static void pcapng_reader_agrees_with_libpcap(void **state) {
    (void)state;
    compare_with_libpcap(EDGE_DIR "pcapng-multi-interface-ethernet.pcapng");
    assert_true(compare_directory_with_libpcap(REAL_DIR, ".pcapng", NULL) >= 5);
}

/* Classic pcap files are read by the fast reader (pcapfile.c) while it
 * serves them: every packet must be libpcap's. */
static void pcap_file_reader_agrees_with_libpcap(void **state) {
    (void)state;
    /* no packets, and a cut record (truncated_record_returns_good_packets_then_error) */
    static const char *const edge_skip[] = {"pcap-empty.pcap", "pcap-truncated-record.pcap", NULL};
    assert_true(compare_directory_with_libpcap(EDGE_DIR, ".pcap", edge_skip) >= 20);
    assert_true(compare_directory_with_libpcap(REAL_DIR, ".pcap", NULL) >= 20);
}

/* Windows of packets from the fast reader: every view of a window stays
 * valid until the next call, and the packets are libpcap's, in order. */
static void compare_batches_with_libpcap(const char *path, as_status expected_end) {
    pcap_t *pcap = libpcap_open(path);
    capture_source *src = open_ok(path, NULL);
    capture_packet window[16];
    unsigned count;
    uint64_t packets = 0, windows = 0, multi = 0;
    as_status status;
    while ((status = capture_source_next_batch(src, window, 16, &count)) == AS_OK) {
        assert_true(count >= 1 && count <= 16);
        windows++;
        multi += count > 1;
        for (unsigned i = 0; i < count; i++) {
            struct pcap_pkthdr *hdr;
            const u_char *data;
            assert_int_equal(pcap_next_ex(pcap, &hdr, &data), 1);
            assert_int_equal(window[i].caplen, hdr->caplen);
            assert_int_equal(window[i].ts_ns,
                             (uint64_t)hdr->ts.tv_sec * 1000000000u + (uint64_t)hdr->ts.tv_usec);
            assert_memory_equal(window[i].data, data, hdr->caplen);
            packets++;
        }
    }
    assert_int_equal(status, expected_end);
    assert_int_equal(capture_source_get_stats(src).packets, packets);
    assert_true(multi > 0 && windows < packets);
    capture_source_destroy(src);
    pcap_close(pcap);
}

static void pcap_file_windows_agree_with_libpcap(void **state) {
    (void)state;
    compare_batches_with_libpcap(EDGE_DIR "http-pipelined.pcap", AS_DONE);
    compare_batches_with_libpcap(EDGE_DIR "pcap-truncated-record.pcap", AS_ERR_TRUNCATED);
    compare_batches_with_libpcap(REAL_DIR "ndpi-1kxun.pcap", AS_DONE);
}

/* Appends a little-endian value of `bytes` bytes. */
static void put_le(uint8_t *buf, size_t *len, uint32_t value, int bytes) {
    for (int i = 0; i < bytes; i++)
        buf[(*len)++] = (uint8_t)(value >> (8 * i));
}

/* A record longer than the file's snaplen is libpcap's to cut: the fast
 * reader hands over at that record, and libpcap reads on to the end. */
static void pcap_record_over_snaplen_is_cut_by_libpcap(void **state) {
    (void)state;
    uint8_t file[256];
    size_t len = 0;
    /* file header: magic (microseconds, little-endian), version 2.4, zone,
     * sigfigs, snaplen 20, Ethernet */
    put_le(file, &len, 0xa1b2c3d4u, 4);
    put_le(file, &len, 2, 2);
    put_le(file, &len, 4, 2);
    put_le(file, &len, 0, 4);
    put_le(file, &len, 0, 4);
    put_le(file, &len, 20, 4);
    put_le(file, &len, LINK_ETHERNET, 4);
    /* three records of 20, 30 and 20 bytes (each byte = the record number),
     * 1 s, 2 s and 3 s + 5 us */
    static const uint32_t caplens[] = {20, 30, 20};
    for (uint32_t i = 0; i < 3; i++) {
        put_le(file, &len, i + 1, 4);
        put_le(file, &len, 5, 4);
        put_le(file, &len, caplens[i], 4);
        put_le(file, &len, 60, 4);
        memset(file + len, (int)(i + 1), caplens[i]);
        len += caplens[i];
    }
    char path[] = "/tmp/apisensor-test-snaplen-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, file, len), (ssize_t)len);
    close(fd);
    capture_source *src = open_ok(path, NULL);
    capture_packet pkt;
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(capture_source_next(src, &pkt), AS_OK);
        assert_int_equal(pkt.caplen, 20); /* the second one cut to the snaplen */
        assert_int_equal(pkt.wirelen, 60);
        assert_int_equal(pkt.ts_ns, (uint64_t)(i + 1) * 1000000000u + 5000u);
        assert_int_equal(pkt.data[0], i + 1);
        assert_int_equal(pkt.data[19], i + 1);
    }
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    uint64_t offset, size;
    capture_source_progress(src, &offset, &size);
    assert_int_equal(offset, len);
    assert_int_equal(size, len);
    capture_source_destroy(src);
    unlink(path);
}

/* ---------------------------------------------------------------- crafted pcapng */

typedef struct ng_builder {
    uint8_t bytes[4096];
    size_t len;
    int big_endian;
} ng_builder;

static void put8(ng_builder *b, uint8_t v) {
    assert_true(b->len < sizeof b->bytes);
    b->bytes[b->len++] = v;
}

static void put16(ng_builder *b, uint16_t v) {
    if (b->big_endian) {
        put8(b, (uint8_t)(v >> 8));
        put8(b, (uint8_t)v);
    } else {
        put8(b, (uint8_t)v);
        put8(b, (uint8_t)(v >> 8));
    }
}

static void put32(ng_builder *b, uint32_t v) {
    if (b->big_endian) {
        put16(b, (uint16_t)(v >> 16));
        put16(b, (uint16_t)v);
    } else {
        put16(b, (uint16_t)v);
        put16(b, (uint16_t)(v >> 16));
    }
}

static void put_bytes(ng_builder *b, const void *bytes, size_t n) {
    for (size_t i = 0; i < n; i++)
        put8(b, ((const uint8_t *)bytes)[i]);
    while (b->len % 4)
        put8(b, 0);
}

static size_t block_begin(ng_builder *b, uint32_t type) {
    size_t at = b->len;
    put32(b, type);
    put32(b, 0); /* length, patched by block_end */
    return at;
}

static void block_end(ng_builder *b, size_t at) {
    uint32_t total = (uint32_t)(b->len - at + 4);
    size_t end = b->len;
    b->len = at + 4;
    put32(b, total);
    b->len = end;
    put32(b, total);
}

static void section(ng_builder *b, int big_endian) {
    b->big_endian = big_endian;
    size_t at = block_begin(b, 0x0A0D0D0A);
    put32(b, 0x1A2B3C4D);
    put16(b, 1);
    put16(b, 0);
    put32(b, 0xffffffff); /* section length unknown */
    put32(b, 0xffffffff);
    block_end(b, at);
}

/* IDB with optional if_tsresol (tsresol >= 0) and if_tsoffset (offset != 0). */
static void interface(ng_builder *b, uint16_t linktype, uint32_t snaplen, int tsresol,
                      int64_t tsoffset) {
    size_t at = block_begin(b, 1);
    put16(b, linktype);
    put16(b, 0);
    put32(b, snaplen);
    if (tsresol >= 0) {
        put16(b, 9);
        put16(b, 1);
        uint8_t resol = (uint8_t)tsresol;
        put_bytes(b, &resol, 1);
    }
    if (tsoffset != 0) {
        put16(b, 14);
        put16(b, 8);
        uint64_t v = (uint64_t)tsoffset;
        if (b->big_endian) {
            put32(b, (uint32_t)(v >> 32));
            put32(b, (uint32_t)v);
        } else {
            put32(b, (uint32_t)v);
            put32(b, (uint32_t)(v >> 32));
        }
    }
    put16(b, 0); /* opt_endofopt */
    put16(b, 0);
    block_end(b, at);
}

static void enhanced_packet(ng_builder *b, uint32_t interface_id, uint64_t ticks, const void *data,
                            uint32_t caplen, uint32_t wirelen) {
    size_t at = block_begin(b, 6);
    put32(b, interface_id);
    put32(b, (uint32_t)(ticks >> 32));
    put32(b, (uint32_t)ticks);
    put32(b, caplen);
    put32(b, wirelen);
    put_bytes(b, data, caplen);
    block_end(b, at);
}

static void other_block(ng_builder *b, uint32_t type, size_t body_len) {
    size_t at = block_begin(b, type);
    for (size_t i = 0; i < body_len; i++)
        put8(b, 0x5a);
    while (b->len % 4)
        put8(b, 0);
    block_end(b, at);
}

static void pcapng_sections_blocks_and_resolutions(void **state) {
    (void)state;
    static const uint8_t frame[] = {1, 2, 3, 4, 5, 6, 7};
    ng_builder b = {.len = 0};
    /* section 1, little-endian: one Ethernet interface, default microseconds */
    section(&b, 0);
    interface(&b, LINK_ETHERNET, 0, -1, 0);
    other_block(&b, 4, 16); /* name resolution: skipped */
    enhanced_packet(&b, 0, UINT64_C(1700000000000001), frame, 7, 60);
    other_block(&b, 5, 20);                 /* interface statistics: skipped */
    other_block(&b, 0x40000BAD, 3);         /* custom block: skipped */
    enhanced_packet(&b, 1, 0, frame, 7, 7); /* no interface 1 in this section */
    /* section 2, big-endian: interfaces start again */
    section(&b, 1);
    interface(&b, LINK_RAW, 4, 0x80 | 20, 100); /* 2^-20 s units, +100 s, snaplen 4 */
    enhanced_packet(&b, 0, (UINT64_C(3) << 20) | (UINT64_C(1) << 19), frame, 3, 3);
    /* simple packet block: interface 0, no time, cut to the snaplen */
    size_t at = block_begin(&b, 3);
    put32(&b, 7);
    put_bytes(&b, frame, 7);
    block_end(&b, at);
    /* obsolete packet block: 16-bit interface id and drops count */
    at = block_begin(&b, 2);
    put16(&b, 0);
    put16(&b, 0);
    put32(&b, 0);
    put32(&b, 1 << 20);
    put32(&b, 2);
    put32(&b, 2);
    put_bytes(&b, frame, 2);
    block_end(&b, at);

    anomaly_counters anomalies = {0};
    char err[512];
    capture_source *src = NULL;
    assert_int_equal(open_bytes(b.bytes, b.len, &anomalies, err, sizeof err, &src), AS_OK);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.ts_ns, UINT64_C(1700000000000001000));
    assert_int_equal(pkt.caplen, 7);
    assert_int_equal(pkt.wirelen, 60);
    assert_int_equal(pkt.linktype, LINK_ETHERNET);
    assert_memory_equal(pkt.data, frame, 7);

    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_UNKNOWN_INTERFACE], 1);
    assert_int_equal(pkt.linktype, LINK_RAW);
    assert_int_equal(pkt.interface_id, 0);
    assert_int_equal(pkt.ts_ns, UINT64_C(103500000000)); /* 3.5 s + 100 s */
    assert_int_equal(pkt.caplen, 3);

    assert_int_equal(capture_source_next(src, &pkt), AS_OK); /* SPB */
    assert_int_equal(pkt.ts_ns, 0);
    assert_int_equal(pkt.caplen, 4);
    assert_int_equal(pkt.wirelen, 7);
    assert_memory_equal(pkt.data, frame, 4);

    assert_int_equal(capture_source_next(src, &pkt), AS_OK); /* OPB */
    assert_int_equal(pkt.ts_ns, UINT64_C(101000000000));
    assert_int_equal(pkt.caplen, 2);

    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_BAD_BLOCK], 0);
    capture_source_destroy(src);
}

/* Builds SHB + IDB, then lets the caller add one bad block; expects `status` from next. */
static void expect_bad_block(void (*add)(ng_builder *), as_status expected, const char *text) {
    ng_builder b = {.len = 0};
    section(&b, 0);
    interface(&b, LINK_ETHERNET, 0, -1, 0);
    add(&b);
    char err[512];
    capture_source *src = NULL;
    anomaly_counters anomalies = {0};
    assert_int_equal(open_bytes(b.bytes, b.len, &anomalies, err, sizeof err, &src), AS_OK);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), expected);
    assert_int_equal(capture_source_next(src, &pkt), expected); /* sticky */
    const char *message = capture_source_error(src);
    assert_non_null(strstr(message, "memory.pcapng"));
    if (!strstr(message, text))
        fail_msg("message '%s' lacks '%s'", message, text);
    capture_source_destroy(src);
}

static void add_length_13(ng_builder *b) {
    put32(b, 6);
    put32(b, 13);
    put32(b, 0);
    put32(b, 0);
}

static void add_length_8(ng_builder *b) {
    put32(b, 6);
    put32(b, 8);
    put32(b, 8);
}

static void add_huge_length(ng_builder *b) {
    put32(b, 6);
    put32(b, 64u * 1024u * 1024u);
    put32(b, 0);
}

static void add_caplen_beyond_block(ng_builder *b) {
    static const uint8_t frame[8] = {0};
    size_t at = b->len;
    enhanced_packet(b, 0, 0, frame, 8, 8);
    b->bytes[at + 20] = 200; /* caplen field: 200 > 8 bytes present */
}

static void add_trailer_mismatch(ng_builder *b) {
    static const uint8_t frame[8] = {0};
    enhanced_packet(b, 0, 0, frame, 8, 8);
    b->bytes[b->len - 4] ^= 0x40;
}

static void add_cut_block(ng_builder *b) {
    static const uint8_t frame[8] = {0};
    enhanced_packet(b, 0, 0, frame, 8, 8);
    b->len -= 6;
}

static void add_cut_header(ng_builder *b) {
    put32(b, 6);
    put16(b, 0);
}

static void pcapng_framing_errors(void **state) {
    (void)state;
    /* SHB (28 bytes) + IDB (24 bytes): the bad block starts at offset 52 */
    expect_bad_block(add_length_13, AS_ERR_FORMAT, "offset 52");
    expect_bad_block(add_length_8, AS_ERR_FORMAT, "bad block length 8");
    expect_bad_block(add_huge_length, AS_ERR_FORMAT, "offset 52");
    expect_bad_block(add_caplen_beyond_block, AS_ERR_FORMAT, "captured length 200");
    expect_bad_block(add_trailer_mismatch, AS_ERR_FORMAT, "trailing length");
    expect_bad_block(add_cut_block, AS_ERR_TRUNCATED, "offset 52");
    expect_bad_block(add_cut_header, AS_ERR_TRUNCATED, "offset 52");
}

static void pcapng_short_fields_are_counted_and_skipped(void **state) {
    (void)state;
    ng_builder b = {.len = 0};
    section(&b, 0);
    /* IDB with a body of 4 bytes: too short for link type and snaplen */
    size_t at = block_begin(&b, 1);
    put32(&b, 1);
    block_end(&b, at);
    /* IDB whose option runs past the block */
    at = block_begin(&b, 1);
    put16(&b, LINK_ETHERNET);
    put16(&b, 0);
    put32(&b, 0);
    put16(&b, 9);
    put16(&b, 200);
    block_end(&b, at);
    /* EPB with a body of 8 bytes */
    at = block_begin(&b, 6);
    put32(&b, 0);
    put32(&b, 0);
    block_end(&b, at);
    static const uint8_t frame[4] = {9, 9, 9, 9};
    enhanced_packet(&b, 0, 5, frame, 4, 4);

    anomaly_counters anomalies = {0};
    char err[512];
    capture_source *src = NULL;
    assert_int_equal(open_bytes(b.bytes, b.len, &anomalies, err, sizeof err, &src), AS_OK);
    capture_packet pkt;
    assert_int_equal(capture_source_next(src, &pkt), AS_OK);
    assert_int_equal(pkt.ts_ns, 5000); /* the second IDB kept its default microseconds */
    assert_int_equal(anomalies.count[ANOMALY_SOURCE_BAD_BLOCK], 3);
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    capture_source_destroy(src);
}

/* ---------------------------------------------------------------- standard input */

/* Feeds `path` to standard input through a pipe and reads it back with "-". */
static uint64_t count_via_stdin(const char *path, as_status *final_status) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        FILE *fp = fopen(path, "rb");
        char buf[4096];
        size_t n;
        while (fp && (n = fread(buf, 1, sizeof buf, fp)) > 0)
            if (write(fds[1], buf, n) != (ssize_t)n)
                break;
        _exit(0);
    }
    close(fds[1]);
    int saved = dup(STDIN_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[0], STDIN_FILENO) >= 0);
    close(fds[0]);
    clearerr(stdin);

    capture_source *src = open_ok("-", NULL);
    uint64_t count = read_all(src, final_status);
    uint64_t offset, size;
    capture_source_progress(src, &offset, &size);
    assert_int_equal(size, 0);
    assert_true(offset > 0);
    capture_source_destroy(src);

    assert_true(dup2(saved, STDIN_FILENO) >= 0);
    close(saved);
    clearerr(stdin);
    int wstatus;
    waitpid(child, &wstatus, 0);
    return count;
}

static void stdin_pipe_reads_pcap_and_pcapng(void **state) {
    (void)state;
    as_status status;
    assert_int_equal(count_via_stdin(EDGE_DIR "http-pipelined.pcap", &status), 16);
    assert_int_equal(status, AS_DONE);
    assert_int_equal(count_via_stdin(EDGE_DIR "pcapng-multi-interface.pcapng", &status), 30);
    assert_int_equal(status, AS_DONE);
    assert_int_equal(count_via_stdin(EDGE_DIR "pcap-truncated-record.pcap", &status), 11);
    assert_int_equal(status, AS_ERR_TRUNCATED);
    assert_int_equal(count_via_stdin(EDGE_DIR "pcap-empty.pcap", &status), 0);
    assert_int_equal(status, AS_DONE);
}

/* ---------------------------------------------------------------- live */

static void live_errors_are_clear(void **state) {
    (void)state;
    char err[512];
    capture_source *src = NULL;
    as_status status = capture_source_open_live("nosuchif0", NULL, NULL, err, sizeof err, &src);
    assert_true(status_is_error(status));
    assert_null(src);
    assert_non_null(strstr(err, "nosuchif0"));
    assert_int_equal(capture_source_open_live(NULL, NULL, NULL, err, sizeof err, &src), AS_ERR_ARG);

    /* A bad filter on the loopback interface, when this process may capture at all. */
    capture_live_options options = {.filter = "tcp port http and and"};
    status = capture_source_open_live("lo", &options, NULL, err, sizeof err, &src);
    if (status == AS_OK)
        fail_msg("bad filter accepted");
    if (strstr(err, "permission") == NULL && strstr(err, "not up") == NULL) {
        assert_int_equal(status, AS_ERR_ARG);
        assert_non_null(strstr(err, "bad capture filter"));
    }
}

static void live_loopback_times_out_and_breaks(void **state) {
    (void)state;
    char err[512];
    capture_source *src = NULL;
    capture_live_options options = {.snaplen = 128, .filter = "udp port 9"};
    if (capture_source_open_live("lo", &options, NULL, err, sizeof err, &src) != AS_OK)
        skip(); /* no capture privileges in this environment */
    capture_packet pkt;
    as_status status = capture_source_next(src, &pkt);
    assert_true(status == AS_NEED_MORE || status == AS_OK);
    capture_source_break(src);
    assert_int_equal(capture_source_next(src, &pkt), AS_DONE);
    capture_source_stats stats = capture_source_get_stats(src);
    assert_int_equal(stats.kernel_drops, 0);
    capture_source_destroy(src);
}

/* A group takes only live sources; with lo twice it reads both, sums their
 * counters, and one break stops both. */
static void live_group(void **state) {
    (void)state;
    char err[512];
    capture_source *file = NULL, *group = NULL;
    assert_int_equal(
        capture_source_open_file(EDGE_DIR "pcap-empty.pcap", NULL, err, sizeof err, &file), AS_OK);
    assert_int_equal(capture_source_open_group(&file, 1, err, sizeof err, &group), AS_ERR_ARG);
    assert_null(group);
    assert_non_null(strstr(err, "live"));
    assert_int_equal(capture_source_open_group(NULL, 0, err, sizeof err, &group), AS_ERR_ARG);
    capture_source_destroy(file);
    capture_source *members[2] = {NULL, NULL};
    capture_live_options options = {.snaplen = 128, .filter = "udp port 9"};
    if (capture_source_open_live("lo", &options, NULL, err, sizeof err, &members[0]) != AS_OK)
        skip(); /* no capture privileges in this environment */
    assert_int_equal(capture_source_open_live("lo", &options, NULL, err, sizeof err, &members[1]),
                     AS_OK);
    assert_int_equal(capture_source_open_group(members, 2, err, sizeof err, &group), AS_OK);
    assert_true(capture_source_is_live(group));
    capture_packet pkt;
    as_status status = capture_source_next(group, &pkt);
    assert_true(status == AS_NEED_MORE || status == AS_OK);
    capture_source_break(group);
    assert_int_equal(capture_source_next(group, &pkt), AS_DONE);
    assert_int_equal(capture_source_next(members[0], &pkt), AS_DONE);
    assert_int_equal(capture_source_get_stats(group).kernel_drops, 0);
    capture_source_destroy(group); /* and its members */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_pcap_is_done_at_once),
        cmocka_unit_test(big_endian_pcap_has_microsecond_times),
        cmocka_unit_test(nanosecond_pcap_keeps_nanoseconds),
        cmocka_unit_test(raw_and_null_link_types_are_reported),
        cmocka_unit_test(truncated_record_returns_good_packets_then_error),
        cmocka_unit_test(progress_reaches_file_size),
        cmocka_unit_test(break_stops_a_file_source),
        cmocka_unit_test(missing_file_is_named),
        cmocka_unit_test(garbage_file_is_a_format_error),
        cmocka_unit_test(pcapng_multi_interface_link_types_and_times),
        cmocka_unit_test(pcapng_multi_interface_ethernet_times),
        cmocka_unit_test(pcapng_reader_agrees_with_libpcap),
        cmocka_unit_test(pcap_file_reader_agrees_with_libpcap),
        cmocka_unit_test(pcap_record_over_snaplen_is_cut_by_libpcap),
        cmocka_unit_test(pcap_file_windows_agree_with_libpcap),
        cmocka_unit_test(pcapng_sections_blocks_and_resolutions),
        cmocka_unit_test(pcapng_framing_errors),
        cmocka_unit_test(pcapng_short_fields_are_counted_and_skipped),
        cmocka_unit_test(stdin_pipe_reads_pcap_and_pcapng),
        cmocka_unit_test(live_errors_are_clear),
        cmocka_unit_test(live_loopback_times_out_and_breaks),
        cmocka_unit_test(live_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
