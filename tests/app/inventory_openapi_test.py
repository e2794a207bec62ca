#!/usr/bin/env python3
"""inventory_openapi_test.py - `apisensor inventory --openapi` is valid OpenAPI 3.1.

  inventory_openapi_test.py SENSOR SHARED_DIR INSTALL_TEST_TOOLS_SCRIPT

Two inventories are exported:
  * the one a run on SHARED_DIR/pcaps/scenarios/mixed.pcap stores;
  * one written here with Python's sqlite3 into a database the sensor
    created, holding what live traffic has not shown yet: every auth kind,
    a zombie, two hosts, a path with a repeated parameter name, two templates
    that differ only in parameter names, literal braces, a method OpenAPI
    cannot express, a status outside 100-599, an endpoint never answered,
    learned body fields nested in objects and arrays with several types.
Each document is checked for what the exporter promises (servers, path
parameters, deprecated zombies, security schemes, responses, JSON body
schemas with properties from the learned fields) and then by an
independent validator, `redocly lint` (@redocly/cli from the npm registry,
installed once by scripts/install-test-tools.sh), whose exit status decides.
A deliberately broken document must fail the same lint, so a validator that
accepts anything cannot pass this test.

The lint uses Redocly's "recommended" rule set with three rules off, all of
them about style, not validity:
  info-license           the sensor cannot know the API's licence;
  operation-operationId  operationId is optional; observed traffic has none;
  operation-4xx-response an endpoint that never failed has no 4xx to report.
Exit 0 pass, 1 fail, 77 when the scenario capture is absent.
"""
import copy
import json
import os
import re
import sqlite3
import subprocess
import sys

import harness

LINT_CONFIG = """extends:
  - recommended
rules:
  info-license: off
  operation-operationId: off
  operation-4xx-response: off
"""

SKETCH = bytes(256)


def redocly_path(install_script):
    p = subprocess.run(["bash", install_script], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    print(p.stdout.decode("utf-8", "replace").rstrip())
    if p.returncode != 0:
        return None
    p = subprocess.run(["bash", install_script, "--print"], stdout=subprocess.PIPE)
    return p.stdout.decode().strip()


def lint(redocly, document, workdir, name):
    """Returns (passed, output) of `redocly lint` on the document."""
    path = os.path.join(workdir, name + ".json")
    with open(path, "w") as f:
        json.dump(document, f, indent=1)
    config = os.path.join(workdir, "redocly.yaml")
    with open(config, "w") as f:
        f.write(LINT_CONFIG)
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    p = subprocess.run([redocly, "lint", "--config", config, path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, timeout=300, cwd=workdir)
    text = p.stdout.decode("utf-8", "replace")
    text = "\n".join(l for l in text.splitlines() if not re.search("[║╔╚]", l))
    return p.returncode == 0, text


def export(sensor, db):
    result = harness.run([sensor, "inventory", "--db", db, "--openapi"])
    if result.returncode != 0:
        return None, ["inventory --openapi on %s: %s %s" % (db, result.describe(),
                                                            result.stderr)]
    try:
        return json.loads(result.stdout), []
    except ValueError as e:
        return None, ["inventory --openapi did not write JSON: %s" % e]


def check_shape(doc, what):
    """What the exporter promises, beyond validity."""
    failures = []
    if doc.get("openapi") != "3.1.0" or not doc.get("servers"):
        failures.append("%s: openapi %r, servers %r" % (what, doc.get("openapi"),
                                                        doc.get("servers")))
    for path, item in doc.get("paths", {}).items():
        names = re.findall(r"\{([^}]*)\}", path)
        declared = [p["name"] for p in item.get("parameters", []) if p["in"] == "path"]
        if names != declared or len(set(names)) != len(names):
            failures.append("%s: %s declares path parameters %s" % (what, path, declared))
        for method, op in item.items():
            if method == "parameters":
                continue
            if not op.get("responses") or "security" not in op:
                failures.append("%s: %s %s without responses or security" % (what, method, path))
            if (op.get("x-apisensor-status") == "zombie") != bool(op.get("deprecated")):
                failures.append("%s: %s %s status %s, deprecated %r"
                                % (what, method, path, op.get("x-apisensor-status"),
                                   op.get("deprecated")))
    return failures


def endpoint_row(host, method, path, **fields):
    row = {"host": host, "service_prefix": "", "method": method, "path": path,
           "status": "shadow", "spec_index": -1, "listed": 1, "auth_kinds": "",
           "unauthenticated": 0, "sensitive_request_body": "", "sensitive_request_headers": "",
           "sensitive_query": "", "sensitive_response_body": "", "requests": 10,
           "success": 10, "unauthenticated_success": 0, "status_codes": "200:10",
           "status_other": 0, "response_type_counts": "", "first_seen_ns": 1700000000000000000,
           "last_seen_ns": 1700000100000000000, "request_types": b"",
           "response_types": b"application/json\0", "query_params": b"",
           "issues_token": 0, "identity_sketch": SKETCH, "client_sketch": SKETCH}
    row.update(fields)
    return row


# Learned response fields of GET /users/{id}/orders/{id} (the store's
# "types<TAB>path" records) and the schema they must give: "user" and
# "items[]" were not recorded themselves, their types follow from the paths.
ORDER_FIELDS = (b"integer\tid\0string null\tuser.name\0string\titems[].sku\0"
                b"integer number\titems[].qty\0")
ORDER_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"},
    "user": {"type": "object", "properties": {"name": {"type": ["null", "string"]}}},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "sku": {"type": "string"}, "qty": {"type": ["integer", "number"]}}}}}}


def crafted_rows():
    a, b = "api.acme.internal", "shop.acme.internal:8443"
    return [
        endpoint_row(a, "GET", "/users/{id}/orders/{id}", status="declared", spec_index=0,
                     auth_kinds="bearer_jwt", unauthenticated=1,
                     status_codes="200:8 404:2", query_params=b"expand\0fields\0",
                     sensitive_response_body="email credit_card",
                     response_fields=ORDER_FIELDS),
        endpoint_row(a, "GET", "/users/{uuid}/orders/{id}", auth_kinds="basic"),
        endpoint_row(a, "DELETE", "/users/{uuid}/orders/{id}", auth_kinds="bearer_token",
                     status_codes="204:3", response_types=b""),
        endpoint_row(b, "POST", "/v1/login", status="zombie", spec_index=3,
                     auth_kinds="query_credential", status_codes="200:5 999:1", status_other=2,
                     request_types=b"application/x-www-form-urlencoded\0", issues_token=1,
                     query_params=b"api_key\0"),
        endpoint_row(b, "GET", "/v1/session", auth_kinds="cookie mtls api_key_header bit17",
                     response_types=b"not a media type\0"),
        endpoint_row(b, "GET", "/files/a{b}c", auth_kinds="query_credential"),
        endpoint_row(b, "PROPFIND", "/dav", unauthenticated=1),
        endpoint_row(b, "GET", "/silent", status_codes="", status_other=3, unauthenticated=1),
        endpoint_row(b, "GET", "/never-listed", listed=0, status_codes="500:3"),
    ]


def craft_database(sensor, db, sample):
    """A database the sensor created, with rows added here."""
    result = harness.run([sensor, "-r", sample, "--db", db, "-o", os.devnull, "-q"])
    if result.returncode != 0:
        return ["creating %s: %s %s" % (db, result.describe(), result.stderr)]
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM findings")
        conn.execute("DELETE FROM endpoints")
        for row in crafted_rows():
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute("INSERT INTO endpoints (%s) VALUES (%s)" % (columns, marks),
                         list(row.values()))
        login = conn.execute("SELECT id FROM endpoints WHERE path = '/v1/login'").fetchone()[0]
        conn.execute("INSERT INTO findings (endpoint_id, type, parameter, data_types,"
                     " finding_id, first_seen_ns, last_seen_ns, count, status_classes, open)"
                     " VALUES (?, 'token_in_url', 'api_key', '', '0', 1, 2, 5, '0 0 5 0 0 0', 1)",
                     (login,))
    return []


def check_crafted(doc):
    failures = []
    paths = doc.get("paths", {})
    want_paths = {"/users/{id}/orders/{id2}", "/v1/login", "/v1/session", "/files/a%7Bb%7Dc",
                  "/silent"}
    if set(paths) != want_paths:
        failures.append("crafted: paths %s, expected %s" % (sorted(paths), sorted(want_paths)))
        return failures
    users = paths["/users/{id}/orders/{id2}"]
    if sorted(users) != ["delete", "get", "parameters"]:
        failures.append("crafted: /users/... holds %s" % sorted(users))
    get = users.get("get", {})
    if sorted(list(s)[0] if s else "" for s in get.get("security", [])) != \
            ["", "basicAuth", "bearerJwt"]:
        failures.append("crafted: GET /users/... security %s" % get.get("security"))
    if [p["name"] for p in get.get("parameters", [])] != ["expand", "fields"]:
        failures.append("crafted: GET /users/... query parameters %s" % get.get("parameters"))
    if sorted(get.get("responses", {})) != ["200", "404"]:
        failures.append("crafted: GET /users/... responses %s" % get.get("responses"))
    schema = get.get("responses", {}).get("200", {}).get("content", {}).get(
        "application/json", {}).get("schema")
    if schema != ORDER_SCHEMA:
        failures.append("crafted: GET /users/... 200 schema %s, expected %s"
                        % (schema, ORDER_SCHEMA))
    if "content" in get.get("responses", {}).get("404", {}):
        failures.append("crafted: GET /users/... 404 has content")
    login = paths["/v1/login"].get("post", {})
    if not login.get("deprecated") or login.get("x-apisensor-status") != "zombie":
        failures.append("crafted: the zombie login is not deprecated: %s" % login)
    if login.get("security") != [{"apiKeyQuery_api_key": []}]:
        failures.append("crafted: login security %s" % login.get("security"))
    if sorted(login.get("responses", {})) != ["200", "default"]:
        failures.append("crafted: login responses %s" % login.get("responses"))
    if "application/x-www-form-urlencoded" not in login.get("requestBody", {}).get("content", {}):
        failures.append("crafted: login request body %s" % login.get("requestBody"))
    schemes = doc.get("components", {}).get("securitySchemes", {})
    want = {"bearerJwt": ("http", "bearer"), "basicAuth": ("http", "basic"),
            "bearerToken": ("http", "bearer"), "apiKeyQuery_api_key": ("apiKey", None),
            "apiKeyQuery": ("apiKey", None), "cookieAuth": ("apiKey", None),
            "apiKeyHeader": ("apiKey", None), "mutualTLS": ("mutualTLS", None)}
    got = {k: (v.get("type"), v.get("scheme")) for k, v in schemes.items()}
    if got != want:
        failures.append("crafted: security schemes %s, expected %s" % (got, want))
    if doc.get("servers") != [{"url": "http://api.acme.internal"},
                              {"url": "http://shop.acme.internal:8443"}]:
        failures.append("crafted: servers %s" % doc.get("servers"))
    if get.get("servers") != [{"url": "http://api.acme.internal"}]:
        failures.append("crafted: GET /users/... servers %s" % get.get("servers"))
    session = paths["/v1/session"]["get"]
    if "content" in session["responses"].get("200", {}):
        failures.append("crafted: an invalid media type was written: %s" % session)
    return failures


def body_schemas(doc):
    """(method path, side) of the operations whose JSON body schema has properties."""
    found = []
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method == "parameters":
                continue
            bodies = [("request", op.get("requestBody", {}).get("content", {}))]
            bodies += [(code, r.get("content", {})) for code, r in op["responses"].items()
                       if code.startswith("2")]
            for side, content in bodies:
                for media, entry in content.items():
                    if "json" in media and entry.get("schema", {}).get("properties"):
                        found.append(("%s %s" % (method, path), side))
    return found


def check_observed(doc):
    """mixed.pcap carries JSON bodies: their fields must show as schemas."""
    found = body_schemas(doc)
    failures = []
    if ("post /register", "request") not in found:
        failures.append("observed: no request body schema with properties on POST /register")
    if not any(side != "request" for _, side in found):
        failures.append("observed: no 2xx response schema with properties")
    register = doc.get("paths", {}).get("/register", {}).get("post", {})
    props = register.get("requestBody", {}).get("content", {}).get(
        "application/json", {}).get("schema", {}).get("properties", {})
    if props.get("email") != {"type": "string"}:
        failures.append("observed: POST /register request properties %s" % props)
    print("observed: %d JSON body schemas with properties" % len(found))
    return failures


def broken(doc):
    """The document with a path parameter undeclared and info gone."""
    bad = copy.deepcopy(doc)
    del bad["info"]
    for item in bad["paths"].values():
        item.pop("parameters", None)
    return bad


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sensor, shared, sample, install_script = sys.argv[1:]
    capture = os.path.join(shared, "pcaps", "scenarios", "mixed.pcap")
    if not os.path.exists(capture):
        harness.skip("inventory_openapi", "no %s" % capture)
    redocly = redocly_path(install_script)
    if not redocly:
        harness.finish("inventory_openapi", ["cannot install @redocly/cli (see above)"])
    failures = []
    with harness.temporary_directory("openapi") as workdir:
        observed = os.path.join(workdir, "observed.db")
        result = harness.run([sensor, "-r", capture, "--db", observed, "-o", os.devnull, "-q"])
        if result.returncode != 0:
            failures.append("run on mixed.pcap: %s %s" % (result.describe(), result.stderr))
        crafted = os.path.join(workdir, "crafted.db")
        failures += craft_database(sensor, crafted, sample)
        documents = {}
        for name, db in (("observed", observed), ("crafted", crafted)):
            doc, problems = export(sensor, db)
            failures += problems
            if doc is not None:
                documents[name] = doc
                failures += check_shape(doc, name)
        if "crafted" in documents:
            failures += check_crafted(documents["crafted"])
        if "observed" in documents:
            failures += check_observed(documents["observed"])
        if "observed" in documents and len(documents["observed"]["paths"]) < 10:
            failures.append("observed: only %d paths from mixed.pcap"
                            % len(documents["observed"]["paths"]))
        for name, doc in sorted(documents.items()):
            ok, text = lint(redocly, doc, workdir, name)
            print("redocly lint %s:\n%s" % (name, text))
            if not ok:
                failures.append("redocly lint rejects the %s document (see above)" % name)
        if "observed" in documents:
            ok, text = lint(redocly, broken(documents["observed"]), workdir, "broken")
            if ok:
                failures.append("redocly lint accepted a broken document: it checks nothing")
            else:
                print("redocly lint rejects the broken control document, as it must")
    harness.finish("inventory_openapi", failures)


if __name__ == "__main__":
    main()
