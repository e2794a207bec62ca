/*
 * The split of --memory-budget (see budget.h). Entry costs are resident
 * memory measured as RSS deltas (bench/memory.sh: peak RSS of a run with
 * 100k entries in tables sized for them minus the same run without them,
 * release build, transparent huge pages as the machine grants them), rounded
 * up with some margin; shares are percents of
 * the budget left after the fixed part but 5 %, and those 5 % are the
 * bound of the HTTP messages in flight (http_memory_bytes); allocator slack
 * comes from the margins of the entry costs.
 */
#include "budget.h"

#include <stdio.h>

typedef struct budget_item {
    limit_index limit;
    int64_t entry_bytes; /* resident bytes per entry */
    int percent;         /* share of the budget after the fixed part */
    int kafka_only;      /* counts only when Kafka is configured */
} budget_item;

static const budget_item items[BUDGET_ITEMS] = {
    /* idle keep-alive flow with its HTTP session, slot and bucket: 898 B measured (1102 B
     * before its dead counters and idle parsing state went) */
    {LIMIT_INDEX_flow_max, 1152, 40, 0},
    /* bytes held out of order, counted as they are */
    {LIMIT_INDEX_tcp_ooo_bytes_total, 1, 15, 0},
    /* one client address (actor and its trackers): 428 B measured at 100k (503 B before
     * the trackers were handed out in order) */
    {LIMIT_INDEX_analytics_max_actors, 768, 15, 0},
    /* one endpoint on its own host (record, service, template state): 2817 B measured;
     * plus its two body field tables once JSON bodies were seen (2 x 8 KiB at the
     * default inventory_body_fields and inventory_field_path_bytes) */
    {LIMIT_INDEX_inventory_max_endpoints, 3072 + 16384, 10, 0},
    /* object ownership for bola: 24 B record, hash slot */
    {LIMIT_INDEX_analytics_max_objects, 32, 3, 0},
    /* posture finding record (664 B with the masked value of each sensitive type) and its
     * index */
    {LIMIT_INDEX_inventory_max_findings, 768, 2, 0},
    /* client random and secrets of the key log */
    {LIMIT_INDEX_tls_keylog_entries, 288, 2, 0},
    /* one IPv4 datagram in reassembly, at most 64 KiB + bookkeeping */
    {LIMIT_INDEX_ipfrag_max_datagrams, 67584, 3, 0},
    /* librdkafka's queue, in KiB */
    {LIMIT_INDEX_kafka_queue_kbytes, 1024, 5, 1},
};

int64_t budget_entry_bytes(int index) {
    for (int i = 0; i < BUDGET_ITEMS; i++)
        if ((int)items[i].limit == index)
            return items[i].entry_bytes;
    return 0;
}

static int64_t get(const limits *lim, limit_index index) {
    return limits_get(lim, (int)index);
}

static void set(limits *lim, limit_index index, int64_t value) {
    const limit_info *info = &limits_info()[index];
    if (value < info->min_value)
        value = info->min_value;
    if (value > info->max_value)
        value = info->max_value;
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)value);
    limits_set(lim, info->key, text);
}

int budget_apply(int64_t budget, int kafka, limits *lim, const uint8_t *explicit_set,
                 budget_report *report, char *err, size_t errlen) {
    if (report) {
        report->budget = budget;
        report->line_count = 0;
    }
    if (budget == 0)
        return 0;
    if (budget < BUDGET_MIN_BYTES) {
        snprintf(err, errlen,
                 "--memory-budget %lldM is too small: at least %lldM (%lldM are set aside for "
                 "code, libraries and pattern databases)",
                 (long long)(budget >> 20), (long long)(BUDGET_MIN_BYTES >> 20),
                 (long long)(BUDGET_FIXED_BYTES >> 20));
        return 2;
    }
    int64_t left = budget - BUDGET_FIXED_BYTES;
    int64_t tables = left - left / 20; /* 5 % headroom */
    int percent_free = 0;
    for (int i = 0; i < BUDGET_ITEMS; i++) {
        const budget_item *it = &items[i];
        if (it->kafka_only && !kafka)
            continue;
        if (explicit_set[it->limit])
            tables -= get(lim, it->limit) * it->entry_bytes;
        else
            percent_free += it->percent;
    }
    if (tables < 0) {
        snprintf(err, errlen,
                 "--memory-budget %lldM: the limits set explicitly need %lldM more than the "
                 "budget leaves for tables",
                 (long long)(budget >> 20), (long long)((-tables + (1 << 20) - 1) >> 20));
        return 2;
    }
    for (int i = 0; i < BUDGET_ITEMS; i++) {
        const budget_item *it = &items[i];
        if (it->kafka_only && !kafka)
            continue;
        int is_explicit = explicit_set[it->limit] != 0;
        if (!is_explicit)
            set(lim, it->limit, tables / percent_free * it->percent / it->entry_bytes);
        if (report) {
            budget_line *line = &report->lines[report->line_count++];
            line->key = limits_info()[it->limit].key;
            line->value = get(lim, it->limit);
            line->bytes = line->value * it->entry_bytes;
            line->explicit_setting = is_explicit;
        }
    }
    int http_explicit = explicit_set[LIMIT_INDEX_http_memory_bytes] != 0;
    if (!http_explicit)
        set(lim, LIMIT_INDEX_http_memory_bytes, left / 20);
    if (report) {
        budget_line *line = &report->lines[report->line_count++];
        line->key = limits_info()[LIMIT_INDEX_http_memory_bytes].key;
        line->value = get(lim, LIMIT_INDEX_http_memory_bytes);
        line->bytes = line->value;
        line->explicit_setting = http_explicit;
    }
    return 0;
}
