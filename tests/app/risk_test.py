"""risk_test.py - nDPI's risks as findings (issue #4): injection_attempt from
nDPI's URL check on every request, suspicious_user_agent from nDPI's flow
risks, on a synthetic capture and on real captures; and none on the normal
scenario traffic.

usage: risk_test.py SENSOR SHARED_DIR
"""
import json
import os
import sys

import harness
import pcapgen

NAME = "app_risks"


def findings(sensor, capture, failures):
    argv = [sensor, "-r", capture, "--db", ":memory:", "-q"]
    result = harness.run(argv)
    print("$ %s\n-> %s" % (" ".join(argv), result.describe()))
    if result.returncode != 0:
        failures.append("%s: %s" % (capture, result.describe()))
        return []
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [e for e in events if e.get("event") == "finding"]


def last_of(events, kind):
    """The latest event of each finding id of this type."""
    latest = {}
    for e in events:
        if e["finding"]["type"] == kind:
            latest[e["finding"]["id"]] = e
    return list(latest.values())


def synthetic(path):
    cap = pcapgen.Capture()
    server = ("10.0.0.9", 80)
    ok = pcapgen.json_response(200, b'{"id":1}')
    # a keep-alive connection whose first request is ordinary: nDPI's own
    # dissector only sees that one, so the later payloads need the per-request check
    cap.connection(("10.0.0.66", 40001), server, [
        (pcapgen.get("/api/items/1"), ok),
        (pcapgen.get("/api/items?id=1'%20OR%201=1--"), pcapgen.json_response(400)),
        (pcapgen.get("/api/items?q=<script>alert(1)</script>"), ok),
        (pcapgen.get("/static/..%2f../etc/passwd?x=1&f=../../etc/passwd"),
         pcapgen.json_response(404)),
    ])
    # sqlmap's default user agent on its own connection (nDPI 4.2 flags user
    # agents that carry a URL, a "<?" or braces, or are shorter than 4 bytes)
    cap.connection(("10.0.0.77", 40002), server, [
        (pcapgen.get("/api/items/2", headers=[("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")]), ok),
        (pcapgen.get("/api/items/3", headers=[("User-Agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")]), ok),
    ])
    # ordinary callers: apostrophes in names, dotted file names, curl
    cap.connection(("10.0.0.5", 40003), server, [
        (pcapgen.get("/api/people?name=O%27Brien&email=a%40b.example",
                     headers=[("User-Agent", "curl/8.1.2")]), ok),
        (pcapgen.get("/api/files/report.v1..final"), ok),
    ])
    cap.write(path)


def check_synthetic(sensor, workdir, failures):
    path = os.path.join(workdir, "risks.pcap")
    synthetic(path)
    events = findings(sensor, path, failures)
    injections = last_of(events, "injection_attempt")
    if len(injections) != 1:
        failures.append("synthetic: %d injection_attempt findings, expected 1" % len(injections))
    else:
        f = injections[0]
        ev = f.get("evidence", {})
        if f.get("client", {}).get("ip") != "10.0.0.66":
            failures.append("synthetic: injection actor %r, expected 10.0.0.66" % f.get("client"))
        if f["finding"]["count"] != 3:
            failures.append("synthetic: injection count %r, expected 3" % f["finding"]["count"])
        if sorted(ev.get("kinds", [])) != ["path_traversal", "sql_injection", "xss"]:
            failures.append("synthetic: injection kinds %r" % ev.get("kinds"))
        if ev.get("answered_2xx") != 1 or f["finding"]["severity"] != "high":
            failures.append("synthetic: one XSS answered 200 should make it high: %r" % ev)
        if f["finding"].get("owasp") != "API8:2023":
            failures.append("synthetic: owasp %r" % f["finding"].get("owasp"))
    agents = last_of(events, "suspicious_user_agent")
    if len(agents) != 1:
        failures.append("synthetic: %d suspicious_user_agent findings, expected 1" % len(agents))
    else:
        f = agents[0]
        if f.get("client", {}).get("ip") != "10.0.0.77" or f["finding"]["count"] != 2:
            failures.append("synthetic: user agent finding %r" % f["finding"])
        if f.get("evidence", {}).get("user_agents") != ["sqlmap/1.7.2#stable (https://sqlmap.org)"]:
            failures.append("synthetic: user agents %r" % f.get("evidence"))
    for e in events:
        if e.get("client", {}).get("ip") == "10.0.0.5":
            failures.append("synthetic: the ordinary caller got a %s finding"
                            % e["finding"]["type"])


def check_real(sensor, shared, failures):
    real = os.path.join(shared, "pcaps", "real")
    log4j = findings(sensor, os.path.join(real, "ndpi-log4j-webapp-exploit.pcap"), failures)
    agents = last_of(log4j, "suspicious_user_agent")
    if not agents or not any("jndi:ldap://" in ua for f in agents
                             for ua in f.get("evidence", {}).get("user_agents", [])):
        failures.append("log4j capture: no suspicious_user_agent naming the jndi payload")
    traversal = findings(sensor, os.path.join(real, "zeek-tcp-fast-open.pcap"), failures)
    kinds = [k for f in last_of(traversal, "injection_attempt")
             for k in f.get("evidence", {}).get("kinds", [])]
    if "path_traversal" not in kinds:
        failures.append("zeek-tcp-fast-open (page=../../../etc/passwd): no path_traversal")
    normal = findings(sensor, os.path.join(shared, "pcaps", "scenarios", "normal.pcap"), failures)
    for e in normal:
        if e["finding"]["type"] in ("injection_attempt", "suspicious_user_agent"):
            failures.append("normal scenario: %s finding %s" % (e["finding"]["type"],
                                                                e["finding"]["summary"]))


def main():
    sensor, shared = sys.argv[1], sys.argv[2]
    if not os.path.isdir(os.path.join(shared, "pcaps")):
        harness.skip(NAME, "no %s/pcaps" % shared)
    failures = []
    with harness.temporary_directory("risks") as workdir:
        check_synthetic(sensor, workdir, failures)
    check_real(sensor, shared, failures)
    harness.finish(NAME, failures)


if __name__ == "__main__":
    main()
