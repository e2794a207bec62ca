/*
 * The transaction record's flag names, generated from TX_FLAG_LIST so the
 * enum and the names written in the "flags" array cannot drift apart; and
 * header look-up by name.
 */
#include "transaction.h"

#include <string.h>

#include "common/ascii.h"

static const char *const tx_flag_names[] = {
#define TX_FLAG_NAME(id, name) name,
    TX_FLAG_LIST(TX_FLAG_NAME)
#undef TX_FLAG_NAME
};

const char *tx_flag_name(int bit) {
    if (bit < 0 || bit >= TX_FLAG_COUNT)
        return "unknown";
    return tx_flag_names[bit];
}

str_view http_message_header(const http_message *m, const char *name) {
    size_t n = strlen(name);
    for (uint32_t i = 0; i < m->header_count; i++) {
        str_view h = m->headers[i].name;
        if (h.ptr && h.len == n && ascii_equal_nocase(h.ptr, name, n))
            return m->headers[i].value;
    }
    return (str_view){0};
}
