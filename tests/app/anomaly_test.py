"""anomaly_test.py - what the model stage finds unusual in the transactions
it reads is counted where an operator sees it: a malformed Basic credential,
a JWT-shaped bearer token whose payload is not JSON and a body cut at
sensitive_scan_bytes appear in the run summary's anomalies and in the final
stats event, with the same counts with one thread and with --workers 2.

usage: anomaly_test.py SENSOR
"""
import json
import os
import sys

import harness
import pcapgen

NAME = "app_anomalies"
# counts the capture below must give
EXPECTED = {"credential.bad_basic": 2, "jwt.bad_payload": 1, "sensitive.truncated": 1}


def capture(path):
    c = pcapgen.Capture()
    long_body = b'{"notes":"' + b"x" * 3000 + b'"}'
    c.connection(("10.0.0.1", 40000), ("10.0.0.2", 80), [
        (pcapgen.get("/a", headers=[("Authorization", "Basic !!!not-base64")]),
         pcapgen.json_response()),
        (pcapgen.get("/b", headers=[("Authorization", "Basic c29tZW9uZQ")]),
         pcapgen.json_response()),
        # header {"alg":"HS256"}, payload "notjson"
        (pcapgen.get("/c", headers=[("Authorization",
                                     "Bearer eyJhbGciOiJIUzI1NiJ9.bm90anNvbg.c2lnbmF0dXJl")]),
         pcapgen.json_response()),
        (pcapgen.get("/d"), pcapgen.json_response(body=long_body)),
    ])
    c.write(path)


def summary_anomalies(stderr):
    """name -> count from the run summary's anomalies block."""
    counts, inside = {}, False
    for line in stderr.splitlines():
        if line.strip() == "anomalies:":
            inside = True
            continue
        fields = line.split()
        if inside and len(fields) == 2 and line.startswith("  ") and fields[1].isdigit():
            counts[fields[0]] = int(fields[1])
        else:
            inside = False
    return counts


def check(sensor, workdir):
    failures = []
    pcap = os.path.join(workdir, "anomalies.pcap")
    capture(pcap)
    for extra in ([], ["--workers", "2"]):
        label = " ".join(extra) or "one thread"
        argv = [sensor, "-r", pcap, "--db", ":memory:", "--no-progress",
                "--limit", "sensitive_scan_bytes=1024"] + extra
        result = harness.run(argv)
        print("$ %s\n-> %s" % (" ".join(argv), result.describe()))
        if result.returncode != 0:
            failures.append("%s: %s" % (label, result.describe()))
            continue
        stats = [e for e in (json.loads(line) for line in result.stdout.splitlines()
                             if line.strip()) if e.get("event") == "stats" and e.get("final")]
        in_event = stats[-1].get("anomalies", {}) if stats else {}
        in_summary = summary_anomalies(result.stderr)
        print("%s: summary %s, final stats %s" % (label, in_summary, in_event))
        for name, want in EXPECTED.items():
            if in_summary.get(name) != want:
                failures.append("%s: summary counts %s %s times, want %d"
                                % (label, name, in_summary.get(name, 0), want))
            if in_event.get(name) != want:
                failures.append("%s: final stats event counts %s %s times, want %d"
                                % (label, name, in_event.get(name, 0), want))
    return failures


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with harness.temporary_directory(NAME) as workdir:
        failures = check(sys.argv[1], workdir)
    harness.finish(NAME, failures)


if __name__ == "__main__":
    main()
