#!/usr/bin/env python3
"""pipe_test.py - a capture read from a pipe (-r -).

  pipe_test.py SENSOR SAMPLE_PCAP

  * SAMPLE_PCAP piped to -r - gives the same events and transactions as the
    file;
  * SIGTERM stops a run whose pipe went idle mid-capture, before its first
    byte, or inside its first four bytes (the file type): exit 0 and the
    final stats written, with and without --workers 2;
  * a named FIFO given to -r gives the same events as the file when a
    writer comes after the sensor started, and SIGTERM stops a run whose
    FIFO no writer ever opened.
Kept out of cli_test.py, which the harness selftest also runs against a
stand-in sensor that knows neither stdin nor workers.
Exit 0 pass, 1 fail.
"""
import os
import signal
import subprocess
import threading
import time

import harness


def read_bytes(path):
    if not os.path.exists(path):
        return b""
    with open(path, "rb") as f:
        return f.read()


def stop_idle(proc, label):
    """SIGTERM to a sensor waiting on idle input: it must exit 0 at once
    with the final stats. Returns the failures."""
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    try:
        stdout, stderr = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return ["%s: still running 10 s after SIGTERM" % label]
    stopped = [line for line in stderr.decode(errors="replace").splitlines() if "stopped" in line]
    print("%s: SIGTERM: exit %d after %.2f s, %d event lines %s"
          % (label, proc.returncode, time.time() - started, len(stdout.splitlines()), stopped))
    if proc.returncode != 0 or b'"event":"stats"' not in stdout.replace(b" ", b""):
        return ["%s: exit %d after SIGTERM, %d event lines (want 0 and the final stats)"
                % (label, proc.returncode, len(stdout.splitlines()))]
    return []


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
        failures += stop_idle(proc, "-r - %s" % label)
        os.close(w)
    failures += check_fifo(sensor, sample, workdir, data, out["file"])
    return failures


def check_fifo(sensor, sample, workdir, data, file_out):
    """-r FIFO: a late writer's capture is read whole; no writer, SIGTERM ends it."""
    failures = []
    fifo = os.path.join(workdir, "capture.fifo")
    os.mkfifo(fifo)
    events = os.path.join(workdir, "fifo.jsonl")
    transactions = os.path.join(workdir, "fifo.tx.jsonl")
    cmd = [sensor, "-r", fifo, "--db", ":memory:", "--pseudonym-key-file",
           os.path.join(workdir, "pipe.key"), "-q", "-o", events, "--transactions", transactions]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def late_writer():
        time.sleep(0.5)
        with open(fifo, "wb") as f:
            f.write(data)

    writer = threading.Thread(target=late_writer)
    writer.start()
    try:
        _, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        stderr = b""
        failures.append("-r FIFO with a writer: still running after 60 s")
    writer.join(timeout=60)
    if proc.returncode != 0:
        failures.append("-r FIFO with a writer: exit %s: %s" % (proc.returncode, stderr[-300:]))
    elif read_bytes(events) + read_bytes(transactions) != file_out:
        failures.append("-r FIFO gives other events or transactions than the file")
    proc = subprocess.Popen([sensor, "-r", fifo, "--db", ":memory:", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return failures + stop_idle(proc, "-r FIFO without a writer")

if __name__ == "__main__":
    harness.sample_main("pipe", __doc__, check_pipe)
