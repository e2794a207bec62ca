#!/usr/bin/env python3
"""memory_test.py - resident memory under --memory-budget (issue #7).

  memory_test.py SENSOR SHARED GEN_FLOWS CASE [--sanitized]

CASE is one of:
  flows1m   a generated capture of 1,000,000 SYN flows (a million-flow scan,
            bench/gen-flows.py, in a temporary directory deleted afterwards)
            with 5 real transactions mixed in, under --memory-budget 128M:
            peak RSS stays under the budget and is flat (within 10 % + 8 MiB
            of a run on the first 250,000 flows), the flow table evicts, and
            all 5 real transactions are reported
  idle      300,000 keep-alive flows from 300,000 client addresses, each
            after one transaction (flow, HTTP session, actors), with 5 real
            transactions mixed in, under --memory-budget 128M: peak RSS under
            the budget, the flow table and the actors evict, all 5 reported
  synflood  ../shared/pcaps/edge/syn-flood-100k.pcap under the smallest
            budget (64M): peak RSS under it, the real transaction reported
  sample    samples/api-sample.pcap with the default limits and no budget:
            peak RSS under 64 MiB, as the tables' memory follows the flows,
            actors and objects the traffic brings, not the limits (set-
            associative analytics tables filled at random cost 100 MiB)
  errors    a budget below the minimum, or one the explicit limits exceed,
            exits 2 naming --memory-budget
With --sanitized (ASan builds) RSS is printed, not checked: the sanitizer's
shadow memory and quarantine are not the sensor's.
Exit 0 pass, 1 fail, 77 skipped.
"""
import json
import os
import re
import subprocess
import sys

import harness


def run_measured(argv):
    """Runs argv; returns (exit status, stderr, peak RSS in KiB)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, err, usage.ru_maxrss


def real_transactions(path):
    count = 0
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            http = event.get("http", {})
            if http.get("uri") == "/api/v1/alive" and http.get("status") == 200:
                count += 1
    return count


def analyse(sensor, capture, workdir, budget, name):
    transactions = os.path.join(workdir, name + ".transactions.jsonl")
    argv = [sensor, "-r", capture, "--db", ":memory:", "-o", os.devnull,
            "--transactions", transactions, "--no-progress", "--memory-budget", budget]
    rc, err, rss_kib = run_measured(argv)
    return rc, err, rss_kib, transactions


def check_flows(sensor, gen, workdir, sanitized):
    failures = []
    budget = "128M"
    big = os.path.join(workdir, "flows1m.pcap")
    small = os.path.join(workdir, "flows250k.pcap")
    for path, flows, real in ((big, 1000000, 5), (small, 250000, 5)):
        result = harness.run([sys.executable, gen, path, "--flows", str(flows), "--real",
                              str(real), "--seconds", "20"], timeout=600)
        if result.returncode != 0:
            return ["gen-flows.py: %s %s" % (result.describe(), result.stderr)]
    figures = {}
    for name, path in (("1m", big), ("250k", small)):
        rc, err, rss, transactions = analyse(sensor, path, workdir, budget, name)
        os.unlink(path)
        if rc != 0:
            failures.append("%s flows: exit %d: %s" % (name, rc, err[-400:]))
            continue
        figures[name] = rss
        found = real_transactions(transactions)
        if found != 5:
            failures.append("%s flows: %d of the 5 real transactions reported" % (name, found))
        evicted = re.search(r"evicted \(flow_max\) (\d+); half-open dropped (\d+)", err)
        if not evicted or int(evicted.group(1)) + int(evicted.group(2)) == 0:
            failures.append("%s flows: the flow table neither evicted nor dropped half-open "
                            "flows" % name)
        split = re.search(r"memory budget .*", err)
        # the 5 % headroom of (128 - 32) MiB bounds the messages in flight
        if budget == "128M" and (not split or "http_memory_bytes 5033164" not in split.group(0)):
            failures.append("%s flows: the budget line does not give http_memory_bytes "
                            "5033164: %s" % (name, split.group(0) if split else "none"))
        print("%s flows: peak RSS %.1f MiB under --memory-budget %s; %s"
              % (name, rss / 1024, budget, split.group(0) if split else "no budget line"))
    if sanitized or len(figures) != 2:
        return failures
    if figures["1m"] > 128 * 1024:
        failures.append("1M flows: peak RSS %.1f MiB over the 128 MiB budget"
                        % (figures["1m"] / 1024))
    if figures["1m"] > figures["250k"] * 1.10 + 8 * 1024:
        failures.append("RSS not flat: %.1f MiB at 1M flows, %.1f MiB at 250k"
                        % (figures["1m"] / 1024, figures["250k"] / 1024))
    return failures


def check_idle(sensor, gen, workdir, sanitized):
    capture = os.path.join(workdir, "idle300k.pcap")
    result = harness.run([sys.executable, gen, capture, "--flows", "300000", "--kind", "idle",
                          "--clients", "--real", "5"], timeout=600)
    if result.returncode != 0:
        return ["gen-flows.py: %s %s" % (result.describe(), result.stderr)]
    rc, err, rss, transactions = analyse(sensor, capture, workdir, "128M", "idle")
    os.unlink(capture)
    if rc != 0:
        return ["idle flows: exit %d: %s" % (rc, err[-400:])]
    failures = []
    found = real_transactions(transactions)
    if found != 5:
        failures.append("idle flows: %d of the 5 real transactions reported" % found)
    flows = re.search(r"evicted \(flow_max\) (\d+)", err)
    actors = re.search(r"evicted: actors (\d+)", err)
    if not flows or not int(flows.group(1)) or not actors or not int(actors.group(1)):
        failures.append("idle flows: the flow table and the actors did not both evict")
    print("300k idle flows, 300k clients: peak RSS %.1f MiB under --memory-budget 128M"
          % (rss / 1024))
    if not sanitized and rss > 128 * 1024:
        failures.append("idle flows: peak RSS %.1f MiB over the 128 MiB budget" % (rss / 1024))
    return failures


def check_synflood(sensor, shared, workdir, sanitized):
    capture = os.path.join(shared, "pcaps/edge/syn-flood-100k.pcap")
    if not os.path.isfile(capture):
        harness.skip("memory_synflood", "no %s" % capture)
    rc, err, rss, transactions = analyse(sensor, capture, workdir, "64M", "synflood")
    if rc != 0:
        return ["syn flood: exit %d: %s" % (rc, err[-400:])]
    failures = []
    if real_transactions(transactions) != 1:
        failures.append("syn flood: the real transaction after the flood is not reported")
    print("syn flood: peak RSS %.1f MiB under --memory-budget 64M" % (rss / 1024))
    if not sanitized and rss > 64 * 1024:
        failures.append("syn flood: peak RSS %.1f MiB over the 64 MiB budget" % (rss / 1024))
    return failures


def check_sample(sensor, workdir, sanitized):
    capture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples",
                           "api-sample.pcap")
    transactions = os.path.join(workdir, "sample.transactions.jsonl")
    rc, err, rss = run_measured([sensor, "-r", capture, "--db", ":memory:", "-o", os.devnull,
                                 "--transactions", transactions, "--no-progress"])
    if rc != 0:
        return ["sample: exit %d: %s" % (rc, err[-400:])]
    with open(transactions) as f:
        reported = sum(1 for _ in f)
    print("sample: %d transactions, peak RSS %.1f MiB with the default limits"
          % (reported, rss / 1024))
    failures = []
    if reported == 0:
        failures.append("sample: no transaction reported")
    if not sanitized and rss > 64 * 1024:
        failures.append("sample: peak RSS %.1f MiB over 64 MiB with the default limits"
                        % (rss / 1024))
    return failures


def check_errors(sensor, shared):
    failures = []
    pcap = os.path.join(shared, "pcaps/edge/http-pipelined.pcap")
    for extra, words in ((["--memory-budget", "10M"], ["--memory-budget", "too small"]),
                         (["--memory-budget", "64M", "--limit", "flow_max=1000000"],
                          ["--memory-budget", "explicitly"]),
                         (["--memory-budget", "lots"], ["memory-budget", "lots"])):
        result = harness.run([sensor, "-r", pcap, "--db", ":memory:", "-o", os.devnull] + extra)
        missing = [w for w in words if w not in result.stderr]
        if result.returncode != 2 or missing:
            failures.append("%s: %s, expected exit 2 naming %s: %s"
                            % (" ".join(extra), result.describe(), missing,
                               result.stderr.strip()))
    return failures


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    sensor, shared, gen, case = sys.argv[1:5]
    sanitized = len(sys.argv) == 6 and sys.argv[5] == "--sanitized"
    if not os.path.isdir(os.path.join(shared, "pcaps")):
        harness.skip("memory_" + case, "no pcaps under %s" % shared)
    with harness.temporary_directory("memory") as workdir:
        if case == "flows1m":
            failures = check_flows(sensor, gen, workdir, sanitized)
        elif case == "idle":
            failures = check_idle(sensor, gen, workdir, sanitized)
        elif case == "synflood":
            failures = check_synflood(sensor, shared, workdir, sanitized)
        elif case == "sample":
            failures = check_sample(sensor, workdir, sanitized)
        elif case == "errors":
            failures = check_errors(sensor, shared)
        else:
            sys.exit("unknown case " + case)
    harness.finish("memory_" + case, failures)


if __name__ == "__main__":
    main()
