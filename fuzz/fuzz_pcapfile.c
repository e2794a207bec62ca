/*
 * Fuzz target for the fast classic-pcap reader (capture/pcapfile.c): the
 * input is a whole capture file, put in an anonymous memory file (memfd)
 * for the reader and opened from memory (fmemopen) by libpcap beside it.
 *
 * Checked, differentially: when the reader serves the file, libpcap accepts
 * its header too, and up to the first record the reader refuses, both give
 * the same packets (caplen, wire length, time in nanoseconds as the source
 * computes it, bytes) and the same end of file. The reader's offset always
 * stays within the input. Packets are taken both ways, one by one and from
 * the buffer.
 */
#define _GNU_SOURCE
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/pcapfile.h"

/* Far more packets than an input of a few KiB can hold; bounds a broken reader. */
#define FUZZ_MAX_PACKETS 1000000

static void fuzz_check(int ok) {
    if (!ok)
        __builtin_trap();
}

static int fuzz_memfd(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz_pcapfile", 0);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return fd;
}

/* The packet time as capture/source.c derives it from libpcap's header. */
static uint64_t fuzz_libpcap_ns(const struct pcap_pkthdr *hdr) {
    uint64_t secs = hdr->ts.tv_sec > 0 ? (uint64_t)hdr->ts.tv_sec : 0;
    uint64_t frac = hdr->ts.tv_usec > 0 ? (uint64_t)hdr->ts.tv_usec : 0;
    return secs * 1000000000u + frac;
}

static void fuzz_compare(pcapfile_reader *reader, pcap_t *pcap, size_t size) {
    for (int n = 0; n < FUZZ_MAX_PACKETS; n++) {
        capture_packet pkt;
        /* odd packets from the buffer when they are there, as windows read them */
        as_status status = AS_NEED_MORE;
        if (n % 2)
            status = pcapfile_reader_next_buffered(reader, &pkt);
        fuzz_check(status == AS_OK || status == AS_NEED_MORE);
        if (status == AS_NEED_MORE)
            status = pcapfile_reader_next(reader, &pkt);
        fuzz_check(pcapfile_reader_offset(reader) <= size);
        if (status == AS_ERR_UNSUPPORTED)
            return;
        struct pcap_pkthdr *hdr;
        const u_char *bytes;
        int rc = pcap_next_ex(pcap, &hdr, &bytes);
        if (status == AS_DONE) {
            fuzz_check(rc == PCAP_ERROR_BREAK);
            return;
        }
        fuzz_check(status == AS_OK && rc == 1);
        fuzz_check(pkt.caplen == hdr->caplen);
        fuzz_check(pkt.wirelen == (hdr->len < hdr->caplen ? hdr->caplen : hdr->len));
        fuzz_check(pkt.ts_ns == fuzz_libpcap_ns(hdr));
        fuzz_check(pkt.caplen == 0 || memcmp(pkt.data, bytes, pkt.caplen) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0; /* fmemopen needs a buffer of at least one byte */
    int fd = fuzz_memfd(data, size);
    if (fd < 0)
        return 0;
    pcapfile_reader *reader = NULL;
    if (pcapfile_reader_create(fd, &reader) != AS_OK) {
        close(fd);
        return 0;
    }
    FILE *fp = fmemopen((void *)data, size, "rb");
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pcap =
        fp ? pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err) : NULL;
    fuzz_check(fp == NULL || pcap != NULL); /* a header the reader serves is one libpcap reads */
    if (pcap && (uint32_t)pcap_snapshot(pcap) == pcapfile_reader_snapshot(reader))
        fuzz_compare(reader, pcap, size);
    if (pcap)
        pcap_close(pcap); /* closes fp */
    pcapfile_reader_destroy(reader);
    close(fd);
    return 0;
}
