"""pcapgen.py - writes small synthetic captures for end-to-end tests: whole
TCP connections (handshake, request/response exchanges, FIN) over IPv4 on
Ethernet, in a classic pcap file with microsecond timestamps.

Python 3 standard library only. Checksums are computed so that any reader
that verifies them accepts the packets.
"""
import socket
import struct


def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _frame(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    tcp += payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip + tcp


class Capture:
    """Packets in time order; each packet 1 ms after the previous one."""

    def __init__(self, start=1700000000.0):
        self.time = start
        self.packets = []

    def _emit(self, frame):
        self.packets.append((self.time, frame))
        self.time += 0.001

    def connection(self, client, server, exchanges):
        """client and server are (ip, port); exchanges a list of
        (request bytes, response bytes), sent in turn on one connection."""
        (cip, cport), (sip, sport) = client, server
        cseq, sseq = 1000, 5000
        SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
        self._emit(_frame(cip, sip, cport, sport, cseq, 0, SYN, b""))
        self._emit(_frame(sip, cip, sport, cport, sseq, cseq + 1, SYN | ACK, b""))
        cseq, sseq = cseq + 1, sseq + 1
        self._emit(_frame(cip, sip, cport, sport, cseq, sseq, ACK, b""))
        for request, response in exchanges:
            self._emit(_frame(cip, sip, cport, sport, cseq, sseq, PSH | ACK, request))
            cseq += len(request)
            self._emit(_frame(sip, cip, sport, cport, sseq, cseq, PSH | ACK, response))
            sseq += len(response)
        self._emit(_frame(cip, sip, cport, sport, cseq, sseq, FIN | ACK, b""))
        self._emit(_frame(sip, cip, sport, cport, sseq, cseq + 1, FIN | ACK, b""))
        self._emit(_frame(cip, sip, cport, sport, cseq + 1, sseq + 1, ACK, b""))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, frame in self.packets:
                seconds = int(ts)
                micros = int(round((ts - seconds) * 1e6))
                f.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
                f.write(frame)


def get(target, host="api.test", headers=()):
    """A GET request with extra (name, value) headers."""
    lines = ["GET %s HTTP/1.1" % target, "Host: %s" % host]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def json_response(status=200, body=b"{}"):
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Status")
    head = "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (
        status, reason, len(body))
    return head.encode() + body
