#!/usr/bin/env python3
"""tls_test.py - the TLS scenario captures (../shared/pcaps/scenarios/tls)
through the apisensor binary, with and without their key logs.

  tls_test.py SENSOR SHARED_DIR

For mixed-tls12 and mixed-tls13:
  * with --keylog (a 0600 copy of NAME.keylog): exit 0 and exactly the
    requests of NAME.requests.jsonl (the generator's truth: client
    address, method, path, status, in order per connection), each with a
    "tls" object naming the version, the SNI and JA3/JA4 fingerprints;
    by default the credentials in the paths (api_key=..., access_token=...)
    are redacted, so the paths are compared without their query and no
    credential value of the truth may appear in the output; with
    --raw-identities the paths are compared whole;
  * without a key log: exit 0, no transaction, and the run summary counts
    every TLS flow with its SNI and a (SNI, JA4) pair;
  * a key log readable by other users (0644) is refused: exit 2 and a
    message naming the file.
Exit 0 pass, 1 fail, 77 skipped (no ../shared).
"""
import collections
import json
import os
import re
import shutil
import sys

import harness

CASES = {"mixed-tls12": "1.2", "mixed-tls13": "1.3"}
JA3 = re.compile(r"^[0-9a-f]{32}$")
JA4 = re.compile(r"^t1[23][di]\d{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$")


def per_connection(records):
    """client "ip:port" -> [(method, uri, status)] in order."""
    out = collections.defaultdict(list)
    for client, method, uri, status in records:
        out[client].append((method, uri, status))
    return out


def without_query(uri):
    return uri.split("?", 1)[0] if isinstance(uri, str) else uri


def credential_values(truth):
    """The values of credential query parameters in the truth's paths."""
    values = set()
    for r in truth:
        query = r["path"].partition("?")[2]
        for pair in query.split("&"):
            key, _, value = pair.partition("=")
            if key in ("api_key", "access_token", "token", "key") and len(value) >= 8:
                values.add(value)
    return values


def check_decrypted(name, version, truth, events, failures, whole=True):
    shown = (lambda uri: uri) if whole else without_query
    got = [("%s:%s" % (harness.field(e, "client.ip"), harness.field(e, "client.port")),
            harness.field(e, "http.method"), shown(harness.field(e, "http.uri")),
            harness.field(e, "http.status")) for e in events]
    want = [(r["client"], r["method"], shown(r["path"]), r["status"]) for r in truth]
    if len(got) != len(want):
        failures.append("%s: %d transactions, the truth has %d" % (name, len(got), len(want)))
    got_by, want_by = per_connection(got), per_connection(want)
    wrong = [c for c in want_by if got_by.get(c) != want_by[c]]
    extra = [c for c in got_by if c not in want_by]
    if wrong:
        c = wrong[0]
        failures.append("%s: %d connection(s) differ from the truth, first %s: %s != %s"
                        % (name, len(wrong), c, got_by.get(c, [])[:3], want_by[c][:3]))
    if extra:
        failures.append("%s: %d connection(s) not in the truth" % (name, len(extra)))
    bad = [e for e in events
           if not isinstance(e.get("tls"), dict) or e["tls"].get("version") != version
           or not e["tls"].get("sni") or not JA3.match(e["tls"].get("ja3") or "")
           or not JA4.match(e["tls"].get("ja4") or "")]
    if bad:
        failures.append("%s: %d transaction(s) without a complete tls object, first: %s"
                        % (name, len(bad), json.dumps(bad[0].get("tls"))))


def check_fingerprints_only(name, result, events, failures):
    if events:
        failures.append("%s without a key log: %d transactions, expected 0" % (name, len(events)))
    m = re.search(r"tls: (\d+) flows \((\d+) with SNI, (\d+) with a ClientHello", result.stderr)
    flows = re.search(r"flows (\d+) created", result.stderr)
    if not m or not flows:
        failures.append("%s without a key log: no tls line in the summary" % name)
        return
    if not (int(m.group(1)) == int(m.group(2)) == int(m.group(3)) == int(flows.group(1))):
        failures.append("%s without a key log: not every flow counted with SNI and hello: %s"
                        % (name, m.group(0)))
    pairs = re.findall(r"^\s+(\S+)\s+(t1[23]\S+)\s+(\d+)$", result.stderr, re.M)
    if sum(int(n) for _, _, n in pairs) != int(m.group(1)) or not all(JA4.match(j)
                                                                   for _, j, _ in pairs):
        failures.append("%s without a key log: (SNI, JA4) pairs do not cover every flow: %s"
                        % (name, pairs))
    if "no key log" not in result.stderr:
        failures.append("%s without a key log: the undecryptable reason is not reported" % name)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sensor, shared = sys.argv[1:]
    test = "tls"
    directory = os.path.join(shared, "pcaps", "scenarios", "tls")
    if not os.path.isdir(directory):
        harness.skip(test, "%s not found" % directory)
    failures = []
    with harness.temporary_directory(test) as workdir:
        for name, version in CASES.items():
            pcap = os.path.join(directory, name + ".pcap")
            keylog = os.path.join(workdir, name + ".keylog")
            shutil.copyfile(os.path.join(directory, name + ".keylog"), keylog)
            os.chmod(keylog, 0o600)
            with open(os.path.join(directory, name + ".requests.jsonl")) as f:
                truth = [json.loads(line) for line in f if line.strip()]

            secrets = credential_values(truth)
            if not secrets:
                failures.append("%s: the truth has no credential in a path to redact" % name)
            for raw in (False, True):
                extra = ["--keylog", keylog] + (["--raw-identities"] if raw else [])
                result, out = harness.run_on_capture(sensor, pcap, workdir, extra)
                print("$ %s\n-> %s" % (" ".join(result.argv), result.describe()))
                events, problems = harness.read_transactions(out)
                failures += ["%s: %s" % (name, p) for p in problems]
                if result.returncode != 0:
                    failures.append("%s: %s, expected exit status 0" % (name, result.describe()))
                check_decrypted(name, version, truth, events, failures, whole=raw)
                with open(out, errors="replace") as f:
                    text = f.read()
                leaked = [v for v in secrets if v in text]
                if not raw and leaked:
                    failures.append("%s: %d credential value(s) of the truth written raw, first %s"
                                    % (name, len(leaked), leaked[0][:24]))
                if raw and len(leaked) != len(secrets):
                    failures.append("%s --raw-identities: %d of %d credential values written"
                                    % (name, len(leaked), len(secrets)))

            result, out = harness.run_on_capture(sensor, pcap, workdir)
            print("$ %s\n-> %s" % (" ".join(result.argv), result.describe()))
            events, problems = harness.read_transactions(out)
            failures += problems
            if result.returncode != 0:
                failures.append("%s without a key log: %s" % (name, result.describe()))
            check_fingerprints_only(name, result, events, failures)

        os.chmod(keylog, 0o644)
        result, _ = harness.run_on_capture(sensor, pcap, workdir, ["--keylog", keylog])
        if result.returncode != 2 or keylog not in result.stderr:
            failures.append("a key log readable by others: %s, stderr %r (expected exit 2 and "
                            "a message naming it)" % (result.describe(), result.stderr[:200]))
    harness.finish(test, failures)


if __name__ == "__main__":
    main()
