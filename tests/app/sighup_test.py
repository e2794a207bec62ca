#!/usr/bin/env python3
"""sighup_test.py - SIGHUP reloads the configuration file and the spec while
the sensor runs, keeping its state (issue #7).

  sighup_test.py SENSOR SHARED [WORKERS]

With WORKERS, the sensor runs with --workers WORKERS (the spec is then
swapped on the model thread while the workers parse).

The sensor reads a capture from a pipe that stays open (-r -): first
normal.pcap with a spec that declares nothing (every endpoint shadow).
Then, in turn:
  * a broken spec and SIGHUP: an error names the file, the running spec is kept;
  * the scenario spec (openapi.yaml), a changed stats-interval and a
    brute_force_min_failures out of reach in the config file, SIGHUP: a log
    line says the new spec is in force, another that stats-interval takes
    effect at the next start; the threshold applies at once (mixed.pcap's
    brute-force attack then raises no finding), and so does a credential
    name (Content-Type made an API key header: JSON requests show
    api_key_header);
then mixed.pcap goes down the same pipe and the pipe is closed. At the end
every endpoint of the first part is still in the inventory, and every
endpoint of the second part has the status and template the scenario spec
gives it (as an offline run with that spec says).
Exit 0 pass, 1 fail, 77 skipped (no ../shared).
"""
import json
import os
import signal
import subprocess
import sys
import time

import harness

EMPTY_SPEC = "openapi: 3.0.3\ninfo: {title: empty, version: '1'}\npaths: {}\n"


def endpoints(path):
    """(method, host, path) -> status, from the endpoint events (the last one wins)."""
    return {key: event["status"] for key, event in harness.last_endpoint_events(path).items()}


def read_bytes(pid):
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    return 0


def wait_until(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def check(sensor, shared, workdir, extra):
    failures = []
    normal = os.path.join(shared, "pcaps/scenarios/normal.pcap")
    mixed = os.path.join(shared, "pcaps/scenarios/mixed.pcap")
    scenario_spec = os.path.join(shared, "pcaps/scenarios/openapi.yaml")
    spec = os.path.join(workdir, "spec.yaml")
    config = os.path.join(workdir, "apisensor.conf")
    with open(spec, "w") as f:
        f.write(EMPTY_SPEC)
    with open(config, "w") as f:
        f.write("spec = %s\nstats-interval = 60\ndb = :memory:\n" % spec)

    # what the two parts give offline
    want = {}
    for name, capture, spec_text in (("first", normal, EMPTY_SPEC), ("second", mixed, None)):
        out = os.path.join(workdir, name + ".jsonl")
        spec_path = os.path.join(workdir, name + "-spec.yaml")
        with open(spec_path, "w") as f:
            f.write(spec_text if spec_text else open(scenario_spec).read())
        result = harness.run([sensor, "-r", capture, "--spec", spec_path, "--db", ":memory:",
                              "-o", out, "-q"])
        if result.returncode != 0:
            return ["offline run on %s: %s" % (capture, result.describe())]
        want[name] = endpoints(out)

    events = os.path.join(workdir, "live.jsonl")
    err_path = os.path.join(workdir, "live.err")
    with open(err_path, "w") as err:
        proc = subprocess.Popen([sensor, "-c", config, "-r", "-", "-o", events, "--no-progress"]
                                + extra, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)

    def stderr():
        with open(err_path) as f:
            return f.read()

    def feed(data):
        before = read_bytes(proc.pid)
        proc.stdin.write(data)
        proc.stdin.flush()
        # the sensor has read it all, then analysed it (its CPU time stops growing)
        if not wait_until(lambda: read_bytes(proc.pid) - before >= len(data), 60):
            failures.append("the sensor did not read %d bytes from the pipe" % len(data))
        harness.wait_idle(proc)

    def hup(text):
        proc.send_signal(signal.SIGHUP)
        if not wait_until(lambda: text in stderr(), 30):
            failures.append("no log line '%s' after SIGHUP: %s" % (text, stderr()[-400:]))

    try:
        feed(open(normal, "rb").read())
        with open(spec, "w") as f:
            f.write("openapi: 3.0.3\npaths: [unclosed\n")
        hup("keeping the running configuration and spec")
        if spec not in stderr():
            failures.append("the broken spec error does not name %s" % spec)
        with open(spec, "w") as f:
            f.write(open(scenario_spec).read())
        with open(config, "w") as f:
            f.write("spec = %s\nstats-interval = 30\ndb = :memory:\n"
                    "brute_force_min_failures = 100000\n"
                    "api_key_headers = +Content-Type\n" % spec)
        hup("in force; inventory, analytics and flows kept")
        if "'stats-interval' changed; it takes effect at the next start" not in stderr():
            failures.append("no line saying stats-interval takes effect at the next start")
        if "'brute_force_min_failures' changed" in stderr():
            failures.append("a detector threshold was not applied live")
        if "'api_key_headers' changed" in stderr():
            failures.append("a credential setting was not applied live")
        feed(open(mixed, "rb").read()[24:])  # the records, after the file header
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        return failures + ["exit %d: %s" % (proc.returncode, stderr()[-600:])]
    if "spec reloads: 1 taken" not in stderr():
        failures.append("the run summary does not count 1 spec reload taken")
    if "detector threshold and credential setting reloads: 1" not in stderr():
        failures.append("the run summary does not count 1 settings reload")
    # mixed.pcap holds a brute-force attack (its label); the reloaded
    # threshold is out of its reach
    with open(events) as f:
        brute = [e for e in map(json.loads, f) if e.get("event") == "finding"
                 and e["finding"]["type"] == "brute_force"]
    if brute:
        failures.append("brute_force raised after its threshold was reloaded to 100000")
    # Content-Type as an API key header (a setting no real deployment wants,
    # but visible): the second part's JSON requests now carry an api key
    with open(events) as f:
        keyed = [e for e in map(json.loads, f) if e.get("event") == "endpoint"
                 and "api_key_header" in (e.get("auth") or [])]
    if not keyed:
        failures.append("api_key_headers reloaded with Content-Type: no endpoint shows "
                        "api_key_header")
    got = endpoints(events)
    lost = sorted(k for k in want["first"] if k not in got)
    if lost:
        failures.append("endpoints of the first part lost after the reload: %s" % lost[:5])
    wrong = sorted((k, v, got.get(k)) for k, v in want["second"].items() if got.get(k) != v)
    if wrong:
        failures.append("endpoints of the second part not classified with the new spec "
                        "(endpoint, expected, got): %s" % wrong[:5])
    declared = sum(1 for v in want["second"].values() if v in ("declared", "zombie"))
    if not declared:
        failures.append("the scenario spec declares none of the second part's endpoints")
    print("sighup: %d endpoints kept from the first part, %d of the second part classified "
          "with the new spec (%d declared or zombie)"
          % (len(want["first"]), len(want["second"]), declared))
    return failures


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sensor, shared = sys.argv[1:3]
    extra = ["--workers", sys.argv[3]] if len(sys.argv) == 4 else []
    if not os.path.isfile(os.path.join(shared, "pcaps/scenarios/openapi.yaml")):
        harness.skip("sighup", "no pcaps/scenarios under %s" % shared)
    with harness.temporary_directory("sighup") as workdir:
        failures = check(sensor, shared, workdir, extra)
    harness.finish("sighup", failures)


if __name__ == "__main__":
    main()
