/* Names and messages of as_status, generated from AS_STATUS_LIST. */
#include "status.h"

static const char *const status_names[] = {
#define AS_STATUS_NAME(name, message) #name,
    AS_STATUS_LIST(AS_STATUS_NAME)
#undef AS_STATUS_NAME
};

static const char *const status_messages[] = {
#define AS_STATUS_MESSAGE(name, message) message,
    AS_STATUS_LIST(AS_STATUS_MESSAGE)
#undef AS_STATUS_MESSAGE
};

const char *status_name(as_status status) {
    if ((unsigned)status >= AS_STATUS_COUNT)
        return "AS_UNKNOWN";
    return status_names[status];
}

const char *status_message(as_status status) {
    if ((unsigned)status >= AS_STATUS_COUNT)
        return "unknown status";
    return status_messages[status];
}
