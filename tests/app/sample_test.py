#!/usr/bin/env python3
"""sample_test.py - the bundled sample capture against its generator truth.

  sample_test.py SENSOR SHARED_DIR SAMPLE_PCAP TRUTH_JSONL

samples/api-sample.pcap was written by gen-bench-pcap, which also wrote the
truth: every transaction whose response was completely sent.  The capture
stops mid-flow, so the sensor may report more transactions than the truth
(requests cut short, responses without their end), but each of those must
carry a flag.  Requires exit status 0, every truth transaction found with
all its fields right (score-http-tx.py), and a flag on every extra one.
Exit 0 pass, 1 fail, 77 skipped (no ../shared for the scorer).
"""
import json
import os
import sys

import harness


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sensor, shared, sample, truth_path = sys.argv[1:]
    test = "sample"
    if not os.path.isfile(os.path.join(shared, "tools", "score-http-tx.py")):
        harness.skip(test, "%s/tools/score-http-tx.py not found" % shared)
    with open(truth_path) as f:
        truth = [json.loads(line) for line in f if line.strip()]

    with harness.temporary_directory("sample") as workdir:
        _, events, flat, failures = harness.analyse(sensor, sample, workdir)
        scored = harness.score(shared, truth, flat, workdir)
        if scored is None:
            failures.append("score-http-tx.py failed")
        else:
            missed, _, diffs = scored
            if missed:
                failures.append("%d of %d truth transactions missed" % (missed, len(truth)))
            failures += ["field differs: " + d for d in diffs]
        paired = set(harness.pair(truth, flat).values())
        unflagged = [flat[j] for j in range(len(flat))
                     if j not in paired and not harness.flags(events[j])]
        if unflagged:
            failures.append("%d transaction(s) beyond the truth carry no flag, first: %s %s"
                            % (len(unflagged), unflagged[0]["method"], unflagged[0]["uri"]))
    harness.finish(test, failures)


if __name__ == "__main__":
    main()
