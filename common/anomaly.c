/* Names of the anomaly table, generated from ANOMALY_LIST. */
#include "anomaly.h"

static const char *const anomaly_names[] = {
#define ANOMALY_NAME(id, name) name,
    ANOMALY_LIST(ANOMALY_NAME)
#undef ANOMALY_NAME
};

const char *anomaly_name(anomaly_id id) {
    if ((unsigned)id >= ANOMALY_COUNT)
        return "unknown";
    return anomaly_names[id];
}

void anomaly_counters_add(anomaly_counters *into, const anomaly_counters *from) {
    for (int i = 0; i < ANOMALY_COUNT; i++)
        into->count[i] += from->count[i];
}
