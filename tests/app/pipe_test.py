#!/usr/bin/env python3
"""pipe_test.py - a capture read from a pipe (-r -).

  pipe_test.py SENSOR SAMPLE_PCAP

  * SAMPLE_PCAP piped to -r - gives the same events and transactions as the
    file;
  * SIGTERM stops a run whose pipe went idle mid-capture, before its first
    byte, or inside its first four bytes (the file type): exit 0 and the
    final stats written, with and without --workers 2.
Kept out of cli_test.py, which the harness selftest also runs against a
stand-in sensor that knows neither stdin nor workers.
Exit 0 pass, 1 fail.
"""
import os
import signal
import subprocess
import time

import harness


def read_bytes(path):
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


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
    cases = [(extra, sent) for extra in ([], ["--workers", "2"])
             for sent in (len(data) // 2, 0, 2)]
    for extra, sent in cases:
        label = "%s after %d bytes" % (" ".join(extra) or "one thread", sent)
        r, w = os.pipe()
        proc = subprocess.Popen([sensor, "-r", "-", "--db", ":memory:", "--no-progress"] + extra,
                                stdin=r, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(r)
        if sent:
            os.write(w, data[:sent])  # then the writer idles
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        started = time.time()
        try:
            stdout, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            failures.append("-r - %s: still running 10 s after SIGTERM on an idle pipe" % label)
            os.close(w)
            continue
        os.close(w)
        if proc.returncode != 0 or b'"event":"stats"' not in stdout.replace(b" ", b""):
            failures.append("-r - %s: exit %d after SIGTERM, %d event lines (want 0 and the "
                            "final stats)" % (label, proc.returncode, len(stdout.splitlines())))
        print("-r - %s: SIGTERM on an idle pipe: exit %d after %.2f s, %d event lines"
              % (label, proc.returncode, time.time() - started, len(stdout.splitlines())))
    return failures


if __name__ == "__main__":
    harness.sample_main("pipe", __doc__, check_pipe)
