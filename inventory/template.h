/*
 * Path templating: the concrete path of a request (/users/17/orders/9) becomes
 * the path template of its endpoint (/users/{id}/orders/{id}).
 *
 * A segment becomes a parameter when its shape says so (integer, UUID, hex id,
 * Mongo ObjectId, base64url token, e-mail, date, alphanumeric with digits), or
 * when the learner has seen many distinct literal values at that position
 * under the same templated prefix (same scope, same depth) in successful
 * exchanges. Dictionary words (users, orders, payment_methods ...) and
 * version tokens (v1, v2beta) always stay literal, whatever their count: two
 * real endpoints must never merge. A segment already written as {name} stays
 * a parameter, so applying the learner to a template is idempotent (the
 * inventory uses that to re-key endpoints after a position is learned).
 *
 * The learner's table is bounded (template_learn_positions); when it is full,
 * new positions are not learned (shape rules still apply) and that is counted.
 * Single-threaded: one learner per model stage.
 */
#ifndef APISENSOR_INVENTORY_TEMPLATE_H
#define APISENSOR_INVENTORY_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef enum template_shape {
    TEMPLATE_LITERAL = 0,
    TEMPLATE_INTEGER,
    TEMPLATE_UUID,
    TEMPLATE_OBJECT_ID,
    TEMPLATE_HEX,
    TEMPLATE_EMAIL,
    TEMPLATE_DATE,
    TEMPLATE_TOKEN,
    TEMPLATE_ALNUM_ID,
    TEMPLATE_PARAM /* already a {name} placeholder */
} template_shape;

/* Most segments a template keeps; deeper paths are cut (and reported). */
#define TEMPLATE_MAX_SEGMENTS 32

/* Shape of one path segment (raw bytes, percent-encoding left as is). */
template_shape template_segment_shape(const char *segment, size_t len);

/* 1 when the segment is a version token (v1, v2, v1.2, v2beta1). */
int template_is_version(const char *segment, size_t len);

/* 1 when the segment is a dictionary word or words joined by '-' or '_'. */
int template_is_word(const char *segment, size_t len);

/* The placeholder written for a shape: "{id}", "{uuid}", "{email}" ... */
const char *template_placeholder(template_shape shape);

typedef struct template_learner template_learner;

typedef struct template_learner_stats {
    uint64_t positions;      /* positions tracked */
    uint64_t learned;        /* positions turned into parameters by cardinality */
    uint64_t table_full;     /* observations not learned: table full */
    uint64_t cut_segments;   /* paths cut at TEMPLATE_MAX_SEGMENTS */
    uint64_t cut_characters; /* templates cut at the output capacity */
} template_learner_stats;

/* max_positions: tracked (scope, depth, prefix) positions; cardinality:
 * distinct literal values that make a position a parameter (>= 2). */
as_status template_learner_create(uint32_t max_positions, uint32_t cardinality,
                                  template_learner **out);
void template_learner_destroy(template_learner *learner);

/* Result of template_learner_apply. */
typedef struct template_result {
    size_t len;   /* bytes written to out (NUL not counted) */
    int learned;  /* 1 when this call turned a position into a parameter */
    int segments; /* segments in the template */
} template_result;

/*
 * Writes the template of path (query already removed) into out (NUL
 * terminated, cut at cap - 1). scope keys the learning (hash of service and
 * method). learn = 1 counts this path's literal values (callers pass 1 only
 * for successful exchanges, so scanner noise teaches nothing). Empty or
 * relative paths give "/". Trailing '/' and empty segments are dropped.
 */
template_result template_learner_apply(template_learner *learner, uint64_t scope, const char *path,
                                       size_t path_len, int learn, char *out, size_t cap);

template_learner_stats template_learner_get_stats(const template_learner *learner);

#endif
