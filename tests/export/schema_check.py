#!/usr/bin/env python3
"""schema_check.py - the ECS, OCSF and Splunk HEC shapes against their
schemas, on real output: the sensor's transaction and stats events for a
capture, and format_samples' endpoint, finding and stats events.

  schema_check.py SENSOR FORMAT_SAMPLES SHARED_DIR FORMAT CAPTURE

ecs:    every field outside "apisensor" (flattened to its dotted name) is in
        SHARED_DIR/notes/ecs/fields.csv, and its value has that field's type.
ocsf:   the class follows from class_uid; every attribute exists in the class
        (base event, category class and class, without profiles) or, nested,
        in the object its dictionary type names, with the dictionary's type;
        every required attribute of the class and of each object is present;
        class_uid = category_uid * 1000 + class uid, type_uid = class_uid *
        100 + activity_id, activity_id from the class's enum.
splunk: the HEC envelope: exactly time (number), host, source, sourcetype
        (strings) and event (object).
Exit 0 pass, 1 fail, 77 skipped (no schema files, no capture).
"""
import csv
import glob
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile

DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# ---------------------------------------------------------------- ECS

def ecs_fields(shared):
    with open(os.path.join(shared, "notes", "ecs", "fields.csv"), newline="") as f:
        return {row["Field"]: row["Type"] for row in csv.DictReader(f)}


def ecs_value_ok(kind, value):
    if kind in ("keyword", "wildcard", "match_only_text", "text", "constant_keyword"):
        return isinstance(value, str)
    if kind in ("long", "integer", "short", "byte", "unsigned_long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double", "scaled_float", "half_float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and DATE.match(value) is not None
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except (ValueError, TypeError):
            return False
    return kind in ("object", "flattened", "nested")


def check_ecs(event, fields, where, problems):
    def walk(prefix, value):
        if prefix == "apisensor":
            return
        kind = fields.get(prefix)
        if isinstance(value, dict) and kind not in ("object", "flattened", "nested"):
            for key, inner in value.items():
                walk(prefix + "." + key if prefix else key, inner)
            return
        if kind is None:
            problems.append("%s: %s is not an ECS 9.4 field" % (where, prefix))
            return
        for item in value if isinstance(value, list) else [value]:
            if item is not None and not ecs_value_ok(kind, item):
                problems.append("%s: %s = %r is not of ECS type %s" % (where, prefix, item, kind))
    walk("", event)
    for key in ("@timestamp", "ecs", "event", "observer"):
        if key not in event:
            problems.append("%s: no %s" % (where, key))


# ---------------------------------------------------------------- OCSF

class Ocsf:
    def __init__(self, shared):
        self.root = os.path.join(shared, "notes", "ocsf")
        with open(os.path.join(self.root, "dictionary.json")) as f:
            dictionary = json.load(f)
        self.dictionary = dictionary["attributes"]
        self.types = dictionary["types"]["attributes"]
        with open(os.path.join(self.root, "categories.json")) as f:
            self.categories = {v["uid"]: k for k, v in json.load(f)["attributes"].items()}
        self.events = {}
        for path in glob.glob(os.path.join(self.root, "events", "**", "*.json"), recursive=True):
            with open(path) as f:
                definition = json.load(f)
            self.events[definition.get("name", os.path.basename(path)[:-5])] = definition

    def _merge(self, chain):
        attributes = {}
        for definition in chain:
            for key, value in definition.get("attributes", {}).items():
                if key != "$include":
                    attributes.setdefault(key, {}).update(value)
        return attributes

    def event_class(self, class_uid):
        """(definition chain, merged attributes) of the class with that uid."""
        for name, definition in self.events.items():
            if "uid" not in definition and name != "base_event":
                continue
            category = definition.get("category")
            chain = [definition]
            while chain[-1].get("extends"):
                chain.append(self.events[chain[-1]["extends"]])
                category = category or chain[-1].get("category")
            uid = definition.get("uid", 0)
            category_uid = 0
            for cuid, cname in self.categories.items():
                if cname == category:
                    category_uid = cuid
            if name == "base_event":
                category_uid, uid = 0, 0
            if category_uid * 1000 + uid == class_uid:
                return definition, category_uid, self._merge(reversed(chain))
        return None, None, None

    def object_attributes(self, name):
        chain = []
        while name:
            with open(os.path.join(self.root, "objects", name + ".json")) as f:
                definition = json.load(f)
            chain.append(definition)
            name = definition.get("extends")
        return self._merge(reversed(chain))

    def is_object(self, kind):
        return kind not in self.types and kind != "object" and \
            os.path.isfile(os.path.join(self.root, "objects", "%s.json" % kind))

    def base_type(self, kind):
        while kind in self.types and self.types[kind].get("type"):
            kind = self.types[kind]["type"]
        return kind

    def value_ok(self, kind, value):
        base = self.base_type(kind)
        if base == "string_t":
            return isinstance(value, str)
        if base in ("integer_t", "long_t"):
            return isinstance(value, int) and not isinstance(value, bool)
        if base == "float_t":
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if base == "boolean_t":
            return isinstance(value, bool)
        return True  # json_t, object

    def check_object(self, value, attributes, path, problems):
        if not isinstance(value, dict):
            problems.append("%s is not an object" % path)
            return
        for key, inner in value.items():
            where = path + "." + key
            if key not in attributes:
                problems.append("%s is not an attribute here" % where)
                continue
            entry = self.dictionary.get(key, {})
            kind = entry.get("type")
            if entry.get("is_array") and not isinstance(inner, list):
                problems.append("%s must be an array" % where)
                continue
            for item in inner if isinstance(inner, list) else [inner]:
                if item is None:
                    continue
                if self.is_object(kind):
                    self.check_object(item, self.object_attributes(kind), where, problems)
                elif not self.value_ok(kind, item):
                    problems.append("%s = %r is not of type %s" % (where, item, kind))
        for key, spec in attributes.items():
            if spec.get("requirement") == "required" and key not in value:
                problems.append("%s: required attribute %s missing" % (path, key))


def check_ocsf(event, ocsf, where, problems):
    definition, category_uid, attributes = ocsf.event_class(event.get("class_uid"))
    if definition is None:
        problems.append("%s: class_uid %r is no OCSF 1.8 class" % (where, event.get("class_uid")))
        return
    if event.get("category_uid") != category_uid:
        problems.append("%s: category_uid %r, class %s is in %r"
                        % (where, event.get("category_uid"), definition["name"], category_uid))
    if event.get("type_uid") != event.get("class_uid", 0) * 100 + event.get("activity_id", -1):
        problems.append("%s: type_uid %r is not class_uid * 100 + activity_id"
                        % (where, event.get("type_uid")))
    enum = attributes.get("activity_id", {}).get("enum") or \
        ocsf.dictionary["activity_id"].get("enum", {})
    if str(event.get("activity_id")) not in enum:
        problems.append("%s: activity_id %r not in the class's enum"
                        % (where, event.get("activity_id")))
    before = len(problems)
    ocsf.check_object(event, attributes, definition["name"], problems)
    for i in range(before, len(problems)):
        problems[i] = "%s: %s" % (where, problems[i])


# ---------------------------------------------------------------- Splunk

def check_splunk(event, where, problems):
    if sorted(event) != ["event", "host", "source", "sourcetype", "time"]:
        problems.append("%s: envelope keys %s" % (where, sorted(event)))
        return
    if not isinstance(event["time"], (int, float)) or isinstance(event["time"], bool):
        problems.append("%s: time is not a number" % where)
    for key in ("host", "source", "sourcetype"):
        if not isinstance(event[key], str) or not event[key]:
            problems.append("%s: %s is not a string" % (where, key))
    if not isinstance(event["event"], dict):
        problems.append("%s: event is not an object" % where)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    sensor, samples, shared, fmt, capture = sys.argv[1:]
    name = "schema_%s" % fmt
    needed = {"ecs": "notes/ecs/fields.csv", "ocsf": "notes/ocsf/dictionary.json",
              "splunk": ""}[fmt]
    if not os.path.isfile(capture) or (needed and not os.path.isfile(os.path.join(shared,
                                                                                   needed))):
        print("%s: SKIP (capture or schema source missing)" % name)
        sys.exit(77)
    lines = []
    with tempfile.TemporaryDirectory(prefix="apisensor-schema.") as workdir:
        events, transactions = (os.path.join(workdir, n) for n in ("ev.jsonl", "tx.jsonl"))
        run = subprocess.run([sensor, "-q", "-r", capture, "--db", ":memory:", "--format", fmt,
                              "-o", events, "--transactions", transactions],
                             stderr=subprocess.PIPE, timeout=120)
        if run.returncode != 0:
            print("%s: FAIL\n  - the sensor ended with %d: %s"
                  % (name, run.returncode, run.stderr.decode()))
            sys.exit(1)
        for path in (transactions, events):
            with open(path) as f:
                lines += [(os.path.basename(path), n, l) for n, l in enumerate(f, 1)]
        sample = subprocess.run([samples, fmt], stdout=subprocess.PIPE, timeout=60, check=True)
        lines += [("format_samples", n, l)
                  for n, l in enumerate(sample.stdout.decode().splitlines(), 1)]
    problems = []
    fields = ecs_fields(shared) if fmt == "ecs" else None
    ocsf = Ocsf(shared) if fmt == "ocsf" else None
    seen_classes = set()
    for source, number, text in lines:
        where = "%s:%d" % (source, number)
        event = json.loads(text)
        if fmt == "ecs":
            check_ecs(event, fields, where, problems)
        elif fmt == "ocsf":
            check_ocsf(event, ocsf, where, problems)
            seen_classes.add(event.get("class_uid"))
        else:
            check_splunk(event, where, problems)
    if fmt == "ocsf" and not {6003, 2004, 5023, 0} <= seen_classes:
        problems.append("classes seen %s, expected 6003, 2004, 5023 and 0" % sorted(seen_classes))
    print("%s: %d events checked" % (name, len(lines)))
    if problems:
        print("%s: FAIL" % name)
        for p in sorted(set(problems))[:50]:
            print("  - " + p)
        sys.exit(1)
    print("%s: PASS" % name)


if __name__ == "__main__":
    main()
