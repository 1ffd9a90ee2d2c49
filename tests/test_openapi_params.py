"""Every operation of the OpenAPI document declares the parameters of its path template
({pk}, {aid}, {name} …): a client generator or a fuzzer can call each of them."""

from __future__ import annotations

import re


def test_every_path_parameter_is_declared(api):
    doc = api("admin").get("/api/v1/_openapi").json
    missing = []
    for path, item in doc["paths"].items():
        wanted = set(re.findall(r"{(\w+)}", path))
        shared = {p.get("name") for p in item.get("parameters", []) if p.get("in") == "path"}
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict):
                continue
            declared = shared | {p.get("name") for p in op.get("parameters", [])
                                 if p.get("in") == "path"}
            if wanted - declared:
                missing.append(f"{method.upper()} {path}: {sorted(wanted - declared)}")
    assert not missing, f"{len(missing)} operations: " + "; ".join(missing[:10])
