#!/usr/bin/env python3
"""gen-flows.py - write a classic pcap (Ethernet, IPv4, TCP) of many flows, for the
memory tests and measurements (bench/memory.sh, tests/app/memory_test.py).

  gen-flows.py OUT.pcap --flows N [--kind syn|idle] [--real K] [--seconds S]

  --kind syn   one SYN per flow from distinct client addresses and ports to
               10.2.0.80:80 (a SYN flood / a million-flow scan)
  --kind idle  per flow: handshake, GET /api/v1/items/<n>, 200 with a small JSON
               body, no FIN: keep-alive connections left idle (the cost of an
               idle tracked flow with its HTTP session)
  --real K     K complete transactions (GET /api/v1/alive from 10.1.0.2, each on
               its own connection, closed with FIN) spread evenly through the
               capture: what the sensor must still report
  --seconds S  packet time the capture spans (default 5)
  --clients    idle: one client address per flow (one actor each; default:
               50000 flows per address)
  --hosts      idle: one Host per flow (one endpoint and service each)

Standard library only; about 1 s per 300k packets.
"""
import argparse
import struct

ETH = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"
SERVER = bytes([10, 2, 0, 80])
REAL_CLIENT = bytes([10, 1, 0, 2])

SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ETH + ip + tcp + payload


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.packets = 0

    def add(self, ts_us, data):
        self.f.write(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(data), len(data)))
        self.f.write(data)
        self.packets += 1

    def close(self):
        self.f.close()


def exchange(w, ts, client, sport, path, close, host="api.example"):
    """A whole transaction on one connection: handshake, request, response (and FIN)."""
    c_isn, s_isn = 1000, 5000
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gen-flows\r\n\r\n" % (path, host)).encode()
    body = b'{"ok":true,"id":1}'
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body
    w.add(ts, frame(client, SERVER, sport, 80, c_isn, 0, SYN))
    w.add(ts + 1, frame(SERVER, client, 80, sport, s_isn, c_isn + 1, SYN | ACK))
    w.add(ts + 2, frame(client, SERVER, sport, 80, c_isn + 1, s_isn + 1, ACK))
    w.add(ts + 3, frame(client, SERVER, sport, 80, c_isn + 1, s_isn + 1, PSH | ACK, req))
    w.add(ts + 4, frame(SERVER, client, 80, sport, s_isn + 1, c_isn + 1 + len(req), PSH | ACK,
                        resp))
    if close:
        cseq, sseq = c_isn + 1 + len(req), s_isn + 1 + len(resp)
        w.add(ts + 5, frame(client, SERVER, sport, 80, cseq, sseq, FIN | ACK))
        w.add(ts + 6, frame(SERVER, client, 80, sport, sseq, cseq + 1, FIN | ACK))
        w.add(ts + 7, frame(client, SERVER, sport, 80, cseq + 1, sseq + 1, ACK))


def client_of(n, spread):
    """A distinct (address, port) per flow in 198.18.0.0/15: with spread, a new
    address per flow (ports move on every 131072 flows), else 50000 ports per address."""
    if spread:
        host, port = n % 131072, 1024 + n // 131072
    else:
        host, port = n // 50000, 1024 + n % 50000
    return bytes([198, 18 + (host >> 16 & 1), host >> 8 & 255, host & 255]), port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--flows", type=int, required=True)
    ap.add_argument("--kind", choices=["syn", "idle"], default="syn")
    ap.add_argument("--real", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", action="store_true")
    ap.add_argument("--hosts", action="store_true")
    args = ap.parse_args()
    w = Writer(args.out)
    start = 1700000000 * 1000000
    step = max(1, int(args.seconds * 1e6 / max(1, args.flows)))
    every = args.flows // (args.real + 1) if args.real else 0
    real_done = 0
    for n in range(args.flows):
        ts = start + n * step
        if every and n and n % every == 0 and real_done < args.real:
            exchange(w, ts, REAL_CLIENT, 40000 + real_done, "/api/v1/alive", True)
            real_done += 1
        client, sport = client_of(n, args.clients)
        if args.kind == "syn":
            w.add(ts, frame(client, SERVER, sport, 80, n & 0xFFFFFFFF, 0, SYN))
        else:
            exchange(w, ts, client, sport, "/api/v1/items/%d" % n, False,
                     "h%d.example" % n if args.hosts else "api.example")
    while real_done < args.real:
        exchange(w, start + args.flows * step + real_done * 10, REAL_CLIENT, 40000 + real_done,
                 "/api/v1/alive", True)
        real_done += 1
    w.close()
    print("%s: %d flows (%s), %d real transactions, %d packets"
          % (args.out, args.flows, args.kind, args.real, w.packets))


if __name__ == "__main__":
    main()
