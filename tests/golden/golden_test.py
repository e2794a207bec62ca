#!/usr/bin/env python3
"""golden_test.py - one golden case: the sensor's output (or format_samples'
output) must equal the expected files of tests/golden/<case>/ byte for byte.

  golden_test.py SENSOR FORMAT_SAMPLES SHARED_DIR CASE_DIR

CASE_DIR/case.json says what to run:
  {"capture": "pcaps/scenarios/x.pcap", "args": [...]}
      the sensor on SHARED_DIR/<capture> with --db :memory: and the args
      (@CASE_DIR@ and @SHARED_DIR@ in them name those directories);
      expected: events.jsonl (-o) and transactions.jsonl (--transactions)
  {"samples": "ecs"}
      format_samples with that format; expected: records.jsonl
With UPDATE_GOLDEN=1 in the environment the expected files are (re)written
from this run instead, and the test passes.
Exit 0 pass, 1 fail, 77 skipped (the capture is not there).
"""
import difflib
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sensor, samples, shared, case_dir = sys.argv[1:]
    name = "golden_" + os.path.basename(os.path.normpath(case_dir))
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    outputs = {}
    with tempfile.TemporaryDirectory(prefix="apisensor-golden.") as workdir:
        if "capture" in case:
            capture = os.path.join(shared, case["capture"])
            if not os.path.isfile(capture):
                print("%s: SKIP (%s not found)" % (name, capture))
                sys.exit(77)
            events = os.path.join(workdir, "events.jsonl")
            transactions = os.path.join(workdir, "transactions.jsonl")
            args = [a.replace("@CASE_DIR@", case_dir).replace("@SHARED_DIR@", shared)
                    for a in case.get("args", [])]
            argv = [sensor, "-q", "-r", capture, "--db", ":memory:", "-o", events,
                    "--transactions", transactions] + args
            run = subprocess.run(argv, stderr=subprocess.PIPE, timeout=120)
            if run.returncode != 0:
                print("%s: FAIL\n  - %s ended with %d: %s" % (name, " ".join(argv),
                                                            run.returncode, run.stderr.decode()))
                sys.exit(1)
            for path in (events, transactions):
                with open(path, "rb") as f:
                    outputs[os.path.basename(path)] = f.read()
        else:
            run = subprocess.run([samples, case["samples"]], stdout=subprocess.PIPE, timeout=60)
            if run.returncode != 0:
                print("%s: FAIL\n  - format_samples ended with %d" % (name, run.returncode))
                sys.exit(1)
            outputs["records.jsonl"] = run.stdout
    if os.environ.get("UPDATE_GOLDEN") == "1":
        for file_name, data in outputs.items():
            with open(os.path.join(case_dir, file_name), "wb") as f:
                f.write(data)
        print("%s: expected files rewritten (UPDATE_GOLDEN=1)" % name)
        sys.exit(0)
    failures = []
    for file_name, data in sorted(outputs.items()):
        path = os.path.join(case_dir, file_name)
        if not os.path.isfile(path):
            failures.append("%s missing (run with UPDATE_GOLDEN=1 to create it)" % path)
            continue
        with open(path, "rb") as f:
            expected = f.read()
        if expected != data:
            diff = difflib.unified_diff(expected.decode().splitlines(), data.decode().splitlines(),
                                        path, "this run", lineterm="", n=0)
            failures.append("%s differs:\n%s" % (file_name, "\n".join(list(diff)[:20])))
    if failures:
        print("%s: FAIL" % name)
        for failure in failures:
            print("  - " + failure)
        sys.exit(1)
    print("%s: PASS" % name)


if __name__ == "__main__":
    main()
