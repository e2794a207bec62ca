/*
 * --user: initgroups, setgid, setuid, in that order (the group calls need
 * root), then a check that setuid(0) fails, so a half-done switch is never
 * taken for a finished one.
 */
#define _GNU_SOURCE
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Looks the user up by name, then as a number. */
static struct passwd *find_user(const char *user) {
    struct passwd *pw = getpwnam(user);
    if (pw)
        return pw;
    char *end = NULL;
    errno = 0;
    unsigned long id = strtoul(user, &end, 10);
    if (errno || end == user || *end)
        return NULL;
    return getpwuid((uid_t)id);
}

int privileges_drop(const char *user, char *err, size_t errlen) {
    errno = 0;
    struct passwd *pw = find_user(user);
    if (!pw) {
        snprintf(err, errlen, "--user %s: no such user%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (getuid() == uid && geteuid() == uid)
        return 0;
    if (geteuid() != 0) {
        snprintf(err, errlen, "--user %s: cannot switch user, not running as root (uid %u)", user,
                 (unsigned)geteuid());
        return -1;
    }
    if (initgroups(pw->pw_name, gid) != 0) {
        snprintf(err, errlen, "--user %s: cannot set the supplementary groups: %s", user,
                 strerror(errno));
        return -1;
    }
    if (setresgid(gid, gid, gid) != 0) {
        snprintf(err, errlen, "--user %s: cannot set group %u: %s", user, (unsigned)gid,
                 strerror(errno));
        return -1;
    }
    if (setresuid(uid, uid, uid) != 0) {
        snprintf(err, errlen, "--user %s: cannot set user %u: %s", user, (unsigned)uid,
                 strerror(errno));
        return -1;
    }
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "--user %s: root could be regained after the switch", user);
        return -1;
    }
    return 0;
}
