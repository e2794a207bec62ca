/*
 * The transaction record's flag names, generated from TX_FLAG_LIST so the
 * enum and the names written in the "flags" array cannot drift apart.
 */
#include "transaction.h"

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
