/* A borrowed, length-delimited byte string. ptr == NULL means "absent". */
#ifndef APISENSOR_COMMON_STRVIEW_H
#define APISENSOR_COMMON_STRVIEW_H

#include <stdint.h>

typedef struct str_view {
    const char *ptr;
    uint32_t len;
} str_view;

static inline int str_view_present(str_view v) {
    return v.ptr != 0;
}

#endif
