"""Schemathesis hooks for `bench/api_fuzz.py` (loaded through `SCHEMATHESIS_HOOKS`): the one
rule of the API that links a path to its body, which no JSON Schema can state.

`PUT /admin/<kind>/{name}` and `PUT /items/{item_id}` create or replace the object the path
names, and the body's `name` (`id`) must be the path's (else a documented 400). A schema-valid
request in the fuzzer's positive mode therefore names the same object twice: the path takes the
body's name. Negative cases are left as generated, so mismatches are still sent and must be
refused.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

_NAMED = re.compile(
    r"^/admin/(?:insights|segments|recommenders|points|decisions|experiments|identity/rulesets)/\{name\}$"
)


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is None or not meta.generation.mode.is_negative


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    body = case.body
    if case.method.upper() != "PUT" or not isinstance(body, dict) or not _positive(case):
        return case
    path = case.operation.path
    if _NAMED.match(path) and isinstance(body.get("name"), str) and body["name"]:
        case.path_parameters = {**(case.path_parameters or {}), "name": body["name"]}
    elif path == "/items/{item_id}" and isinstance(body.get("id"), str) and body["id"]:
        case.path_parameters = {**(case.path_parameters or {}), "item_id": body["id"]}
    return case
