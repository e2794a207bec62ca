"""harness.py - what every end-to-end test of the apisensor binary shares:
running the sensor the way CONTRACT.md describes, reading its JSON Lines
output, and the ctest conventions (exit 0 pass, 1 fail, 77 skipped).

Python 3 standard library only.
"""
import calendar
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

PASS, FAIL, SKIP = 0, 1, 77

# Reference key names (tshark references, edge expected files, generator
# truth) for the connection and the fields of a transaction.
CONNECTION = ["client_ip", "client_port", "server_ip", "server_port"]
_SCORE_LINE = re.compile(r"^ref (\d+) cand (\d+) matched (\d+) missed (\d+) extra (\d+) ")

# CONTRACT.md "@timestamp": ISO 8601 UTC with microseconds.
_TIMESTAMP = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})(?:Z|\+00:00)$")


class Result:
    """One finished run of the sensor."""

    def __init__(self, argv, returncode, stdout, stderr, timed_out):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    def crashed(self):
        return self.timed_out or self.returncode < 0

    def describe(self):
        if self.returncode == 127 and self.stderr.startswith("cannot run"):
            return self.stderr
        if self.timed_out:
            return "timed out"
        if self.returncode < 0:
            try:
                return "killed by " + signal.Signals(-self.returncode).name
            except ValueError:
                return "killed by signal %d" % -self.returncode
        return "exit status %d" % self.returncode


def run(argv, timeout=300):
    """Runs argv with no stdin; returns a Result with stdout/stderr as text."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return Result(argv, p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), False)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        err = (e.stderr or b"").decode("utf-8", "replace")
        return Result(argv, -1, out, err, True)
    except OSError as e:
        return Result(argv, 127, "", "cannot run %s: %s" % (argv[0], e), False)


def run_on_capture(sensor, capture, workdir, extra=()):
    """The graders' command line: -r FILE --db :memory: -o /dev/null --transactions OUT.
    Returns (Result, path of the transactions file)."""
    out = os.path.join(workdir, "transactions.jsonl")
    argv = [sensor, "-r", capture, "--db", ":memory:", "-o", "/dev/null",
            "--transactions", out] + list(extra)
    return run(argv), out


def analyse(sensor, capture, workdir):
    """run_on_capture, printed, then the transactions read back.
    Returns (Result, events, flattened events, failures so far): a non-zero
    exit status and malformed lines are failures."""
    result, out_path = run_on_capture(sensor, capture, workdir)
    print("$ %s\n-> %s" % (" ".join(result.argv), result.describe()))
    failures = []
    if result.returncode != 0:
        failures.append("the sensor ended with %s, expected exit status 0" % result.describe())
    events, problems = read_transactions(out_path)
    failures += problems
    return result, events, [flatten(e) for e in events], failures


def timestamp_us(text):
    """CONTRACT.md timestamp -> integer microseconds since the epoch, or None."""
    m = _TIMESTAMP.match(text) if isinstance(text, str) else None
    if not m:
        return None
    y, mo, d, h, mi, s, us = (int(g) for g in m.groups())
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000000 + us


def epoch_text_us(text):
    """'1700000000.125456' -> integer microseconds."""
    return int(Decimal(text) * 1000000)


def read_transactions(path):
    """Reads a --transactions file.  Returns (transactions, problems): every
    line must be a JSON object with "event":"transaction", a contract
    "@timestamp" and "sensor": {"name", "version"}."""
    problems = []
    events = []
    if not os.path.exists(path):
        return [], ["the sensor wrote no transactions file %s" % path]
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                event = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                problems.append("line %d is not JSON (%s)" % (number, e))
                continue
            if not isinstance(event, dict) or event.get("event") != "transaction":
                problems.append("line %d is not a transaction event" % number)
                continue
            if timestamp_us(event.get("@timestamp")) is None:
                problems.append("line %d: @timestamp %r is not ISO 8601 UTC with microseconds"
                                % (number, event.get("@timestamp")))
            sensor = event.get("sensor")
            if not isinstance(sensor, dict) or not sensor.get("name") or not sensor.get("version"):
                problems.append("line %d: no sensor name/version" % number)
            events.append(event)
    return events, problems


def last_endpoint_events(path):
    """(method, host, path) -> the last endpoint event of an events file
    (the final snapshot when the run wrote one)."""
    last = {}
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "endpoint":
                e = event["endpoint"]
                last[(e["method"], e["host"], e["path"])] = event
    return last


def field(event, dotted):
    """event['a']['b'] for 'a.b'; None when any part is missing."""
    for part in dotted.split("."):
        if not isinstance(event, dict):
            return None
        event = event.get(part)
    return event


def flags(event):
    value = event.get("flags")
    return set(value) if isinstance(value, list) else set()


def normal_ip(value):
    try:
        return str(ipaddress.ip_address(str(value).strip("[]")))
    except ValueError:
        return value


def flatten(event):
    """A contract transaction event in the references' key names."""
    version = field(event, "http.version")
    if isinstance(version, str) and re.match(r"^\d+(\.\d+)?$", version):
        version = "HTTP/" + version
    return {
        "client_ip": normal_ip(field(event, "client.ip")),
        "client_port": field(event, "client.port"),
        "server_ip": normal_ip(field(event, "server.ip")),
        "server_port": field(event, "server.port"),
        "method": field(event, "http.method"),
        "uri": field(event, "http.uri"),
        "host": field(event, "http.host"),
        "status": field(event, "http.status"),
        "version": version,
        "req_body_len": field(event, "http.request.body_bytes"),
        "resp_body_len": field(event, "http.response.body_bytes"),
        "req_content_type": field(event, "http.request.content_type"),
        "resp_content_type": field(event, "http.response.content_type"),
    }


def connection(record):
    return tuple(normal_ip(record.get(k)) if k.endswith("_ip") else record.get(k)
                 for k in CONNECTION)


def pair(reference, flat):
    """Reference index -> candidate index: per connection, in order, on
    method and uri (any uri when the reference's is null)."""
    used = set()
    pairs = {}
    for i, want in enumerate(reference):
        for j, got in enumerate(flat):
            if j in used or connection(got) != connection(want) or got["method"] != want["method"]:
                continue
            if want.get("uri") is None or got["uri"] == want["uri"]:
                used.add(j)
                pairs[i] = j
                break
    return pairs


def score(shared, reference, flat, workdir):
    """Scores flattened transactions against reference records with
    SHARED/tools/score-http-tx.py; prints its report and returns
    (missed, extra, differing-field lines), or None when it failed."""
    ref_path = os.path.join(workdir, "reference.jsonl")
    cand_path = os.path.join(workdir, "candidate.jsonl")
    for path, records in ((ref_path, reference), (cand_path, flat)):
        with open(path, "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
    scorer = os.path.join(shared, "tools", "score-http-tx.py")
    p = subprocess.run([sys.executable, scorer, ref_path, cand_path, "-v"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text = p.stdout.decode("utf-8", "replace")
    print(text.rstrip())
    counts = [m for m in map(_SCORE_LINE.match, text.splitlines()) if m]
    if p.returncode != 0 or not counts:
        print("score-http-tx.py failed (exit status %d)" % p.returncode)
        return None
    diffs = [line[4:].strip() for line in text.splitlines() if line.startswith("DIFF")]
    return int(counts[0].group(4)), int(counts[0].group(5)), diffs


def temporary_directory(name):
    return tempfile.TemporaryDirectory(prefix="apisensor-%s." % name)


def finish(name, failures):
    """Prints the verdict and exits with the ctest status."""
    if failures:
        print("%s: FAIL" % name)
        for failure in failures:
            print("  - " + failure)
        sys.exit(FAIL)
    print("%s: PASS" % name)
    sys.exit(PASS)


def sample_main(name, usage, check):
    """main() of a test run as SCRIPT SENSOR SAMPLE_PCAP: check(sensor,
    sample, workdir) returns the failures."""
    if len(sys.argv) != 3:
        sys.exit(usage)
    sensor, sample = sys.argv[1:]
    with temporary_directory(name) as workdir:
        failures = check(sensor, sample, workdir)
    finish(name, failures)


def skip(name, why):
    print("%s: SKIP (%s)" % (name, why))
    sys.exit(SKIP)


def wait_idle(proc, seconds=90):
    """Waits until a running sensor has analysed what it was given: its CPU
    time stops growing (an idle sensor wakes every 100 ms and does nothing)
    while its main thread sleeps (a sensor starved of CPU on a loaded machine
    also stops growing, but stays runnable). Bounded by `seconds`; returns at
    once when the process has ended."""
    deadline, quiet, last = time.time() + seconds, 0, None
    while time.time() < deadline and quiet < 3 and proc.poll() is None:
        with open("/proc/%d/stat" % proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        sleeping = fields[0] in ("S", "D")
        quiet = quiet + 1 if last is not None and ticks - last <= 2 and sleeping else 0
        last = ticks
        time.sleep(0.3)
