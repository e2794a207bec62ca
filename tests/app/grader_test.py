#!/usr/bin/env python3
"""grader_test.py - the real-capture grader as a test.

  grader_test.py SENSOR SHARED_DIR [MIN]

Runs `SHARED_DIR/tools/score-transactions SENSOR SHARED_DIR/pcaps/real`
(59 third-party captures, tshark references) and passes only when its last
line shows R >= MIN and P >= MIN (default 0.995) and crashed=0.
Exit 0 pass, 1 fail, 77 skipped (no ../shared).
"""
import os
import re
import subprocess
import sys

import harness

LAST_LINE = re.compile(r"^transactions: R=([0-9.]+) P=([0-9.]+) .*\bcrashed=(\d+)\s*$")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    sensor, shared = sys.argv[1:3]
    minimum = float(sys.argv[3]) if len(sys.argv) == 4 else 0.995
    test = "real-capture grader"
    grader = os.path.join(shared, "tools", "score-transactions")
    real = os.path.join(shared, "pcaps", "real")
    if not os.path.isfile(grader) or not os.path.isdir(real):
        harness.skip(test, "%s or %s not found" % (grader, real))

    argv = [sys.executable, grader, sensor, real]
    print("$ " + " ".join(argv), flush=True)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    text = p.stdout.decode("utf-8", "replace")
    print(text.rstrip())
    lines = text.strip().splitlines()
    m = LAST_LINE.match(lines[-1]) if lines else None
    if not m:
        harness.finish(test, ["score-transactions (exit status %d) printed no summary line"
                              % p.returncode])
    recall, precision, crashed = float(m.group(1)), float(m.group(2)), int(m.group(3))
    failures = []
    if recall < minimum:
        failures.append("recall %.3f < %.3f" % (recall, minimum))
    if precision < minimum:
        failures.append("precision %.3f < %.3f" % (precision, minimum))
    if crashed:
        failures.append("the sensor crashed or timed out on %d capture(s)" % crashed)
    if failures:
        failures.append("details per record: %s -v" % " ".join(argv[1:]))
    harness.finish(test, failures)


if __name__ == "__main__":
    main()
