/*
 * Text form of IP addresses. The value types themselves live in packet.h;
 * this file only renders them: IPv4 as a dotted quad, IPv6 in the RFC 5952
 * canonical form (lower case, longest run of zero groups as "::", embedded
 * IPv4 for mapped addresses), which is what glibc's inet_ntop produces.
 * The caller owns the output buffer; nothing is allocated.
 */
#include "packet.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

const char *ip_address_format(const ip_address *addr, char *buf, unsigned buflen) {
    if (!buf || buflen == 0)
        return "";
    buf[0] = '\0';
    if (!addr)
        return buf;
    if (addr->family == 4) {
        /* by hand: glibc's inet_ntop formats IPv4 through sprintf */
        char text[16];
        unsigned len = 0;
        for (int i = 0; i < 4; i++) {
            unsigned octet = addr->bytes[i];
            if (i > 0)
                text[len++] = '.';
            if (octet >= 100)
                text[len++] = (char)('0' + octet / 100);
            if (octet >= 10)
                text[len++] = (char)('0' + octet / 10 % 10);
            text[len++] = (char)('0' + octet % 10);
        }
        if (len < buflen) {
            memcpy(buf, text, len);
            buf[len] = '\0';
        }
        return buf;
    }
    if (addr->family == 6 && !inet_ntop(AF_INET6, addr->bytes, buf, (socklen_t)buflen))
        buf[0] = '\0';
    return buf;
}
