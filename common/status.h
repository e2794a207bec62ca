/*
 * One status type for the whole project.
 *
 * Every fallible function returns an as_status. Values below AS_ERR_FIRST are
 * outcomes, not errors (AS_DONE: the input is exhausted; AS_SKIP: the item was
 * handled and produced nothing; AS_NEED_MORE: wait for more bytes). The list
 * is an X-macro so names and messages cannot drift from the enum.
 */
#ifndef APISENSOR_COMMON_STATUS_H
#define APISENSOR_COMMON_STATUS_H

#define AS_STATUS_LIST(X)                                                                          \
    X(AS_OK, "ok")                                                                                 \
    X(AS_DONE, "end of input")                                                                     \
    X(AS_SKIP, "nothing to analyse in this item")                                                  \
    X(AS_NEED_MORE, "more input needed")                                                           \
    X(AS_ERR_ARG, "invalid argument")                                                              \
    X(AS_ERR_NOMEM, "out of memory")                                                               \
    X(AS_ERR_IO, "input/output error")                                                             \
    X(AS_ERR_FORMAT, "malformed input")                                                            \
    X(AS_ERR_TRUNCATED, "input ends early")                                                        \
    X(AS_ERR_UNSUPPORTED, "unsupported input")                                                     \
    X(AS_ERR_LIMIT, "configured limit reached")                                                    \
    X(AS_ERR_CONFIG, "bad configuration")                                                          \
    X(AS_ERR_INTERNAL, "internal error")

typedef enum {
#define AS_STATUS_ENUM(name, message) name,
    AS_STATUS_LIST(AS_STATUS_ENUM)
#undef AS_STATUS_ENUM
        AS_STATUS_COUNT
} as_status;

#define AS_ERR_FIRST AS_ERR_ARG

/* Symbolic name ("AS_ERR_IO") and human message ("input/output error"). */
const char *status_name(as_status status);
const char *status_message(as_status status);

static inline int status_is_error(as_status status) {
    return status >= AS_ERR_FIRST;
}

#endif
