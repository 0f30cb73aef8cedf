"""Request-body validation: turn a parsed JSON body into typed inputs or a ``FAAS-400``.

The real API publishes no request schema (REFERENCE.md §9.2), so the rules here are the ones
our client relies on: required fields, the type/language enums of REFERENCE.md §6, non-empty and
uniquely named functions, and the functions-per-revision limit (``FAAS-1006``). Every message
names the field by its path in the body (``functions[1].type``) so a failing test says where.
Unknown fields are ignored, as a Spring/Jackson service does by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from faas_gitops.emulator.problems import ApiProblem, invalid
from faas_gitops.models import FUNCTION_TYPES, LANGUAGES

DEFAULT_REVISION_NAME = "v1"

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FunctionInput:
    name: str
    type: str
    code: str
    language: str
    sort_order: int
    config: dict[str, Any]


class RevisionCreate(NamedTuple):
    package_id: str
    name: str
    description: str
    functions: tuple[FunctionInput, ...]


@dataclass(frozen=True, slots=True)
class PackageCreate:
    name: str
    description: str
    tags: tuple[str, ...]
    api_managed: bool
    revision_name: str
    functions: tuple[FunctionInput, ...]


@dataclass(frozen=True, slots=True)
class PackageUpdate:
    name: str | None
    description: str | None
    tags: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class RevisionUpdate:
    name: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class DeploymentCreate:
    package_revision_id: str
    keyset_id: int


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("body", "must be a JSON object")
    return body


def _name(value: Any, field: str) -> str:
    if value is _MISSING or value is None:
        raise invalid(field, "is required")
    if not isinstance(value, str) or not value.strip():
        raise invalid(field, "must be a non-empty string")
    return value


def _text(value: Any, field: str) -> str:
    """An optional string; absent or null reads as the empty string."""
    if value is _MISSING or value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(field, "must be a string")
    return value


def _tags(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise invalid(field, "must be a list of strings")
    return tuple(value)


def _int(value: Any, field: str) -> int:
    # bool is an int in Python but not in JSON; reject it.
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "must be an integer")
    return value


def _function(raw: Any, field: str, index: int) -> FunctionInput:
    if not isinstance(raw, dict):
        raise invalid(field, "must be a JSON object")
    name = _name(raw.get("name", _MISSING), f"{field}.name")
    type_ = raw.get("type", _MISSING)
    if type_ is _MISSING or type_ is None:
        raise invalid(f"{field}.type", "is required")
    if type_ not in FUNCTION_TYPES:
        raise invalid(f"{field}.type", "must be one of " + ", ".join(FUNCTION_TYPES))
    code = raw.get("code", _MISSING)
    if code is _MISSING or code is None:
        raise invalid(f"{field}.code", "is required")
    if not isinstance(code, str):
        raise invalid(f"{field}.code", "must be a string")
    language = raw.get("language", LANGUAGES[0])
    if language is None:
        language = LANGUAGES[0]
    if language not in LANGUAGES:
        raise invalid(f"{field}.language", "must be one of " + ", ".join(LANGUAGES))
    sort_order = raw.get("sortOrder", index)
    sort_order = index if sort_order is None else _int(sort_order, f"{field}.sortOrder")
    config = raw.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise invalid(f"{field}.config", "must be a JSON object")
    return FunctionInput(name, str(type_), code, str(language), sort_order, dict(config))


def parse_functions(
    raw: Any, *, max_functions: int, required: bool, field: str = "functions"
) -> tuple[FunctionInput, ...]:
    """Validate a ``functions`` array; ``required`` means absent or empty is an error."""
    if raw is _MISSING or raw is None:
        if required:
            raise invalid(field, "is required")
        return ()
    if not isinstance(raw, list):
        raise invalid(field, "must be a list")
    if required and not raw:
        raise invalid(field, "must contain at least one function")
    if len(raw) > max_functions:
        raise ApiProblem(
            422,
            "FAAS-1006",
            f"Functions per package revision limit reached: {len(raw)} > {max_functions}",
        )
    functions = tuple(_function(item, f"{field}[{i}]", i) for i, item in enumerate(raw))
    seen: set[str] = set()
    for i, function in enumerate(functions):
        if function.name in seen:
            raise invalid(f"{field}[{i}].name", f"duplicate function name '{function.name}'")
        seen.add(function.name)
    return functions


def parse_revision_create(body: Any, *, max_functions: int) -> RevisionCreate:
    obj = _object(body)
    package_id = _name(obj.get("packageId", _MISSING), "packageId")
    name = _name(obj.get("name", _MISSING), "name")
    description = _text(obj.get("description", _MISSING), "description")
    functions = parse_functions(
        obj.get("functions", _MISSING), max_functions=max_functions, required=True
    )
    return RevisionCreate(package_id, name, description, functions)


def parse_package_create(body: Any, *, max_functions: int) -> PackageCreate:
    obj = _object(body)
    name = _name(obj.get("name", _MISSING), "name")
    description = _text(obj.get("description", _MISSING), "description")
    raw_tags = obj.get("tags")
    tags = () if raw_tags is None else _tags(raw_tags, "tags")
    api_managed = obj.get("apiManaged", False)
    if api_managed is None:
        api_managed = False
    if not isinstance(api_managed, bool):
        raise invalid("apiManaged", "must be a boolean")
    raw_revision_name = obj.get("revisionName")
    revision_name = (
        DEFAULT_REVISION_NAME
        if raw_revision_name is None
        else _name(raw_revision_name, "revisionName")
    )
    functions = parse_functions(
        obj.get("functions", _MISSING), max_functions=max_functions, required=False
    )
    return PackageCreate(name, description, tags, api_managed, revision_name, functions)


def parse_package_update(body: Any) -> PackageUpdate:
    obj = _object(body)
    name = None if obj.get("name") is None else _name(obj["name"], "name")
    description = (
        None if obj.get("description") is None else _text(obj["description"], "description")
    )
    tags = None if obj.get("tags") is None else _tags(obj["tags"], "tags")
    return PackageUpdate(name, description, tags)


def parse_revision_update(body: Any) -> RevisionUpdate:
    obj = _object(body)
    name = None if obj.get("name") is None else _name(obj["name"], "name")
    description = (
        None if obj.get("description") is None else _text(obj["description"], "description")
    )
    return RevisionUpdate(name, description)


def parse_deployment_create(body: Any) -> DeploymentCreate:
    """``{packageRevisionId, keysetId}``; the keyset is the numeric id, not a subscribe key."""
    obj = _object(body)
    revision_id = _name(obj.get("packageRevisionId", _MISSING), "packageRevisionId")
    raw_keyset = obj.get("keysetId", _MISSING)
    if raw_keyset is _MISSING or raw_keyset is None:
        raise invalid("keysetId", "is required")
    keyset_id = _int(raw_keyset, "keysetId")
    if keyset_id < 1:
        raise invalid("keysetId", "must be a positive integer")
    return DeploymentCreate(revision_id, keyset_id)


def parse_rolling_update(body: Any) -> str:
    """The ``newPackageDeploymentId`` of a rolling-update body."""
    obj = _object(body)
    return _name(obj.get("newPackageDeploymentId", _MISSING), "newPackageDeploymentId")
