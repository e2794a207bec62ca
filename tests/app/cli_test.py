#!/usr/bin/env python3
"""cli_test.py - the command line of CONTRACT.md, end to end.

  cli_test.py SENSOR SAMPLE_PCAP

  * --help exits 0 and lists the options every build understands;
  * an unknown option exits 2 and names the option on stderr;
  * a capture file that does not exist exits 1 (or 2) and names the file;
  * an empty pcap (header only) exits 0 with 0 transactions;
  * two runs on SAMPLE_PCAP write byte-identical events and transactions
    (and at least one transaction).
Exit 0 pass, 1 fail.
"""
import os
import struct
import sys

import harness

CONTRACT_OPTIONS = ["-r", "-i", "--config", "--spec", "--db", "--out", "--transactions",
                    "--format", "--kafka", "--keylog", "--raw-identities", "--quiet", "--verbose"]


def check_help(sensor):
    result = harness.run([sensor, "--help"])
    failures = []
    if result.returncode != 0:
        failures.append("--help: %s, expected exit status 0" % result.describe())
    missing = [o for o in CONTRACT_OPTIONS if o not in result.stdout]
    if missing:
        failures.append("--help on stdout does not list %s" % " ".join(missing))
    return failures


def check_unknown_option(sensor):
    result = harness.run([sensor, "--no-such-option"])
    failures = []
    if result.returncode != 2:
        failures.append("--no-such-option: %s, expected exit status 2" % result.describe())
    if "no-such-option" not in result.stderr:
        failures.append("--no-such-option: stderr does not name the option: %r"
                        % result.stderr[-300:])
    return failures


def check_missing_file(sensor, workdir):
    missing = os.path.join(workdir, "no-such-capture.pcap")
    result, _ = harness.run_on_capture(sensor, missing, workdir)
    failures = []
    if result.returncode not in (1, 2):
        failures.append("missing capture: %s, expected exit status 1 or 2" % result.describe())
    if "no-such-capture.pcap" not in result.stderr:
        failures.append("missing capture: stderr does not name the file: %r"
                        % result.stderr[-300:])
    return failures


def check_empty_pcap(sensor, workdir):
    empty = os.path.join(workdir, "empty.pcap")
    with open(empty, "wb") as f:
        # pcap file header: magic, version 2.4, thiszone, sigfigs, snaplen, Ethernet
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    result, out = harness.run_on_capture(sensor, empty, workdir)
    failures = []
    if result.returncode != 0:
        failures.append("empty pcap: %s, expected exit status 0" % result.describe())
    events, problems = harness.read_transactions(out)
    failures += ["empty pcap: " + p for p in problems]
    if events:
        failures.append("empty pcap: %d transactions, expected 0" % len(events))
    return failures


def check_determinism(sensor, sample, workdir):
    outputs = []
    failures = []
    for run in (1, 2):
        events = os.path.join(workdir, "events.%d.jsonl" % run)
        transactions = os.path.join(workdir, "transactions.%d.jsonl" % run)
        result = harness.run([sensor, "-r", sample, "--db", ":memory:", "-o", events,
                              "--transactions", transactions])
        if result.returncode != 0:
            return ["sample run %d: %s, expected exit status 0" % (run, result.describe())]
        outputs.append([read_bytes(events), read_bytes(transactions)])
    if not outputs[0][1].strip():
        failures.append("sample: no transactions reported, nothing to compare")
    for index, what in enumerate(("events", "transactions")):
        if outputs[0][index] != outputs[1][index]:
            failures.append("sample: two runs wrote different %s" % what)
    return failures


def read_bytes(path):
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sensor, sample = sys.argv[1:]
    failures = []
    with harness.temporary_directory("cli") as workdir:
        failures += check_help(sensor)
        failures += check_unknown_option(sensor)
        failures += check_missing_file(sensor, workdir)
        failures += check_empty_pcap(sensor, workdir)
        failures += check_determinism(sensor, sample, workdir)
    harness.finish("cli", failures)


if __name__ == "__main__":
    main()
