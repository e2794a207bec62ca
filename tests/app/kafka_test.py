#!/usr/bin/env python3
"""kafka_test.py - Kafka export of the apisensor binary against a real
Kafka-protocol broker (librdkafka's mock cluster, started by the
kafka_mock_broker helper on 127.0.0.1), read back with kcat as an
independent consumer.

  kafka_test.py SENSOR MOCK_BROKER CAPTURE CASE

CASE is one of:
  delivery         every transaction and stats event arrives once, on its
                   topic, with its key (flow Community ID / sensor name), in
                   the order the --transactions file holds them
  outage           the broker goes down mid-run and comes back: 0 lost, 0
                   duplicated, the summary reports the spooled events
  outage_60s       the same with the broker away for 60 s (DESIGN.md target)
  sigterm          SIGTERM mid-run: capture stops, Kafka is flushed, exit 0,
                   everything written so far is delivered
  unknown_broker   a broker name that does not resolve: a clear message,
                   every event spooled, bounded time; a later run with a
                   broker sends the spooled events first
  full_spool       a spool too small: a clear message, drops counted, exit 1
  unwritable_spool a spool directory that cannot be created: a clear
                   message, drops counted, exit 1
Exit 0 pass, 1 fail, 77 skipped (no kcat, no capture).
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

import harness

TOPICS = ("findings", "endpoints", "transactions", "stats")
SENSOR_NAME = "kafka-test"


class Broker:
    """The mock broker helper: address on its first stdout line, commands on stdin."""

    def __init__(self, helper, prefix="apisensor"):
        self.proc = subprocess.Popen([helper] + ["%s.%s" % (prefix, t) for t in TOPICS],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.address = self._line(10)
        if not self.address:
            self.close()
            raise RuntimeError("the mock broker printed no address")

    def _line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return ""
        return self.proc.stdout.readline().decode().strip()

    def command(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()
        if self._line(10) != "ok":
            raise RuntimeError("the mock broker did not acknowledge %r" % text)

    def close(self):
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def consume(address, topic):
    """Every message of the topic as (key, value) pairs, in partition order."""
    p = subprocess.run(["kcat", "-C", "-b", address, "-t", topic, "-e", "-q", "-Z",
                        "-f", "%k\\t%s\\n"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    messages = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("\t")
        messages.append((key, value))
    return messages


def read_lines(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def sensor_argv(sensor, broker, workdir, capture="-", extra=()):
    # raw identities: with --db :memory: pseudonyms use a key drawn per run,
    # and the runs' events are compared byte for byte
    return [sensor, "-r", capture, "--db", ":memory:", "--no-progress", "--raw-identities",
            "--sensor-name", SENSOR_NAME, "--kafka", broker, "--kafka-transactions",
            "--transactions", os.path.join(workdir, "tx.jsonl"),
            "-o", os.path.join(workdir, "events.jsonl"),
            "--spool-dir", os.path.join(workdir, "spool"),
            "-X", "reconnect.backoff.ms=100", "-X", "reconnect.backoff.max.ms=500"] + list(extra)


def summary_figures(stderr):
    """The kafka line of the run summary as a dict of its counts."""
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("kafka:") and "delivered" in line:
            counts, _, held = line.partition(";")
            words = counts.replace(",", " ").split()
            figures = {}
            for i, word in enumerate(words[:-1]):
                if word.isdigit():
                    figures[words[i + 1]] = int(word)
            held = held.split()
            if len(held) > 2 and held[2].isdigit():
                figures["held"] = int(held[2])
            return figures
    return None


def check_delivered(failures, broker, workdir, expect_all_unique=True):
    """The transactions topic holds exactly the --transactions file's lines
    (each once, keyed by its Community ID) and the stats topic the
    events file's stats, keyed by the sensor name."""
    tx_file = read_lines(os.path.join(workdir, "tx.jsonl"))
    got = consume(broker.address, "apisensor.transactions")
    values = [v for _, v in got]
    if sorted(values) != sorted(tx_file):
        missing = len(set(tx_file) - set(values))
        failures.append("transactions topic: %d messages, file: %d lines, %d missing"
                        % (len(values), len(tx_file), missing))
    if expect_all_unique and len(set(values)) != len(values):
        failures.append("transactions topic holds %d duplicates" % (len(values) - len(set(values))))
    for key, value in got:
        event = json.loads(value)
        if event.get("event") != "transaction" or key != event.get("community_id"):
            failures.append("transaction keyed %r, expected its community_id %r"
                            % (key, event.get("community_id")))
            break
    events = read_lines(os.path.join(workdir, "events.jsonl"))
    stats = consume(broker.address, "apisensor.stats")
    file_stats = [e for e in events if json.loads(e).get("event") == "stats"]
    if sorted(v for _, v in stats) != sorted(file_stats):
        failures.append("stats topic: %d messages, events file: %d stats"
                        % (len(stats), len(file_stats)))
    if any(k != SENSOR_NAME for k, _ in stats):
        failures.append("a stats event is not keyed by the sensor name")
    for kind in ("findings", "endpoints"):
        singular = kind[:-1]
        want = [e for e in events if json.loads(e).get("event") == singular]
        have = [v for _, v in consume(broker.address, "apisensor." + kind)]
        if sorted(want) != sorted(have):
            failures.append("%s topic: %d messages, events file: %d" % (kind, len(have), len(want)))
    return tx_file, got


def run_piped(argv, capture, steps, timeout=120):
    """Runs the sensor reading the capture from stdin; steps is a list of
    (fraction of the capture written so far, action) run in order."""
    with open(capture, "rb") as f:
        data = f.read()
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    written = 0
    for fraction, action in steps:
        end = int(len(data) * fraction)
        if end > written:
            proc.stdin.write(data[written:end])
            proc.stdin.flush()
            written = end
        action(proc)
    try:
        out, err = proc.communicate(data[written:], timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return harness.Result(argv, -1, out.decode(), err.decode(), True), 0
    return (harness.Result(argv, proc.returncode, out.decode("utf-8", "replace"),
                           err.decode("utf-8", "replace"), False),
            time.monotonic() - started)


def show(result, seconds=None):
    print("$ %s\n-> %s%s" % (" ".join(result.argv), result.describe(),
                             " in %.1f s" % seconds if seconds is not None else ""))
    print(result.stderr.rstrip())


def case_delivery(sensor, helper, capture, workdir, failures):
    broker = Broker(helper)
    try:
        result = harness.run(sensor_argv(sensor, broker.address, workdir, capture), timeout=120)
        show(result)
        if result.returncode != 0:
            failures.append("exit %s" % result.describe())
        tx_file, got = check_delivered(failures, broker, workdir)
        if [v for _, v in got] != tx_file:
            failures.append("transactions topic is not in the order of the --transactions file")
        figures = summary_figures(result.stderr) or {}
        if figures.get("delivered") != len(tx_file) + len(read_lines(
                os.path.join(workdir, "events.jsonl"))):
            failures.append("summary: %r delivered, expected every event" % figures)
        if not tx_file:
            failures.append("no transaction in the capture: the test proves nothing")
    finally:
        broker.close()


def case_outage(sensor, helper, capture, workdir, failures, seconds_down=3.0):
    broker = Broker(helper)
    try:
        argv = sensor_argv(sensor, broker.address, workdir,
                           extra=["--limit", "kafka_queue_messages=16", "--flush-timeout", "60"])
        steps = [(0.3, lambda p: time.sleep(1.0)),
                 (0.3, lambda p: broker.command("down")),
                 (1.0, lambda p: time.sleep(seconds_down)),
                 (1.0, lambda p: broker.command("up"))]
        result, seconds = run_piped(argv, capture, steps, timeout=120 + seconds_down)
        show(result, seconds)
        if result.returncode != 0:
            failures.append("exit %s" % result.describe())
        check_delivered(failures, broker, workdir)
        figures = summary_figures(result.stderr) or {}
        if not figures.get("spooled"):
            failures.append("summary reports no spooled events: %r" % figures)
        if figures.get("dropped") != 0:
            failures.append("summary reports drops: %r" % figures)
    finally:
        broker.close()


def case_sigterm(sensor, helper, capture, workdir, failures):
    broker = Broker(helper)
    try:
        argv = sensor_argv(sensor, broker.address, workdir, extra=["--flush-timeout", "20"])
        steps = [(0.5, lambda p: time.sleep(1.0)),
                 (0.5, lambda p: p.send_signal(signal.SIGTERM))]
        result, seconds = run_piped(argv, capture, steps, timeout=60)
        show(result, seconds)
        if result.returncode != 0:
            failures.append("exit %s after SIGTERM, expected 0" % result.describe())
        tx_file, _ = check_delivered(failures, broker, workdir)
        if not tx_file:
            failures.append("nothing was analysed before the signal")
    finally:
        broker.close()


def case_unknown_broker(sensor, helper, capture, workdir, failures):
    argv = sensor_argv(sensor, "no-such-broker.invalid:9092", workdir, capture,
                       extra=["--flush-timeout", "2"])
    started = time.monotonic()
    result = harness.run(argv, timeout=60)
    seconds = time.monotonic() - started
    show(result, seconds)
    if result.crashed() or seconds > 30:
        failures.append("%s after %.1f s" % (result.describe(), seconds))
    if "no-such-broker.invalid" not in result.stderr:
        failures.append("no message naming the broker")
    expected = len(read_lines(os.path.join(workdir, "tx.jsonl"))) + len(
        read_lines(os.path.join(workdir, "events.jsonl")))
    figures = summary_figures(result.stderr) or {}
    if figures.get("spooled") != expected or figures.get("dropped") != 0:
        failures.append("summary %r: expected all %d events spooled, none dropped"
                        % (figures, expected))
    if "wait in the spool" not in result.stderr:
        failures.append("no message saying that events wait in the spool")
    first_run = read_lines(os.path.join(workdir, "tx.jsonl"))

    # The next run, with a broker, sends the spooled events first.
    broker = Broker(helper)
    try:
        result = harness.run(sensor_argv(sensor, broker.address, workdir, capture), timeout=120)
        show(result)
        if result.returncode != 0:
            failures.append("second run: exit %s" % result.describe())
        got = [v for _, v in consume(broker.address, "apisensor.transactions")]
        if got[:len(first_run)] != first_run or got[len(first_run):] != first_run:
            failures.append("second run: %d transactions on the topic, expected the %d spooled "
                            "ones then the %d new ones" % (len(got), len(first_run),
                                                           len(first_run)))
    finally:
        broker.close()


def run_with_broker_down(sensor, broker, capture, workdir, failures, extra):
    """A run while the broker is down that must end quickly with exit status 1."""
    broker.command("down")
    argv = sensor_argv(sensor, broker.address, workdir, capture,
                       extra=["--flush-timeout", "2", "--limit", "kafka_queue_messages=16"] + extra)
    started = time.monotonic()
    result = harness.run(argv, timeout=60)
    seconds = time.monotonic() - started
    show(result, seconds)
    if result.returncode != 1 or seconds > 30:
        failures.append("%s after %.1f s, expected exit status 1 quickly"
                        % (result.describe(), seconds))
    return result


def case_full_spool(sensor, helper, capture, workdir, failures):
    broker = Broker(helper)
    try:
        result = run_with_broker_down(sensor, broker, capture, workdir, failures,
                                      ["--limit", "spool_max_bytes=64K"])
        if "is full" not in result.stderr or "dropped" not in result.stderr:
            failures.append("no message saying the spool is full and events were dropped")
        figures = summary_figures(result.stderr) or {}
        expected = len(read_lines(os.path.join(workdir, "tx.jsonl"))) + len(
            read_lines(os.path.join(workdir, "events.jsonl")))
        if not figures.get("dropped") or figures.get("events") != expected:
            failures.append("summary %r: expected %d events, drops counted" % (figures, expected))
        elif figures["dropped"] + figures.get("held", 0) != expected:
            failures.append("summary %r: every event must be either dropped or in the spool"
                            % figures)
        spool = os.path.join(workdir, "spool")
        size = sum(os.path.getsize(os.path.join(spool, n)) for n in os.listdir(spool))
        if size > 64 * 1024 + 16 * 4:
            failures.append("the spool holds %d bytes, more than its 64 KiB bound" % size)
    finally:
        broker.close()


def case_unwritable_spool(sensor, helper, capture, workdir, failures):
    broker = Broker(helper)
    try:
        blocker = os.path.join(workdir, "a-file")
        with open(blocker, "w"):
            pass
        result = run_with_broker_down(sensor, broker, capture, workdir, failures,
                                      ["--spool-dir", os.path.join(blocker, "spool")])
        if "cannot create the directory" not in result.stderr or \
                "running without a spool" not in result.stderr:
            failures.append("no message saying the spool directory cannot be used")
        figures = summary_figures(result.stderr) or {}
        if not figures.get("dropped"):
            failures.append("summary %r: drops not counted" % figures)
    finally:
        broker.close()


CASES = {
    "delivery": case_delivery,
    "outage": case_outage,
    "outage_60s": lambda *args: case_outage(*args, seconds_down=60.0),
    "sigterm": case_sigterm,
    "unknown_broker": case_unknown_broker,
    "full_spool": case_full_spool,
    "unwritable_spool": case_unwritable_spool,
}


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        sys.exit(__doc__)
    sensor, helper, capture, case = sys.argv[1:]
    test = "kafka_" + case
    if not shutil.which("kcat"):
        harness.skip(test, "kcat not installed (scripts/install-deps.sh)")
    if not os.path.isfile(capture):
        harness.skip(test, "%s not found" % capture)
    failures = []
    with harness.temporary_directory(test) as workdir:
        CASES[case](sensor, helper, capture, workdir, failures)
    harness.finish(test, failures)


if __name__ == "__main__":
    main()
