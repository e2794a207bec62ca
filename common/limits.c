/* The limit table: defaults, ranges and parsing of "key = value" settings. */
#include "limits.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const limit_info limit_table[] = {
#define LIMITS_INFO(field, def, min, max, policy, reason) {#field, def, min, max, policy, reason},
    LIMITS_LIST(LIMITS_INFO)
#undef LIMITS_INFO
};

static const size_t limit_offsets[] = {
#define LIMITS_OFFSET(field, def, min, max, policy, reason) offsetof(limits, field),
    LIMITS_LIST(LIMITS_OFFSET)
#undef LIMITS_OFFSET
};

#define LIMIT_COUNT ((int)(sizeof limit_table / sizeof limit_table[0]))

limits limits_default(void) {
    limits lim;
    for (int i = 0; i < LIMIT_COUNT; i++)
        *(int64_t *)((char *)&lim + limit_offsets[i]) = limit_table[i].default_value;
    return lim;
}

int limits_parse_size(const char *text, int64_t *out) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text)
        return 0;
    int64_t scale = 1;
    if (*end == 'K' || *end == 'k')
        scale = 1024;
    else if (*end == 'M' || *end == 'm')
        scale = 1024 * 1024;
    else if (*end == 'G' || *end == 'g')
        scale = 1024LL * 1024 * 1024;
    if (scale != 1)
        end++;
    if (*end != '\0' || v < 0 || v > INT64_MAX / scale)
        return 0;
    *out = v * scale;
    return 1;
}

as_status limits_set(limits *lim, const char *key, const char *value) {
    for (int i = 0; i < LIMIT_COUNT; i++) {
        if (strcmp(limit_table[i].key, key) != 0)
            continue;
        int64_t v;
        if (!limits_parse_size(value, &v) || v < limit_table[i].min_value ||
            v > limit_table[i].max_value)
            return AS_ERR_ARG;
        *(int64_t *)((char *)lim + limit_offsets[i]) = v;
        return AS_OK;
    }
    return AS_ERR_CONFIG;
}

int64_t limits_get(const limits *lim, int index) {
    if (index < 0 || index >= LIMIT_COUNT)
        return 0;
    return *(const int64_t *)((const char *)lim + limit_offsets[index]);
}

const limit_info *limits_info(void) {
    return limit_table;
}

int limits_info_count(void) {
    return LIMIT_COUNT;
}
