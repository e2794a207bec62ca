/*
 * Fuzz target for capture files: the input is a whole capture file, opened
 * from memory (fmemopen) through capture_source_open_stream, so both the
 * pcapng block reader and the classic pcap path through libpcap see it.
 * Reads until the end or an error, touching every captured byte.
 *
 * Checked: every packet has caplen <= wirelen and data for its bytes; an
 * error leaves a message naming the input; the progress offset never
 * exceeds the input size.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "capture/source.h"

/* Far more packets than an input of a few KiB can hold; bounds a broken reader. */
#define FUZZ_MAX_PACKETS 1000000

static void fuzz_check(int ok) {
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0; /* fmemopen needs a buffer of at least one byte */
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp)
        return 0;
    anomaly_counters anomalies = {0};
    char err[256];
    capture_source *src = NULL;
    as_status status = capture_source_open_stream(fp, "fuzz", &anomalies, err, sizeof err, &src);
    if (status != AS_OK) {
        fuzz_check(src == NULL && strstr(err, "fuzz") != NULL);
        return 0;
    }
    capture_packet pkt;
    volatile uint8_t sum = 0;
    for (int n = 0; n < FUZZ_MAX_PACKETS; n++) {
        status = capture_source_next(src, &pkt);
        if (status != AS_OK)
            break;
        fuzz_check(pkt.caplen <= pkt.wirelen);
        fuzz_check(pkt.caplen == 0 || pkt.data != NULL);
        for (uint32_t i = 0; i < pkt.caplen; i++)
            sum = (uint8_t)(sum + pkt.data[i]);
    }
    (void)sum;
    if (status_is_error(status))
        fuzz_check(strstr(capture_source_error(src), "fuzz") != NULL);
    uint64_t offset, total;
    capture_source_progress(src, &offset, &total);
    fuzz_check(offset <= size);
    capture_source_stats stats = capture_source_get_stats(src);
    fuzz_check(stats.bytes <= stats.wire_bytes);
    capture_source_destroy(src);
    return 0;
}
