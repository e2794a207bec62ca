/*
 * Text form of IP addresses. The value types themselves live in packet.h;
 * this file only renders them: IPv4 as a dotted quad, IPv6 in the RFC 5952
 * canonical form (lower case, longest run of zero groups as "::", embedded
 * IPv4 for mapped addresses), which is what glibc's inet_ntop produces.
 * The caller owns the output buffer; nothing is allocated.
 */
#include "packet.h"

#include <arpa/inet.h>
#include <sys/socket.h>

const char *ip_address_format(const ip_address *addr, char *buf, unsigned buflen) {
    if (!buf || buflen == 0)
        return "";
    buf[0] = '\0';
    if (!addr)
        return buf;
    int af;
    if (addr->family == 4)
        af = AF_INET;
    else if (addr->family == 6)
        af = AF_INET6;
    else
        return buf;
    if (!inet_ntop(af, addr->bytes, buf, (socklen_t)buflen))
        buf[0] = '\0';
    return buf;
}
