#!/usr/bin/env python3
"""inventory_test.py - the --db store and `apisensor inventory`, end to end.

  inventory_test.py SENSOR SHARED_DIR SAMPLE_PCAP

  * two runs on two different scenario captures into one --db extend it:
    the endpoints of either capture are listed, success counts are the sum
    of what each capture gives alone, every request is counted once (on an
    endpoint or as noise), first_seen is kept from the first run;
  * the database file is created 0600;
  * it is written every db_flush_seconds of packet time and at the end;
  * `inventory --json` prints the endpoint events of the live output's final
    snapshot (same encoder: equal but for @timestamp and sensor), learned
    JSON body fields included;
  * `inventory` prints an aligned table sorted by host, path, method;
  * errors: a missing file or garbage exit 1 naming the file, a schema
    version from the future exits 2, an unwritable --db or one another
    process keeps locked exits 1, --json with --openapi exits 2.
Exit 0 pass, 1 fail, 77 when SHARED_DIR/pcaps/scenarios is absent.
"""
import json
import os
import re
import sqlite3
import stat
import sys

import harness

# Each capture has endpoints the other lacks (bola: /audit_logs; enumeration:
# /profiles, DELETE /orders/{id}, ...), so the second run must add records.
FIRST, SECOND = "bola.pcap", "enumeration.pcap"


def analyse_into(sensor, capture, db, events):
    result = harness.run([sensor, "-r", capture, "--db", db, "-o", events, "-q"])
    print("$ %s\n-> %s" % (" ".join(result.argv), result.describe()))
    if result.returncode != 0:
        return ["%s into %s: %s (%s)" % (os.path.basename(capture), os.path.basename(db),
                                          result.describe(), result.stderr.strip()[-300:])]
    return []


def inventory_json(sensor, db):
    """`inventory --db DB --json` -> ({endpoint key: event}, failures)."""
    result = harness.run([sensor, "inventory", "--db", db, "--json"])
    if result.returncode != 0:
        return {}, ["inventory --json on %s: %s %s" % (db, result.describe(), result.stderr)]
    records, failures = {}, []
    for number, line in enumerate(result.stdout.splitlines(), 1):
        try:
            event = json.loads(line)
        except ValueError as e:
            failures.append("inventory --json line %d is not JSON: %s" % (number, e))
            continue
        if event.get("event") != "endpoint" or harness.timestamp_us(event.get("@timestamp")) is None:
            failures.append("inventory --json line %d is not an endpoint event" % number)
            continue
        e = event["endpoint"]
        records[(e["host"], e["method"], e["path"])] = event
    return records, failures


def check_extends(sensor, scenarios, workdir):
    failures = []
    both = os.path.join(workdir, "both.db")
    alone = {}
    for name in (FIRST, SECOND):
        capture = os.path.join(scenarios, name)
        db = os.path.join(workdir, name + ".db")
        failures += analyse_into(sensor, capture, db, os.devnull)
        alone[name], problems = inventory_json(sensor, db)
        failures += problems
    events = os.path.join(workdir, "second-run.jsonl")
    failures += analyse_into(sensor, os.path.join(scenarios, FIRST), both, os.devnull)
    failures += analyse_into(sensor, os.path.join(scenarios, SECOND), both, events)
    if failures:
        return failures
    mode = stat.S_IMODE(os.stat(both).st_mode)
    if mode != 0o600:
        failures.append("database created with mode %o, expected 600" % mode)
    merged, problems = inventory_json(sensor, both)
    failures += problems
    a, b = alone[FIRST], alone[SECOND]
    if not a or not b:
        return failures + ["a capture alone gave no endpoints (%d, %d)" % (len(a), len(b))]
    if not set(a) - set(b) or not set(b) - set(a):
        failures.append("the two captures do not each have endpoints of their own: "
                        "the test proves nothing")
    if set(merged) != set(a) | set(b):
        failures.append("endpoints after two runs: missing %s, unexpected %s"
                        % (sorted(set(a) | set(b) - set(merged))[:5],
                           sorted(set(merged) - set(a) - set(b))[:5]))
    # A failed request to a path the second capture alone had not listed yet is
    # noise in that run alone but counts on the endpoint restored from the
    # first run: success counts add up exactly, failures may only grow, and
    # every request is counted once, on an endpoint or as noise.
    for key in sorted(set(merged) & (set(a) | set(b))):
        got = merged[key]
        parts = [r for r in (a.get(key), b.get(key)) if r]
        want = {}
        for r in parts:
            for code, count in r["status_codes"].items():
                want[code] = want.get(code, 0) + count
        codes = got["status_codes"]
        if any(codes.get(c, 0) != n for c, n in want.items() if 200 <= int(c) < 400) or \
                any(codes.get(c, 0) < n for c, n in want.items()) or \
                got["requests"] != sum(codes.values()):
            failures.append("%s: status counts %s after two runs, from %s alone"
                            % (key, codes, [r["status_codes"] for r in parts]))
        first = min(harness.timestamp_us(r["first_seen"]) for r in parts)
        last = max(harness.timestamp_us(r["last_seen"]) for r in parts)
        if harness.timestamp_us(got["first_seen"]) > first or \
                harness.timestamp_us(got["last_seen"]) < last:
            failures.append("%s: first/last seen %s %s, not the earliest and latest"
                            % (key, got["first_seen"], got["last_seen"]))
    total = lambda records, noise: sum(r["requests"] for r in records.values()) + noise
    noise = {name: table_noise(sensor, os.path.join(workdir, name + ".db"))
             for name in (FIRST, SECOND)}
    if total(merged, table_noise(sensor, both)) != total(a, noise[FIRST]) + total(b, noise[SECOND]):
        failures.append("requests plus noise after two runs (%d) is not the sum of each run's"
                        " (%d + %d)" % (total(merged, table_noise(sensor, both)),
                                        total(a, noise[FIRST]), total(b, noise[SECOND])))
    print("extend: %d endpoints from %s, %d from %s, %d after both runs"
          % (len(a), FIRST, len(b), SECOND, len(merged)))

    # the live output's final snapshot is what `inventory --json` prints
    snapshot = {(host, method, path): event for (method, host, path), event
                in harness.last_endpoint_events(events).items()}
    for key, event in merged.items():
        live = snapshot.get(key)
        strip = lambda e: {k: v for k, v in e.items() if k not in ("@timestamp", "sensor")}
        if live is None or strip(live) != strip(event):
            failures.append("%s: inventory --json differs from the live snapshot:\n  %s\n  %s"
                            % (key, json.dumps(live), json.dumps(event)))
            break
    # JSON bodies teach field names: they survive the store like the rest
    if not any("response_fields" in e for e in merged.values()):
        failures.append("no endpoint of %s and %s shows response_fields" % (FIRST, SECOND))
    failures += check_table(sensor, both, merged)
    return failures


def table_noise(sensor, db):
    """Requests to unknown paths, from the table's closing line."""
    last = harness.run([sensor, "inventory", "--db", db]).stdout.splitlines()[-1]
    return int(last.split(", ")[-1].split()[0])


def check_table(sensor, db, records):
    result = harness.run([sensor, "inventory", "--db", db])
    if result.returncode != 0:
        return ["inventory (table): %s %s" % (result.describe(), result.stderr)]
    lines = result.stdout.splitlines()
    print("\n".join(lines[:4] + ["..."] + lines[-2:]))
    failures = []
    header = lines[0].split()
    if header != ["SERVICE", "METHOD", "PATH", "STATUS", "AUTH", "SENSITIVE", "REQUESTS",
                  "LAST", "SEEN"]:
        failures.append("table header %r" % lines[0])
    rows = lines[1:-1]
    if len(rows) != len(records):
        failures.append("table has %d rows for %d endpoints" % (len(rows), len(records)))
    start = lines[0].index("METHOD")
    if any(len(row) < start or row[start - 2:start] != "  " for row in rows):
        failures.append("table columns are not aligned under the header")
    keys = []
    for row in rows:
        cells = row.split()
        keys.append((cells[0], cells[2], cells[1]))
        record = records.get((cells[0], cells[1], cells[2]))
        if record is None or int(cells[6]) != record["requests"]:
            failures.append("table row %r does not match the stored endpoint" % row)
            break
    if keys != sorted(keys):
        failures.append("table rows are not sorted by host, path, method")
    if not lines[-1].startswith("%d endpoints" % len(records)):
        failures.append("table closing line %r" % lines[-1])
    return failures


def check_flush_interval(sensor, scenarios, workdir):
    """Writes every db_flush_seconds of packet time, and at the end of the file."""
    failures = []
    capture = os.path.join(scenarios, FIRST)  # spans more than ten minutes
    for seconds, want in (("60", lambda n: n > 5), ("86400", lambda n: n == 1)):
        db = os.path.join(workdir, "flush-%s.db" % seconds)
        result = harness.run([sensor, "-r", capture, "--db", db, "-o", os.devnull,
                              "--limit", "db_flush_seconds=" + seconds])
        m = re.search(r"db: .*; (\d+) writes, (\d+) rows written", result.stderr)
        if result.returncode != 0 or not m or not want(int(m.group(1))):
            failures.append("db_flush_seconds=%s: %s, summary %r" % (
                seconds, result.describe(), m.group(0) if m else result.stderr[-300:]))
        else:
            print("db_flush_seconds=%s: %s" % (seconds, m.group(0)))
    return failures


def check_errors(sensor, sample, workdir):
    failures = []

    def expect(argv, code, needle, what):
        result = harness.run(argv)
        if result.returncode != code or needle not in result.stderr:
            failures.append("%s: %s, stderr %r; expected exit %d naming %r"
                            % (what, result.describe(), result.stderr[-300:], code, needle))

    missing = os.path.join(workdir, "missing.db")
    expect([sensor, "inventory", "--db", missing], 1, "missing.db", "inventory on a missing file")
    if os.path.exists(missing):
        failures.append("inventory created %s" % missing)
    garbage = os.path.join(workdir, "garbage.db")
    with open(garbage, "w") as f:
        f.write("not a database\n" * 300)
    expect([sensor, "inventory", "--db", garbage], 1, "not a database", "inventory on garbage")
    expect([sensor, "-r", sample, "--db", garbage, "-o", os.devnull], 1, "garbage.db",
           "a run with a garbage --db")
    future = os.path.join(workdir, "future.db")
    expect([sensor, "-r", sample, "--db", future, "-o", os.devnull, "-q"], 0, "",
           "a run creating a database")
    with sqlite3.connect(future) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    expect([sensor, "inventory", "--db", future], 2, "schema version 99",
           "inventory on a newer schema")
    expect([sensor, "-r", sample, "--db", future, "-o", os.devnull], 2, "schema version 99",
           "a run on a newer schema")
    unwritable = os.path.join(workdir, "no-such-dir", "x.db")
    expect([sensor, "-r", sample, "--db", unwritable, "-o", os.devnull], 1, "no-such-dir",
           "a run with --db in a missing directory")
    expect([sensor, "inventory", "--db", future, "--json", "--openapi"], 2, "cannot be combined",
           "--json with --openapi")
    # another process holds the write lock for longer than the busy timeout (5 s)
    locked = os.path.join(workdir, "locked.db")
    expect([sensor, "-r", sample, "--db", locked, "-o", os.devnull, "-q"], 0, "",
           "a run creating a database")
    holder = sqlite3.connect(locked, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    expect([sensor, "-r", sample, "--db", locked, "-o", os.devnull], 1, "locked",
           "a run on a locked database")
    holder.execute("ROLLBACK")
    holder.close()
    return failures


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sensor, shared, sample = sys.argv[1:]
    scenarios = os.path.join(shared, "pcaps", "scenarios")
    if not all(os.path.exists(os.path.join(scenarios, n)) for n in (FIRST, SECOND)):
        harness.skip("inventory", "no %s" % scenarios)
    failures = []
    with harness.temporary_directory("inventory") as workdir:
        failures += check_extends(sensor, scenarios, workdir)
        failures += check_flush_interval(sensor, scenarios, workdir)
        failures += check_errors(sensor, sample, workdir)
    harness.finish("inventory", failures)


if __name__ == "__main__":
    main()
