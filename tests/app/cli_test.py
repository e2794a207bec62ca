#!/usr/bin/env python3
"""cli_test.py - the command line of CONTRACT.md, end to end.

  cli_test.py SENSOR SAMPLE_PCAP

  * --help exits 0 and lists the options every build understands;
  * an unknown option exits 2 and names the option on stderr;
  * a capture file that does not exist exits 1 (or 2) and names the file;
  * an empty pcap (header only) exits 0 with 0 transactions;
  * two runs on SAMPLE_PCAP write byte-identical events and transactions
    (and at least one transaction);
  * SAMPLE_PCAP piped to -r - gives the same events and transactions, and
    SIGTERM stops a run whose pipe went idle mid-capture (exit 0, events
    flushed), with and without workers.
Exit 0 pass, 1 fail.
"""
import os
import signal
import struct
import subprocess
import sys
import time

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


def check_pipe(sensor, sample, workdir):
    """Piped input equals the file; SIGTERM ends a read blocked on an idle pipe."""
    failures = []
    data = read_bytes(sample)
    out = {}
    for name, stdin in (("file", None), ("pipe", data)):
        events = os.path.join(workdir, "pipe-%s.jsonl" % name)
        transactions = os.path.join(workdir, "pipe-%s.tx.jsonl" % name)
        key = os.path.join(workdir, "pipe.key")
        with open(key, "wb") as f:
            f.write(b"0123456789abcdef0123456789abcdef")
        cmd = [sensor, "-r", sample if stdin is None else "-", "--db", ":memory:",
               "--pseudonym-key-file", key, "-q", "-o", events, "--transactions", transactions]
        run = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             timeout=120)
        if run.returncode != 0:
            failures.append("-r %s: exit %d" % (name, run.returncode))
        out[name] = read_bytes(events) + read_bytes(transactions)
    if out["file"] != out["pipe"]:
        failures.append("-r - gives other events or transactions than the file")
    for extra in ([], ["--workers", "2"]):
        r, w = os.pipe()
        proc = subprocess.Popen([sensor, "-r", "-", "--db", ":memory:", "--no-progress"] + extra,
                                stdin=r, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(r)
        os.write(w, data[:len(data) // 2])  # half the capture, then the writer idles
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        started = time.time()
        try:
            stdout, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            failures.append("-r - %s: still running 10 s after SIGTERM on an idle pipe" % extra)
            os.close(w)
            continue
        os.close(w)
        if proc.returncode != 0 or b'"event":"stats"' not in stdout.replace(b" ", b""):
            failures.append("-r - %s: exit %d after SIGTERM, %d event lines (want 0 and the "
                            "final stats)" % (extra, proc.returncode, len(stdout.splitlines())))
        print("-r - %s: SIGTERM on an idle pipe: exit %d after %.2f s, %d event lines"
              % (extra, proc.returncode, time.time() - started, len(stdout.splitlines())))
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
        failures += check_pipe(sensor, sample, workdir)
    harness.finish("cli", failures)


if __name__ == "__main__":
    main()
