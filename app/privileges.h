/*
 * Dropping root after the interfaces and files are open (--user NAME).
 *
 * Capture descriptors, the inventory database and the output files stay
 * open across the switch, so the sensor keeps reading and writing them as
 * the unprivileged user. Files opened later (the Kafka spool, a re-read
 * spec or configuration on SIGHUP) must be reachable by that user.
 * Called once, on the main thread, before any other thread starts.
 */
#ifndef APISENSOR_APP_PRIVILEGES_H
#define APISENSOR_APP_PRIVILEGES_H

#include <stddef.h>

/* Switches the process to user (name or numeric id) and its groups:
 * supplementary groups, then group, then user, and checks that root cannot
 * be regained. Returns 0, or -1 with a message naming the user and the step
 * that failed in err (the caller must not go on running). Running already as
 * that user is not an error. */
int privileges_drop(const char *user, char *err, size_t errlen);

#endif
