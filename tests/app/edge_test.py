#!/usr/bin/env python3
"""edge_test.py - one crafted edge capture (../shared/pcaps/edge) through
the apisensor binary, checked against NAME.expected.json.

  edge_test.py SENSOR SHARED_DIR NAME

Runs `SENSOR -r NAME.pcap --db :memory: -o /dev/null --transactions OUT`
and requires:
  * no crash and exit status 0 (on every capture, damaged ones included);
  * every line of OUT a contract transaction event;
  * ../shared/tools/score-http-tx.py: every expected transaction found, none
    extra, every field the expected file gives (status, host, body lengths,
    version) right;
  * the `must` facts that can be checked mechanically:
    - flags_expected, with the edge README's generic words mapped to the
      contract's flag names (FLAG_NAMES below);
    - req_ts_first equal to the transaction's @timestamp (microseconds);
    - the 64 KB URI: reported whole (length and sha256 match) or as a
      prefix flagged truncated;
    - tcp-overlap-conflict (transactions with uri_if_last_wins): one
      overlap policy for the whole file, overlap_conflict on every flow;
    - snaplen-96 (acceptable_partial): nothing, or the partial transaction
      flagged truncated and without body sizes (host null: its bytes are
      beyond the snaplen);
    - pcap-truncated-record: a warning on stderr that the intact capture
      (capture-ends-mid-body, the same traffic) does not produce.
Exit 0 pass, 1 fail, 77 skipped (no ../shared).
"""
import hashlib
import json
import os
import re
import sys

import harness

# Generic words of pcaps/edge/README.md -> flags of CONTRACT.md; one of the
# names on the right satisfies the word on the left.
FLAG_NAMES = {
    "gap": {"request_gap", "response_gap"},
    "incomplete": {"incomplete"},
    "truncated": {"truncated", "head_truncated"},
    "rst": {"connection_reset"},
    "no_response": {"no_response"},
}
TRUNCATED = FLAG_NAMES["truncated"]
OVERLAP_FLAG = "overlap_conflict"

# Damaged capture -> the intact capture holding the same traffic.
DAMAGED_CAPTURES = {"pcap-truncated-record": "capture-ends-mid-body"}
WARNING_WORDS = re.compile(r"(?i)warn|error|truncat|damage|short|ends? early|cut")

# Fields of an expected transaction that are scored.
SCORED = ["method", "uri", "host", "status", "version", "req_body_len", "resp_body_len"]


def choose_reference(doc, flat):
    """The transactions this output is judged against (see the docstring),
    and whether they are the acceptable partial ones."""
    expected = [dict(t) for t in doc["transactions"]]
    partial = not expected and bool(flat) and bool(doc.get("acceptable_partial"))
    if partial:
        expected = [dict(t) for t in doc["acceptable_partial"]]
        for t in expected:
            # The Host line is cut by the snaplen ("Host: api.examp"): the
            # name is not in the capture, so an honest sensor reports null.
            t["host"] = None
    seen_uris = {f["uri"] for f in flat}
    if any(t.get("uri_if_last_wins") in seen_uris for t in expected):
        for t in expected:
            if "uri_if_last_wins" in t:
                t["uri"] = t["uri_if_last_wins"]
    return expected, partial


def score(shared, expected, flat, workdir):
    """score-http-tx.py on the expected transactions; returns failure messages."""
    reference = [{k: t.get(k) for k in harness.CONNECTION + SCORED} for t in expected]
    scored = harness.score(shared, reference, flat, workdir)
    if scored is None:
        return ["score-http-tx.py failed"]
    missed, extra, diffs = scored
    failures = ["field differs: " + d for d in diffs]
    if missed:
        failures.insert(0, "%d expected transaction(s) missed" % missed)
    if extra:
        failures.insert(0, "%d extra transaction(s) reported" % extra)
    return failures


def check_facts(expected, partial, events, flat):
    """The per-transaction `must` facts; returns failure messages."""
    failures = []
    pairs = harness.pair(expected, flat)
    for i, want in enumerate(expected):
        if i not in pairs:
            continue
        got, event = flat[pairs[i]], events[pairs[i]]
        label = "%s %s" % (want["method"], (want["uri"] or want.get("uri_prefix", ""))[:60])
        have = harness.flags(event)
        for word in want.get("flags_expected", []):
            if not have & FLAG_NAMES[word]:
                failures.append("%s: flags %s lack %s (any of %s)"
                                % (label, sorted(have), word, sorted(FLAG_NAMES[word])))
        if "req_ts_first" in want:
            stamp = harness.timestamp_us(event.get("@timestamp"))
            if stamp != harness.epoch_text_us(want["req_ts_first"]):
                failures.append("%s: @timestamp %s, expected the first request packet's time %s"
                                % (label, event.get("@timestamp"), want["req_ts_first"]))
        if "uri_sha256" in want:
            failures += check_long_uri(label, want, got["uri"], have)
        if "uri_if_last_wins" in want and OVERLAP_FLAG not in have:
            failures.append("%s: conflicting overlap not flagged %s (flags %s)"
                            % (label, OVERLAP_FLAG, sorted(have)))
        if partial:
            for key in ("req_body_len", "resp_body_len"):
                if got[key] is not None:
                    failures.append("%s: partial transaction carries %s %r, expected null"
                                    % (label, key, got[key]))
    return failures


def check_long_uri(label, want, uri, have):
    if not isinstance(uri, str) or not uri:
        return ["%s: no uri reported" % label]
    if len(uri) == want["uri_len"]:
        if hashlib.sha256(uri.encode("utf-8", "replace")).hexdigest() != want["uri_sha256"]:
            return ["%s: full-length uri with wrong content (sha256 differs)" % label]
        return []
    failures = []
    prefix = want["uri_prefix"]
    if uri[:len(prefix)] != prefix[:len(uri)]:
        failures.append("%s: truncated uri %r does not start like the real one" % (label, uri[:60]))
    if not have & TRUNCATED:
        failures.append("%s: uri cut to %d of %d bytes without a truncated flag (flags %s)"
                        % (label, len(uri), want["uri_len"], sorted(have)))
    return failures


def normalised_lines(text, capture):
    """stderr lines with the capture's name and all digits masked."""
    stem = os.path.basename(capture).rsplit(".", 1)[0]
    lines = set()
    for line in text.splitlines():
        line = line.replace(capture, "CAPTURE").replace(stem, "CAPTURE")
        lines.add(re.sub(r"\d+", "#", line).strip())
    return lines


def check_damage_warning(sensor, edge_dir, name, capture, result, workdir):
    intact_doc = os.path.join(edge_dir, DAMAGED_CAPTURES[name] + ".expected.json")
    with open(intact_doc) as f:
        intact = os.path.join(edge_dir, json.load(f)["file"])
    os.makedirs(os.path.join(workdir, "intact"))
    baseline, _ = harness.run_on_capture(sensor, intact, os.path.join(workdir, "intact"))
    usual = normalised_lines(baseline.stderr, intact)
    news = [line for line in normalised_lines(result.stderr, capture)
            if line not in usual and WARNING_WORDS.search(line)]
    if news:
        print("damage reported on stderr: %s" % news[0])
        return []
    return ["no warning on stderr about the damaged last record (compared with %s)"
            % os.path.basename(intact)]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sensor, shared, name = sys.argv[1:]
    test = "edge " + name
    edge_dir = os.path.join(shared, "pcaps", "edge")
    doc_path = os.path.join(edge_dir, name + ".expected.json")
    if not os.path.isdir(edge_dir):
        harness.skip(test, "%s not found" % edge_dir)
    with open(doc_path) as f:
        doc = json.load(f)
    capture = os.path.join(edge_dir, doc["file"])
    print("%s: %s" % (doc["file"], doc["what"]))

    with harness.temporary_directory("edge") as workdir:
        result, events, flat, failures = harness.analyse(sensor, capture, workdir)
        print("stderr:\n" + "\n".join("  | " + line for line in result.stderr.splitlines()[-15:]))
        expected, partial = choose_reference(doc, flat)
        failures += score(shared, expected, flat, workdir)
        failures += check_facts(expected, partial, events, flat)
        if name in DAMAGED_CAPTURES:
            failures += check_damage_warning(sensor, edge_dir, name, capture, result, workdir)
    harness.finish(test, failures)


if __name__ == "__main__":
    main()
