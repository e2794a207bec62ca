/*
 * Merge order (see merge.h). Equal keys only occur for the parts of one
 * event that every worker sends (a stats tick, an end of source), whose
 * order among themselves does not matter.
 */
#include "merge.h"

int merge_key_less(const merge_key *a, const merge_key *b) {
    if (a->seq != b->seq)
        return a->seq < b->seq;
    if (a->phase != b->phase)
        return a->phase < b->phase;
    return a->origin < b->origin;
}

int merge_pick(const merge_key *heads, const int *has_head, const merge_key *floors,
               unsigned count) {
    int best = -1;
    for (unsigned i = 0; i < count; i++)
        if (has_head[i] && (best < 0 || merge_key_less(&heads[i], &heads[best])))
            best = (int)i;
    if (best < 0)
        return -1;
    for (unsigned i = 0; i < count; i++)
        if (!has_head[i] && merge_key_less(&floors[i], &heads[best]))
            return -2;
    return best;
}
