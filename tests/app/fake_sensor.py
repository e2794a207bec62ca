#!/usr/bin/env python3
"""fake_sensor.py - a stand-in for the apisensor binary that lets the
end-to-end harness test itself (selftest.py).

It speaks CONTRACT.md's command line and, for a capture that has an answer
beside it, writes that answer as contract transaction events:
NAME.expected.json (pcaps/edge), NAME.tshark.jsonl (pcaps/real) or
NAME.truth.jsonl (samples/).  For any other capture it writes nothing.  It
checks a classic pcap's record headers and warns on stderr, like the real
sensor must, when the last record is cut short.

FAKE_SENSOR_FAULT makes it misbehave in one way, to show that the harness
notices: drop_last, drop_tenth, no_flags, wrong_body, late_timestamp,
no_warning, crash, nondeterministic.
"""
import datetime
import json
import os
import signal
import struct
import sys
import time
from decimal import Decimal

USAGE = """usage: apisensor [OPTIONS] -r FILE [-r FILE ...]
  -r FILE              analyse a capture file (fake: replays its reference)
  -i IFACE             capture live (fake: not supported)
  -c, --config FILE    configuration file
  --spec FILE          declared inventory (OpenAPI)
  --db FILE            sqlite3 inventory
  -o, --out FILE       events as JSON Lines
  --transactions FILE  one JSON line per HTTP transaction
  --format FORMAT      native|ecs|ocsf|splunk
  --kafka BROKERS      produce events to Kafka
  --keylog FILE        TLS key log
  --raw-identities     write identities raw
  -q, --quiet          less on stderr
  -v, --verbose        more on stderr
"""
WITH_VALUE = {"-r", "-i", "-c", "--config", "--spec", "--db", "-o", "--out", "--transactions",
              "--format", "--kafka", "--keylog", "-X"}
FLAGS_ONLY = {"--raw-identities", "-q", "--quiet", "-v", "--verbose"}
# Generic flag words of the edge expected files -> a contract flag name.
CONTRACT_FLAG = {"gap": "response_gap", "incomplete": "incomplete", "truncated": "truncated",
                 "rst": "connection_reset", "no_response": "no_response"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def die(status, message):
    sys.stderr.write("apisensor: %s\n" % message)
    sys.exit(status)


def parse_args(argv):
    options = {"-r": []}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if arg in WITH_VALUE:
            if i + 1 == len(argv):
                die(2, "option %s needs a value" % arg)
            if arg == "-r":
                options["-r"].append(argv[i + 1])
            else:
                options[arg] = argv[i + 1]
            i += 2
        elif arg in FLAGS_ONLY:
            i += 1
        else:
            die(2, "unknown option '%s' (see --help)" % arg)
    if not options["-r"]:
        die(2, "nothing to do: give -r FILE")
    return options


def check_records(path):
    """Warns when a classic pcap's last record is cut short."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4",
                                          b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        return
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    offset = 24
    while offset + 16 <= len(data):
        caplen = struct.unpack(order + "I", data[offset + 8:offset + 12])[0]
        if offset + 16 + caplen > len(data):
            sys.stderr.write("apisensor: warning: %s: truncated record at byte %d, "
                             "analysed up to it\n" % (path, offset))
            return
        offset += 16 + caplen


def timestamp(seconds):
    micros = int(Decimal(str(seconds)) * 1000000)
    moment = EPOCH + datetime.timedelta(microseconds=micros)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event(record, index, flags):
    version = record.get("version") or "HTTP/1.1"
    uri = record.get("uri")
    if uri is None and record.get("uri_prefix"):
        uri = record["uri_prefix"]
        flags = flags + ["truncated"]
    ts = record.get("req_ts_first") or Decimal(1700000000) + Decimal(index) / 1000000
    return {
        "event": "transaction", "@timestamp": timestamp(ts),
        "sensor": {"name": "fake-apisensor", "version": "0"},
        "client": {"ip": record["client_ip"], "port": record["client_port"]},
        "server": {"ip": record["server_ip"], "port": record["server_port"]},
        "http": {"version": version.replace("HTTP/", ""), "method": record.get("method"),
                 "host": record.get("host"), "uri": uri, "status": record.get("status"),
                 "request": {"content_type": record.get("req_content_type"),
                             "body_bytes": record.get("req_body_len")},
                 "response": {"content_type": record.get("resp_content_type"),
                              "body_bytes": record.get("resp_body_len")}},
        "flags": flags,
    }


def answer(capture):
    """Contract events for the reference beside the capture, if any."""
    stem = capture.rsplit(".", 1)[0]
    if os.path.exists(stem + ".expected.json"):
        with open(stem + ".expected.json") as f:
            records = json.load(f)["transactions"]
        events = []
        for i, r in enumerate(records):
            flags = [CONTRACT_FLAG[w] for w in r.get("flags_expected", [])]
            if "uri_if_last_wins" in r:
                flags.append("overlap_conflict")
            events.append(event(r, i, flags))
        return events
    for suffix in (".tshark.jsonl", ".truth.jsonl"):
        if os.path.exists(stem + suffix):
            with open(stem + suffix) as f:
                records = [json.loads(line) for line in f if line.strip()]
            return [event(r, i, list(r.get("flags", []))) for i, r in enumerate(records)]
    return []


def misbehave(fault, events):
    if fault == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    if fault == "drop_last":
        return events[:-1]
    if fault == "drop_tenth":
        return [e for i, e in enumerate(events) if i % 10 != 9]
    for e in events:
        if fault == "no_flags":
            e["flags"] = []
        elif fault == "wrong_body" and isinstance(e["http"]["response"]["body_bytes"], int):
            e["http"]["response"]["body_bytes"] += 1
        elif fault == "late_timestamp":
            e["@timestamp"] = e["@timestamp"][:-2] + "9Z"
        elif fault == "nondeterministic":
            e["sensor"]["version"] = str(time.monotonic_ns())
    return events


def write(path, events):
    if path is None:
        return
    out = sys.stdout if path == "-" else open(path, "w")
    for e in events:
        out.write(json.dumps(e, sort_keys=True) + "\n")
    if out is not sys.stdout:
        out.close()


def main():
    options = parse_args(sys.argv[1:])
    fault = os.environ.get("FAKE_SENSOR_FAULT", "")
    events = []
    for capture in options["-r"]:
        if not os.access(capture, os.R_OK):
            die(1, "cannot open %s: no such readable file" % capture)
        if fault != "no_warning":
            check_records(capture)
        events += answer(capture)
    events = misbehave(fault, events)
    write(options.get("--transactions"), events)
    write(options.get("-o", options.get("--out")), [])
    sys.stderr.write("apisensor: %d transactions\n" % len(events))


if __name__ == "__main__":
    main()
