#!/usr/bin/env python3
"""configuration_doc_test.py - docs/configuration.md and packaging/apisensor.conf
cannot drift from the program (issue #7).

  configuration_doc_test.py SENSOR CONFIGURATION_MD EXAMPLE_CONF

From `apisensor --help` (generated from the settings table of app/options.c
and the limits of common/limits.h) it checks that:
  * every setting has a row in the settings table of the doc with its
    default, and every limit a row in the limits table with its default;
  * the doc lists no key the program does not know;
  * the example configuration names every setting and limit with its default
    and passes `apisensor -c EXAMPLE --check-config`.
Exit 0 pass, 1 fail.
"""
import re
import sys

import harness

SETTING = re.compile(r"^  (--)?([a-z_-]+)(?: (?:VALUE|N|SIZE|K=V))?\s+(\S+)\s+\S.*$")
LIMIT = re.compile(r"^  ([a-z0-9_]+)\s+(-?\d+)\s+\[-?\d+\.\.-?\d+\]\s+\S.*$")
ROW = re.compile(r"^\| `([a-z0-9_-]+)` \|(.*)$")


def from_help(text):
    settings, limits, section = {}, {}, None
    for line in text.splitlines():
        if line.startswith("Settings ("):
            section = "settings"
        elif line.startswith("Limits ("):
            section = "limits"
        elif section == "settings" and SETTING.match(line):
            m = SETTING.match(line)
            settings[m.group(2)] = m.group(3)
        elif section == "limits" and LIMIT.match(line):
            m = LIMIT.match(line)
            limits[m.group(1)] = m.group(2)
    return settings, limits


def doc_rows(text):
    """key -> cells of its table row, for the rows of the Settings and Limits sections."""
    rows, section = {"settings": {}, "limits": {}}, None
    for line in text.splitlines():
        if line.startswith("## "):
            section = {"## Settings": "settings", "## Limits": "limits"}.get(line.strip())
        m = ROW.match(line)
        if section and m:
            rows[section][m.group(1)] = [c.strip() for c in m.group(2).split("|")]
    return rows


def check(sensor, doc_path, example):
    failures = []
    result = harness.run([sensor, "--help"])
    if result.returncode != 0:
        return ["--help: %s" % result.describe()]
    settings, limits = from_help(result.stdout)
    if len(settings) < 30 or len(limits) < 50:
        return ["--help lists %d settings and %d limits: parsing failed" % (len(settings),
                                                                            len(limits))]
    rows = doc_rows(open(doc_path).read())
    for key, default in settings.items():
        row = rows["settings"].get(key)
        want = "-" if default == "-" else "`%s`" % default
        if row is None:
            failures.append("docs/configuration.md: no row for setting '%s'" % key)
        elif row[1] != want:
            failures.append("docs/configuration.md: setting '%s' default %s, --help says %s"
                            % (key, row[1], want))
    for key, default in limits.items():
        row = rows["limits"].get(key)
        if row is None:
            failures.append("docs/configuration.md: no row for limit '%s'" % key)
        elif row[0] != default:
            failures.append("docs/configuration.md: limit '%s' default %s, --help says %s"
                            % (key, row[0], default))
    for section, known in (("settings", settings), ("limits", limits)):
        for key in rows[section]:
            if key not in known:
                failures.append("docs/configuration.md: %s row '%s' is not in --help"
                                % (section, key))
    text = open(example).read()
    for key, default in list(settings.items()) + list(limits.items()):
        if default in ("-", "built-in"):
            pattern = r"^#? ?%s = " % re.escape(key)
        else:
            pattern = r"^# %s = %s\b" % (re.escape(key), re.escape(default))
        if not re.search(pattern, text, re.M):
            failures.append("%s: no '# %s = %s' line" % (example, key, default))
    result = harness.run([sensor, "-c", example, "--check-config"])
    if result.returncode != 0 or "is valid" not in result.stdout:
        failures.append("--check-config on %s: %s %s" % (example, result.describe(),
                                                          result.stderr.strip()))
    print("configuration_doc: %d settings and %d limits checked" % (len(settings), len(limits)))
    return failures


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    harness.finish("configuration_doc", check(*sys.argv[1:]))


if __name__ == "__main__":
    main()
