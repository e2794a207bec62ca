#!/usr/bin/env python3
"""gen_identities.py - a capture in which every request carries a different
identity, to show that memory stays bounded however many identities the
sensor sees (issue #4).

    gen_identities.py OUT.pcap REQUESTS

Keep-alive connections of 100 exchanges each, from 65,536 client
addresses, to one API host. Request i carries, in turn, a JWT whose sub is
"user-i" (unsigned test token), an X-API-Key "key-i", a session cookie
"sid=i" or an opaque bearer token: REQUESTS distinct identities in all.
Paths name 5,000 objects. Checksums are left zero (the sensor does not
verify them). Deterministic: the same arguments give the same bytes.
Python 3 standard library only.
"""
import base64
import json
import struct
import sys


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


JWT_HEAD = b64url(b'{"alg":"HS256","typ":"JWT"}')


def credential(i):
    kind = i % 4
    if kind == 0:
        claims = json.dumps({"sub": "user-%d" % i, "iat": 1700000000, "exp": 1700003600},
                            separators=(",", ":")).encode()
        token = JWT_HEAD + b"." + b64url(claims) + b"." + b64url(b"%032d" % i)
        return b"Authorization: Bearer " + token
    if kind == 1:
        return b"X-API-Key: key-%010d" % i
    if kind == 2:
        return b"Cookie: sid=%016x" % (i * 2654435761)
    return b"Authorization: Bearer opaque-%020d" % i


def frame(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload


def main():
    out, requests = sys.argv[1], int(sys.argv[2])
    server = bytes([10, 200, 0, 1])
    body = b'{"id":1,"status":"shipped","total":42.5}'
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % len(body)) + body
    ts_us = 1700000000 * 1000000
    with open(out, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def emit(packet):
            nonlocal ts_us
            f.write(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(packet),
                                len(packet)))
            f.write(packet)
            ts_us += 50

        i = 0
        conn = 0
        while i < requests:
            client = bytes([10, 1, (conn >> 8) & 0xFF, conn & 0xFF])
            port = 20000 + (conn >> 16) % 40000
            cseq, sseq = 1000, 9000
            emit(frame(client, server, port, 80, cseq, 0, 0x02, b""))
            emit(frame(server, client, 80, port, sseq, cseq + 1, 0x12, b""))
            cseq, sseq = cseq + 1, sseq + 1
            for _ in range(min(100, requests - i)):
                request = (b"GET /api/orders/%d HTTP/1.1\r\nHost: shop.example\r\n%s\r\n\r\n"
                           % (i % 5000, credential(i)))
                emit(frame(client, server, port, 80, cseq, sseq, 0x18, request))
                cseq += len(request)
                emit(frame(server, client, 80, port, sseq, cseq, 0x18, response))
                sseq += len(response)
                i += 1
            emit(frame(client, server, port, 80, cseq, sseq, 0x11, b""))
            emit(frame(server, client, 80, port, sseq, cseq + 1, 0x11, b""))
            emit(frame(client, server, port, 80, cseq + 1, sseq + 1, 0x10, b""))
            conn += 1


if __name__ == "__main__":
    main()
