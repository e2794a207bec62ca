#!/usr/bin/env python3
"""config_test.py - the configuration file and --limit, end to end.

  config_test.py SENSOR SAMPLE_PCAP

  * a limit set in the file (-c) takes effect (flow_max = 16 evicts flows
    on the sample; the run summary says so);
  * the command line (--limit) wins over the file;
  * an unknown key or a bad value in the file exits 2 naming file:line;
  * --limit with an out-of-range value exits 2 naming the key.
Exit 0 pass, 1 fail.
"""
import os

import harness


def check_config(sensor, sample, workdir):
    failures = []
    config = os.path.join(workdir, "apisensor.conf")

    def run_with(lines, extra=()):
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        return harness.run([sensor, "-c", config, "-r", sample, "--db", ":memory:",
                            "-o", os.devnull] + list(extra))

    # flow_max at its minimum (16) forces evictions on the sample: visible in the summary
    result = run_with(["# comment line", "flow_max = 16   # trailing comment"])
    if result.returncode != 0:
        failures.append("config flow_max = 16: %s, expected 0" % result.describe())
    elif "evicted (flow_max) 0;" in result.stderr:
        failures.append("config flow_max = 16 did not take effect (no evictions in summary)")
    result = run_with(["flow_max = 16"], ["--limit", "flow_max=262144"])
    if result.returncode != 0 or "evicted (flow_max) 0;" not in result.stderr:
        failures.append("--limit flow_max=262144 did not win over the file: %s"
                        % result.describe())
    result = run_with(["flow_max = 1000", "no_such_key = 1"])
    if result.returncode != 2 or "apisensor.conf:2" not in result.stderr \
            or "no_such_key" not in result.stderr:
        failures.append("unknown config key: %s, expected exit 2 naming file:line and key"
                        % result.describe())
    result = run_with(["flow_max = lots"])
    if result.returncode != 2 or "apisensor.conf:1" not in result.stderr:
        failures.append("bad config value: %s, expected exit 2 naming file:line"
                        % result.describe())
    result = harness.run([sensor, "-r", sample, "--limit", "http_pipeline_depth=0"])
    if result.returncode != 2 or "http_pipeline_depth" not in result.stderr:
        failures.append("--limit http_pipeline_depth=0: %s, expected exit 2 naming the key"
                        % result.describe())
    return failures


if __name__ == "__main__":
    harness.sample_main("config", __doc__, check_config)
