#!/usr/bin/env python3
"""workers_test.py - --workers 1, 2 and 4 give identical output (issue #7).

  workers_test.py SENSOR SHARED_DIR [WORKERS...]

Runs SENSOR on every scenario capture (SHARED_DIR/pcaps/scenarios/*.pcap
and tls/*.pcap with their key logs, with --spec openapi.yaml) and on every
capture in SHARED_DIR/pcaps/real/,
with --db :memory:, a fixed --pseudonym-key-file (pseudonyms stable across
runs), --stats-interval 1 (many stats events, so their merge is exercised),
the transactions to one file and the events to another, once per worker
count (default 1 2 4), and asserts that the outputs are byte-identical to
those of --workers 1, except for one field:

  stats events' "flows_peak": the most flows open at once. Each worker
  knows only its own peak; the sum of the workers' peaks is an upper bound
  of the run's, not the same number (documented in docs/architecture.md).

Exit 0 pass, 1 fail, 77 skipped (no SHARED_DIR).
"""
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

KEY = b"workers-test-fixed-pseudonym-key\n"


def run(sensor, capture, spec, keylog, workers, workdir):
    stem = "%s-%d" % (os.path.basename(capture), workers)
    events = os.path.join(workdir, stem + ".events.jsonl")
    transactions = os.path.join(workdir, stem + ".transactions.jsonl")
    key = os.path.join(workdir, "key")
    cmd = [sensor, "-r", capture, "--db", ":memory:", "--pseudonym-key-file", key,
           "--stats-interval", "1", "--no-progress", "-q", "--out", events,
           "--transactions", transactions, "--workers", str(workers)]
    if spec:
        cmd += ["--spec", spec]
    if keylog:
        cmd += ["--keylog", keylog]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if result.returncode != 0:
        return None, "exit %d: %s" % (result.returncode, result.stderr.decode()[-500:])
    with open(events, "rb") as f:
        event_lines = f.read().splitlines()
    with open(transactions, "rb") as f:
        transaction_lines = f.read().splitlines()
    return (normalise(event_lines), transaction_lines), None


def normalise(lines):
    """Removes the per-worker-count field of stats events (see the top)."""
    out = []
    for line in lines:
        if b'"stats"' in line:
            record = json.loads(line)
            drop_peak(record)
            line = json.dumps(record, sort_keys=True).encode()
        out.append(line)
    return out


def drop_peak(value):
    if isinstance(value, dict):
        value.pop("flows_peak", None)
        for v in value.values():
            drop_peak(v)
    elif isinstance(value, list):
        for v in value:
            drop_peak(v)


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "line %d:\n    %s\n    %s" % (i + 1, x[:300], y[:300])
    return "line counts %d and %d" % (len(a), len(b))


def compare(sensor, case, counts, workdir):
    """Runs one capture with every worker count; returns (failures, lines)."""
    capture, spec_path, keylog = case
    name = os.path.basename(capture)
    base, error = run(sensor, capture, spec_path, keylog, counts[0], workdir)
    if error:
        return ["%s --workers %d: %s" % (name, counts[0], error)], 0
    failures = []
    for n in counts[1:]:
        other, error = run(sensor, capture, spec_path, keylog, n, workdir)
        if error:
            failures.append("%s --workers %d: %s" % (name, n, error))
            continue
        for kind, a, b in (("events", base[0], other[0]), ("transactions", base[1], other[1])):
            if a != b:
                failures.append("%s: %s differ between --workers %d and %d, %s"
                                % (name, kind, counts[0], n, first_difference(a, b)))
    return failures, len(base[0]) + len(base[1])


def summary_failures(sensor, capture):
    """The run summary splits the CPU time by thread (each worker, the model)
    and counts what the sensitive-data scanners read (on the workers): the
    same parts, bytes and anomalies as one thread's scanner."""
    texts = {}
    failures = []
    for workers in (1, 2):
        result = subprocess.run([sensor, "-r", capture, "--db", ":memory:", "-o", "/dev/null",
                                 "--no-progress", "--workers", str(workers)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
        texts[workers] = result.stderr.decode()
        if result.returncode != 0:
            failures.append("summary run, --workers %d: exit %d" % (workers, result.returncode))
    text = texts[2]
    for label in ("worker 0: CPU", "worker 1: CPU",
                  "model thread (credentials, inventory, analytics, output): CPU"):
        m = re.search(re.escape(label) + r" ([0-9.]+) s", text)
        if not m or float(m.group(1)) <= 0:
            failures.append("summary: no positive '%s N s' in:\n%s" % (label, text[-800:]))
    m = re.search(r"sensitive data: (\d+) message parts, ([0-9.]+) MB scanned, 0 cut", text)
    if not m or int(m.group(1)) == 0 or float(m.group(2)) <= 0:
        failures.append("summary: no sensitive data line with parts and bytes in:\n%s"
                        % text[-800:])
    for what, pattern in (("sensitive data", r"  sensitive data: .*"),
                          ("anomalies", r" anomalies:\n(?:  \S+ +\d+\n)*")):
        one, two = (re.search(pattern, texts[n]) for n in (1, 2))
        if (one and one.group(0)) != (two and two.group(0)):
            failures.append("summary: %s differ between --workers 1 and 2: %r, %r"
                            % (what, one and one.group(0), two and two.group(0)))
    return failures


def main():
    sensor, shared = sys.argv[1], sys.argv[2]
    counts = [int(n) for n in sys.argv[3:]] or [1, 2, 4]
    scenarios = os.path.join(shared, "pcaps", "scenarios")
    if not os.path.isdir(scenarios):
        print("SKIP: %s not found" % scenarios)
        return 77
    spec = os.path.join(scenarios, "openapi.yaml")
    cases = [(p, spec, None) for p in sorted(glob.glob(os.path.join(scenarios, "*.pcap")))]
    for p in sorted(glob.glob(os.path.join(scenarios, "tls", "*.pcap"))):
        keylog = p[:-len(".pcap")] + ".keylog"
        cases.append((p, spec, keylog if os.path.exists(keylog) else None))
    real = os.path.join(shared, "pcaps", "real")
    cases += [(p, None, None) for p in sorted(glob.glob(os.path.join(real, "*.pcap*")))]
    with tempfile.TemporaryDirectory() as workdir:
        with open(os.path.join(workdir, "key"), "wb") as f:
            f.write(KEY)
        # two captures at a time: the runs are short and mostly start-up
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda case: compare(sensor, case, counts, workdir), cases))
    failures = [f for case_failures, _ in results for f in case_failures]
    failures += summary_failures(sensor, os.path.join(scenarios, "mixed.pcap"))
    lines = sum(n for _, n in results)
    for f in failures:
        print("FAIL: " + f)
    print("%d captures x workers %s: %d output lines compared, %d failures"
          % (len(cases), counts, lines, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
