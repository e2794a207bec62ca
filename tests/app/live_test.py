#!/usr/bin/env python3
"""live_test.py - live capture on the loopback interface (issue #7).

  live_test.py SENSOR SHARED CASE

CASE is one of:
  lo       `apisensor -i lo` while tcpreplay puts a scenario capture on lo at
           top speed, stopped with SIGTERM: exit 0, the endpoint inventory
           (method, host, template, status codes) equals the `-r` run on the
           same capture, and the kernel and interface drop counters are in the
           run summary and in the final stats event
  two      the same with lo and a second interface that is up (-i lo -i
           eth0, say: one thread reads both; the filter keeps the second
           one quiet) in immediate mode (with a snaplen of 4096: immediate
           mode rings hold whole snaplen frames): the same inventory, a
           summary line per interface. (Not lo twice: two copies of every
           packet, one interface lagging, make late duplicate SYNs start
           new connections; no deployment sees that.) Skipped when there is
           no second interface that is up
  lo_workers, drops_workers
           the lo and drops cases with --workers 2 (the dispatcher reads the
           interface, the model thread writes the stats events)
  drops    the same with a 1 MiB ring and the sensor stopped (SIGSTOP) while
           the capture is replayed: the kernel drops packets, and the count
           is the same in the summary and in the final stats event
  user     --user nobody: the interface is opened as root, then the sensor
           runs as nobody (its /proc status says so) and still sees the
           traffic; an unknown user and a drop attempted without root exit 1
  snapshot --snapshot-interval 1: the capture is replayed twice, 1.5 s
           apart (the second time from other addresses): during the second
           loop the sensor writes every listed endpoint again (packet time
           passed the interval), before the final snapshot at exit; events
           reach the output file while the sensor waits for packets
  idle     no traffic at all (-i lo, the filter keeps lo quiet) with
           --stats-interval 1, with and without --workers 2: packet time
           follows the wall clock on a quiet link, so stats events keep
           coming before SIGTERM (at least 2 in 3.5 s), then exit 0
  errors   clear errors: a missing interface and a bad filter (exit 2, named),
           no permission (as nobody: exit 1, named), a bad configuration key
           (exit 2, file:line and key), an unreadable spec (exit 2, named)
Needs root and tcpreplay (Debian package tcpreplay): exit 77 (skipped)
without them. Every wait is bounded. Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import harness

CAPTURE = "pcaps/scenarios/mixed.pcap"
# the scenario's own traffic only (its API listens on 127.0.0.1:8080): other
# tests may talk on 127.0.0.1 meanwhile
FILTER = "tcp port 8080"


def inventory(path):
    """Endpoints of an events file: (method, host, path, status codes), each
    endpoint as its last event (the final snapshot) gives it: the order of
    the intermediate events depends on how packets from several interfaces
    interleave, the final inventory does not."""
    return {key + (tuple(sorted(event["status_codes"])),)
            for key, event in harness.last_endpoint_events(path).items()}


def final_stats(path):
    stats = None
    with open(path) as f:
        for line in f:
            event = json.loads(line)
            if event.get("event") == "stats" and event.get("final"):
                stats = event
    return stats


class Live:
    """apisensor -i lo in the background, its stderr collected in a file."""

    def __init__(self, sensor, workdir, extra=(), prefix=(), interfaces=("lo",)):
        self.events = os.path.join(workdir, "live.jsonl")
        self.err_path = os.path.join(workdir, "live.err")
        self.err = open(self.err_path, "w")
        argv = list(prefix) + [sensor]
        for name in interfaces:
            argv += ["-i", name]
        argv += ["--filter", FILTER, "--db", ":memory:", "-o", self.events,
                 "--no-progress"] + list(extra)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.err)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_for(self, text, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if text in self.stderr():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def stop(self, seconds=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.err.close()
        return self.proc.returncode


def replay(capture):
    result = harness.run(["tcpreplay", "-i", "lo", "--topspeed", "-q", capture], timeout=120)
    return result


def summary_drops(text):
    m = re.search(r"capture lo: (\d+) packets, [\d.]+ MB; dropped by the kernel (\d+), "
                  r"by the interface (\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else None


def second_interface():
    """An interface other than lo that is up, or None."""
    for name in sorted(os.listdir("/sys/class/net")):
        try:
            with open("/sys/class/net/%s/operstate" % name) as f:
                state = f.read().strip()
        except OSError:
            continue
        if name != "lo" and state == "up":
            return name
    return None


def check_lo(sensor, shared, workdir, small_ring, twice=None, workers=None):
    failures = []
    capture = os.path.join(shared, CAPTURE)
    offline = os.path.join(workdir, "offline.jsonl")
    result = harness.run([sensor, "-r", capture, "--db", ":memory:", "-o", offline, "-q"])
    if result.returncode != 0:
        return ["offline run: %s" % result.describe()]
    extra = ["--stats-interval", "1"] + (["--buffer-size", "1M"] if small_ring else []) \
        + (["--immediate", "--snaplen", "4096"] if twice else []) \
        + (["--workers", workers] if workers else [])
    live = Live(sensor, workdir, extra, interfaces=("lo", twice) if twice else ("lo",))
    if not live.wait_for("capturing on lo"):
        live.stop()
        return ["the sensor did not start capturing on lo: %s" % live.stderr()]
    if small_ring:
        live.proc.send_signal(signal.SIGSTOP)
    replayed = replay(capture)
    if small_ring:
        for _ in range(3):  # fill the ring again and again while nobody reads it
            replay(capture)
        live.proc.send_signal(signal.SIGCONT)
    time.sleep(0.5)  # the ring hands over its last block within 100 ms
    harness.wait_idle(live.proc)
    rc = live.stop()
    text = live.stderr()
    if replayed.returncode != 0:
        failures.append("tcpreplay: %s: %s" % (replayed.describe(), replayed.stderr[-300:]))
    if rc != 0:
        failures.append("live run after SIGTERM: exit %s, expected 0: %s" % (rc, text[-500:]))
        return failures
    if "SIGTERM: stopping" not in text:
        failures.append("no log line for SIGTERM")
    drops = summary_drops(text)
    stats = final_stats(live.events)
    if drops is None:
        failures.append("the run summary has no 'capture lo: ... dropped by the kernel' line")
    if stats is None or "capture_kernel_drops" not in stats["counters"] \
            or "capture_interface_drops" not in stats["counters"]:
        failures.append("the final stats event lacks capture_kernel_drops/capture_interface_drops")
    if drops and stats and stats["counters"].get("capture_kernel_drops") != drops[1]:
        failures.append("kernel drops: summary %d, stats event %s"
                        % (drops[1], stats["counters"].get("capture_kernel_drops")))
    if small_ring:
        if drops and drops[1] == 0:
            failures.append("a 1 MiB ring left unread during 4 replays dropped nothing")
        print("drops: %d packets read, %d dropped by the kernel" % (drops[0], drops[1])
              if drops else "drops: no summary line")
        return failures
    if twice and not (re.search(r"^  capture lo: ", text, re.M)
                      and re.search(r"^  capture %s: " % re.escape(twice), text, re.M)):
        failures.append("-i lo -i %s: expected a 'capture' summary line for each" % twice)
    want, got = inventory(offline), inventory(live.events)
    if not want:
        failures.append("the offline run listed no endpoints")
    if want != got:
        failures.append("live inventory differs from the offline one: missing %s, extra %s"
                        % (sorted(want - got)[:5], sorted(got - want)[:5]))
    print("lo: %d endpoints live and offline; %s" % (len(got), drops))
    return failures


def check_snapshot(sensor, shared, workdir):
    capture = os.path.join(shared, CAPTURE)
    live = Live(sensor, workdir, ["--snapshot-interval", "1"])
    if not live.wait_for("capturing on lo"):
        live.stop()
        return ["the sensor did not start capturing on lo: %s" % live.stderr()]
    # two loops 1.5 s apart, the second with other client addresses (new
    # flows, the same endpoints)
    replayed = harness.run(["tcpreplay", "-i", "lo", "--topspeed", "-q", "--loop", "2",
                            "--loopdelay-ms", "1500", "--unique-ip", capture], timeout=120)
    time.sleep(0.5)
    harness.wait_idle(live.proc)
    with open(live.events) as f:
        events = [(harness.timestamp_us(e["@timestamp"]),
                   (e["endpoint"]["method"], e["endpoint"]["host"], e["endpoint"]["path"]))
                  for e in map(json.loads, f) if e.get("event") == "endpoint"]
    rc = live.stop()
    failures = []
    if replayed.returncode != 0:
        failures.append("tcpreplay: %s" % replayed.stderr[-300:])
    if rc != 0:
        failures.append("exit %s after SIGTERM: %s" % (rc, live.stderr()[-300:]))
    # endpoint events before SIGTERM, split at the pause between the loops:
    # every endpoint of the first loop must come again in the second, which
    # brings no new attribute for them: that is the periodic snapshot (the
    # final one comes only after SIGTERM)
    events.sort()
    cut = next((i for i in range(1, len(events)) if events[i][0] - events[i - 1][0] > 1000000),
               len(events))
    first = {key for _, key in events[:cut]}
    again = {key for _, key in events[cut:]}
    if not first or not first <= again:
        failures.append("%d endpoints in the first loop, %d of them written again in the "
                        "second" % (len(first), len(first & again)))
    print("snapshot: %d endpoints in the first loop, %d of them written again in the second "
          "(%d endpoint events before SIGTERM)" % (len(first), len(first & again), len(events)))
    return failures


def check_idle(sensor, workdir):
    failures = []
    for extra in ([], ["--workers", "2"]):
        live = Live(sensor, workdir, ["--stats-interval", "1"] + extra)
        if not live.wait_for("capturing on lo"):
            live.stop()
            failures.append("%s: the sensor did not start capturing on lo: %s"
                            % (extra, live.stderr()))
            continue
        time.sleep(3.5)
        with open(live.events) as f:
            stats = [e for e in map(json.loads, f) if e.get("event") == "stats"]
        rc = live.stop()
        if rc != 0:
            failures.append("%s: exit %s after SIGTERM: %s" % (extra, rc, live.stderr()[-300:]))
        if len(stats) < 2 or any(e.get("final") for e in stats):
            failures.append("%s: %d stats events in 3.5 s on a quiet link (want at least 2, "
                            "none final before SIGTERM)" % (extra, len(stats)))
        print("idle %s: %d stats events in 3.5 s without a packet" % (extra, len(stats)))
    return failures


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return None


def check_user(sensor, shared, workdir):
    failures = []
    capture = os.path.join(shared, CAPTURE)
    live = Live(sensor, workdir, ["--user", "nobody"])
    if not live.wait_for("running as user nobody"):
        live.stop()
        return ["--user nobody: no 'running as user nobody' line: %s" % live.stderr()]
    uids = proc_uid(live.proc.pid)
    if not uids or any(u != uids[0] or u == 0 for u in uids):
        failures.append("--user nobody: /proc says uids %s" % uids)
    replay(capture)
    time.sleep(0.5)
    harness.wait_idle(live.proc)
    rc = live.stop()
    if rc != 0:
        failures.append("--user nobody: exit %s: %s" % (rc, live.stderr()[-400:]))
    elif not inventory(live.events):
        failures.append("--user nobody: no endpoint seen after the drop")
    result = harness.run([sensor, "-i", "lo", "--db", ":memory:", "-o", os.devnull,
                          "--user", "no-such-user-apisensor"], timeout=30)
    if result.returncode != 1 or "no-such-user-apisensor" not in result.stderr:
        failures.append("--user no-such-user: %s, expected exit 1 naming the user: %s"
                        % (result.describe(), result.stderr.strip()))
    setpriv = shutil.which("setpriv")
    if setpriv:
        pcap = os.path.join(shared, "pcaps/edge/http-pipelined.pcap")
        result = harness.run([setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              sensor, "-r", pcap, "--db", ":memory:", "-o", os.devnull,
                              "--user", "daemon"], timeout=30)
        if result.returncode != 1 or "not running as root" not in result.stderr:
            failures.append("--user daemon as nobody: %s, expected exit 1 saying it is not "
                            "root: %s" % (result.describe(), result.stderr.strip()))
    return failures


def check_errors(sensor, shared, workdir):
    failures = []

    def expect(argv, code, words, what, prefix=()):
        result = harness.run(list(prefix) + [sensor] + argv + ["--db", ":memory:",
                                                                "-o", os.devnull], timeout=30)
        missing = [w for w in words if w not in result.stderr]
        if result.returncode != code or missing:
            failures.append("%s: %s, expected exit %d naming %s; stderr: %s"
                            % (what, result.describe(), code, missing, result.stderr.strip()))

    expect(["-i", "nosuchif0"], 2, ["nosuchif0", "no such interface"], "missing interface")
    expect(["-i", "lo", "--filter", "tcp port"], 2, ["tcp port", "filter"], "bad filter")
    setpriv = shutil.which("setpriv")
    if setpriv:
        expect(["-i", "lo"], 1, ["lo", "permission"], "no permission",
               [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all"])
    config = os.path.join(workdir, "bad.conf")
    with open(config, "w") as f:
        f.write("# a comment\nflow_max = 1000\nbuffer-size = 64M\nno_such_key = 1\n")
    expect(["-c", config, "-i", "lo"], 2, ["bad.conf:4", "no_such_key"], "bad config key")
    with open(config, "w") as f:
        f.write("buffer-size = lots\n")
    expect(["-c", config, "-i", "lo"], 2, ["bad.conf:1", "buffer-size"], "bad config value")
    spec = os.path.join(workdir, "spec.yaml")
    with open(spec, "w") as f:
        f.write("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n")
    os.chmod(spec, 0)
    os.chmod(workdir, 0o755)
    if setpriv:
        expect(["-r", os.path.join(shared, "pcaps/edge/http-pipelined.pcap"), "--spec", spec],
               2, [spec], "unreadable spec",
               [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
    expect(["-r", os.path.join(shared, "pcaps/edge/http-pipelined.pcap"), "--spec",
            spec + ".missing"], 2, [spec + ".missing"], "missing spec")
    return failures


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sensor, shared, case = sys.argv[1:]
    if not os.path.isfile(os.path.join(shared, CAPTURE)):
        harness.skip("live_" + case, "no %s under %s" % (CAPTURE, shared))
    if os.geteuid() != 0:
        harness.skip("live_" + case, "live capture on lo needs root")
    if case != "errors" and not shutil.which("tcpreplay"):
        harness.skip("live_" + case, "tcpreplay is not installed (scripts/install-deps.sh)")
    with harness.temporary_directory("live") as workdir:
        if case == "lo":
            failures = check_lo(sensor, shared, workdir, False)
        elif case == "two":
            other = second_interface()
            if not other:
                harness.skip("live_two", "no interface besides lo is up")
            failures = check_lo(sensor, shared, workdir, False, other)
        elif case == "drops":
            failures = check_lo(sensor, shared, workdir, True)
        elif case == "lo_workers":
            failures = check_lo(sensor, shared, workdir, False, workers="2")
        elif case == "drops_workers":
            failures = check_lo(sensor, shared, workdir, True, workers="2")
        elif case == "snapshot":
            failures = check_snapshot(sensor, shared, workdir)
        elif case == "idle":
            failures = check_idle(sensor, workdir)
        elif case == "user":
            failures = check_user(sensor, shared, workdir)
        elif case == "errors":
            failures = check_errors(sensor, shared, workdir)
        else:
            sys.exit("unknown case " + case)
    harness.finish("live_" + case, failures)


if __name__ == "__main__":
    main()
