#!/usr/bin/env python3
"""selftest.py - the end-to-end harness tested against fake_sensor.py.

  selftest.py SHARED_DIR SAMPLE_PCAP SAMPLE_TRUTH

A fake sensor that replays the right answers must pass every test; the
same fake with one fault injected (FAKE_SENSOR_FAULT) must make the test
meant to catch that fault report FAIL.  Guards the harness against checks
that can never fail, or never pass.
Exit 0 pass, 1 fail, 77 skipped (no ../shared).
"""
import glob
import os
import subprocess
import sys

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake_sensor.py")

# (test script, its arguments after SENSOR, fault) that must FAIL; SHARED,
# SAMPLE and TRUTH stand for the paths given on the command line.
FAULTS = [
    ("edge_test.py", ["SHARED", "http-api-mix"], "drop_last"),
    ("edge_test.py", ["SHARED", "tcp-retransmissions"], "wrong_body"),
    ("edge_test.py", ["SHARED", "tcp-gap-in-body"], "no_flags"),
    ("edge_test.py", ["SHARED", "tcp-overlap-conflict"], "no_flags"),
    ("edge_test.py", ["SHARED", "http-long-url-and-header"], "no_flags"),
    ("edge_test.py", ["SHARED", "linktype-null-loopback"], "late_timestamp"),
    ("edge_test.py", ["SHARED", "pcap-truncated-record"], "no_warning"),
    ("edge_test.py", ["SHARED", "ipv6"], "crash"),
    ("grader_test.py", ["SHARED"], "drop_tenth"),
    ("sample_test.py", ["SHARED", "SAMPLE", "TRUTH"], "wrong_body"),
    ("cli_test.py", ["SAMPLE"], "nondeterministic"),
]

def verdict(script, args, fault):
    """Runs one harness script on the fake sensor: 'PASS', 'FAIL' or what went wrong."""
    env = dict(os.environ, FAKE_SENSOR_FAULT=fault)
    p = subprocess.run([sys.executable, os.path.join(HERE, script), FAKE] + args,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env)
    text = p.stdout.decode("utf-8", "replace")
    last = text.strip().splitlines()[-1] if text.strip() else ""
    if p.returncode == harness.PASS and last.endswith(": PASS"):
        return "PASS", text
    if p.returncode == harness.FAIL and ": FAIL" in text:
        return "FAIL", text
    return "exit status %d" % p.returncode, text


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    shared, sample, truth = sys.argv[1:]
    edge_dir = os.path.join(shared, "pcaps", "edge")
    if not os.path.isdir(edge_dir):
        harness.skip("harness selftest", "%s not found" % edge_dir)

    paths = {"SHARED": shared, "SAMPLE": sample, "TRUTH": truth}
    clean = [("edge_test.py", ["SHARED", os.path.basename(p)[:-len(".expected.json")]])
             for p in sorted(glob.glob(os.path.join(edge_dir, "*.expected.json")))]
    clean += [("grader_test.py", ["SHARED"]), ("sample_test.py", ["SHARED", "SAMPLE", "TRUTH"]),
              ("cli_test.py", ["SAMPLE"])]
    runs = [(script, args, "") for script, args in clean] + FAULTS
    failures = []
    for script, args, fault in runs:
        got, text = verdict(script, [paths.get(a, a) for a in args], fault)
        want = "FAIL" if fault else "PASS"
        print("%-15s %-30s %-17s -> %s" % (script, " ".join(a for a in args if a != "SHARED"),
                                            fault or "no fault", got))
        if got != want:
            failures.append("%s %s with fault %r: %s, expected %s\n%s"
                            % (script, " ".join(args), fault, got, want, text))
    harness.finish("harness selftest", failures)


if __name__ == "__main__":
    main()
