"""The ``package.yaml`` errors in the words of a YAML author: pydantic's errors turned into one
``ManifestError`` that names the field and says what to do (a typo gets a suggestion)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from faas_gitops.errors import ManifestError
from faas_gitops.models import FUNCTION_TYPES
from faas_gitops.source.yaml_loader import kind_of

_TOP_KEYS = ("packageId", "name", "description", "functions", "environments", "pin")
_FUNCTION_KEYS = ("name", "type", "file", "language", "sortOrder", "config")
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "a boolean",
    "float_type": "a number",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_MISSING_HINTS = {
    "functions": "list the package's functions (name, type, file)",
    "name": "give the function a name",
    "type": f"give a function type such as {FUNCTION_TYPES[0]}",
    "file": "name the code file, relative to the package directory",
}


def join_field(prefix: str, key: Any) -> str:
    """``functions[0].config`` from ``functions[0]`` and ``config``; odd keys are quoted."""
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    text = str(key)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text):
        return f"{prefix}.{text}" if prefix else text
    return f"{prefix}[{text!r}]"


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    field = ""
    for part in loc:
        field = join_field(field, part)
    return field


def _suggest(key: str, valid: tuple[str, ...]) -> str:
    lowered = {candidate.lower(): candidate for candidate in valid}
    close = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {lowered[close[0]]!r}?"
    return f"unknown key; valid keys are {', '.join(valid)}"


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:  # noqa: PLR0911 - flat dispatch
    """(field, message) for one pydantic error, in the words of a YAML author."""
    loc: tuple[int | str, ...] = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "manifest_field":
        # A custom field is relative to the parent of the validator's own location: the config
        # validator at functions[0].config says "config.x", the functions validator says
        # "functions[2].name", the model validator says "packageId".
        inner = str(ctx["field"])
        prefix = _loc_to_field(loc[:-1])
        return (f"{prefix}.{inner}" if prefix else inner, str(ctx["message"]))
    field = _loc_to_field(loc)
    if "[key]" in loc:
        # pydantic locates a bad mapping key as (..., key, "[key]").
        key = loc[loc.index("[key]") - 1]
        return _loc_to_field(loc[: loc.index("[key]") - 1]), f"key {key!r} must be a string"
    if kind == "extra_forbidden":
        valid = _TOP_KEYS if len(loc) == 1 else _FUNCTION_KEYS
        return field, _suggest(str(loc[-1]), valid)
    if kind == "missing":
        hint = _MISSING_HINTS.get(str(loc[-1]), "add it")
        return field, f"missing; {hint}"
    if kind in _EXPECTED:
        value = error.get("input")
        message = f"must be {_EXPECTED[kind]}, not {kind_of(value)}"
        if kind == "string_type" and isinstance(value, bool | int | float):
            message += " (quote it)"
        return field, message
    if kind == "value_error":
        return field, str(ctx.get("error", error["msg"]))
    return field, str(error["msg"])


def manifest_error(exc: ValidationError, file: str) -> ManifestError:
    """The one ``ManifestError`` for a failed validation: the problem to fix first, then the
    others on their own indented lines."""
    # An unknown key first: a typo ("functon") also makes the real key look missing, and the
    # suggestion for the typo is what fixes both.
    errors = sorted(
        exc.errors(include_url=False), key=lambda error: error["type"] != "extra_forbidden"
    )
    described = [_describe(error) for error in errors]
    field, message = described[0]
    if len(described) > 1:
        # The first line stays the one to fix first; every other problem follows on its own
        # indented line, so a report shows them all instead of a count.
        more = len(described) - 1
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
        message += "".join(
            f"\n  {other}: {text}" if other else f"\n  {text}" for other, text in described[1:]
        )
    return ManifestError(file, field or None, message)


__all__ = ["join_field", "manifest_error"]
