"""The ``package.yaml`` schema: bytes in, a validated manifest or one ``ManifestError`` out.

This module is pure on purpose (no git, no httpx, no clock): ``source`` hands it bytes and a
``read_file`` callback, so every rule here is tested with plain values and fuzzed with
hypothesis. The contract is that *any* input ends in either a ``PackageManifest`` or a
``ManifestError`` naming the file and the field, never another exception, because one bad
package must fail alone while the rest of the commit syncs. Its first line is the problem to
fix first; when there are more, each follows on its own indented line, so none is hidden.

Choices made where the issue is silent (all deliberate, all tested):

* **Encoding.** Manifests and code files must be UTF-8; a leading UTF-8 byte-order mark is
  stripped (editors on Windows add it, and it would otherwise end up in the function's code).
  Line endings are kept as they are: the code is sent as committed.
* **YAML dialect.** PyYAML's safe loader (YAML 1.1 scalars: ``yes`` is a boolean, ``1_000`` an
  integer), minus implicit timestamps: ``date: 2024-01-01`` stays the string a JSON ``config``
  needs instead of becoming a ``datetime`` that cannot be sent. Anchors, aliases and merge keys
  (``<<``) are refused while composing, before anything is expanded (billion-laughs defence),
  and so are duplicate keys (PyYAML would silently keep the last one), explicit tags other
  than ``!!str`` and nesting deeper than ``MAX_DEPTH``.
* **packageId** is 1 to 64 letters, digits and dashes. The API's ids are UUIDs; anything
  else (``../x``, ``a?b=``) would otherwise end up in a URL path.
* **environments** (optional) is a non-empty list of distinct environment names, and **pin**
  (optional) maps an environment name to a revision name; whether those environments exist is
  for the deployment stage to say, against ``faas-gitops.yaml``.
* **Names** (package and function) must be non-empty and not start or end with whitespace;
  function names are compared exactly (case-sensitive) for duplicates.
* **sortOrder** is an integer in the signed 32-bit range; when absent it is the function's
  position in the list.
* **config** must be JSON-compatible (string keys; strings, numbers, booleans, null, lists and
  mappings; no NaN or infinity) because it is sent as-is in a JSON body.
* **file** paths are POSIX and resolved lexically (``lib/../x.js`` is ``x.js``); an empty,
  absolute, backslashed or NUL-containing path, or one that climbs out of the package, fails.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from faas_gitops.errors import ManifestError
from faas_gitops.models import DEFAULT_LANGUAGE, FUNCTION_TYPES, LANGUAGES
from faas_gitops.source.limits import DEFAULT_LIMITS, SizeLimits
from faas_gitops.source.manifest_errors import join_field, manifest_error
from faas_gitops.source.yaml_loader import kind_of, load_document

MANIFEST_NAME = "package.yaml"
_PACKAGE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

# --------------------------------------------------------------------------------------------
# The schema


def _field_error(field: str, message: str) -> PydanticCustomError:
    """A validation error that names its own field (pydantic's loc stops at the validator)."""
    return PydanticCustomError("manifest_field", "{message}", {"field": field, "message": message})


def _check_name(value: str, what: str) -> str:
    if not value or value.strip() != value:
        raise ValueError(f"{what} must not be empty or start or end with whitespace")
    return value


def normalise_code_path(raw: str) -> str:
    """The package-relative POSIX path a ``file:`` entry names, or ValueError saying why not."""
    if not raw:
        raise ValueError("must name a code file relative to the package directory")
    if "\x00" in raw:
        raise ValueError(f"{raw!r} contains a NUL character")
    if "\\" in raw:
        raise ValueError(f"{raw!r} uses backslashes; write paths with '/'")
    if raw.startswith("/"):
        raise ValueError(f"{raw!r} is absolute; write it relative to the package directory")
    parts: list[str] = []
    for part in raw.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise ValueError(
                    f"{raw!r} leaves the package directory; code must live inside the package"
                )
            parts.pop()
        else:
            parts.append(part)
    if not parts:
        raise ValueError(f"{raw!r} does not name a file")
    return "/".join(parts)


def _json_problem(value: Any, where: str) -> tuple[str, str] | None:
    """The first value that cannot be sent in a JSON body, as (field, message), else None."""
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (where, "must be a finite number")
    children: list[tuple[str, Any]]
    if isinstance(value, list):
        children = [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    elif isinstance(value, dict):
        bad_keys = [key for key in value if not isinstance(key, str)]
        if bad_keys:
            return (f"{where}[{bad_keys[0]!r}]", "mapping keys in config must be strings; quote it")
        children = [(join_field(where, key), item) for key, item in value.items()]
    else:
        return (where, f"{kind_of(value)} cannot be sent as JSON; use a string, number or mapping")
    for child_where, child in children:
        problem = _json_problem(child, child_where)
        if problem:
            return problem
    return None


class _Model(BaseModel):
    """Strict: no coercion ('1' is not 1), no unknown keys, YAML spellings (aliases) only."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        validate_by_alias=True,
        validate_by_name=False,
    )


class FunctionManifest(_Model):
    """One entry of ``functions:``; ``file`` is already normalised (package-relative POSIX)."""

    name: str
    type: str
    file: str
    language: str = DEFAULT_LANGUAGE
    sort_order: int | None = Field(default=None, alias="sortOrder")
    config: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "a function name")

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value in FUNCTION_TYPES:
            return value
        close = difflib.get_close_matches(
            value.upper().replace("-", "_").replace(" ", "_"), FUNCTION_TYPES, n=1
        )
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(FUNCTION_TYPES)}"
        raise ValueError(f"{value!r} is not a function type; {hint}")

    @field_validator("file")
    @classmethod
    def _file(cls, value: str) -> str:
        return normalise_code_path(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(
                f"{value!r} is not supported; the only language is {DEFAULT_LANGUAGE} "
                "(or leave the key out)"
            )
        return value

    @field_validator("sort_order")
    @classmethod
    def _sort_order(cls, value: int | None) -> int | None:
        if value is not None and not _INT32_MIN <= value <= _INT32_MAX:
            raise ValueError(f"{value} is out of range; use a small integer such as 0")
        return value

    @field_validator("config")
    @classmethod
    def _config(cls, value: dict[str, Any]) -> dict[str, Any]:
        problem = _json_problem(value, "config")
        if problem:
            # The loc pydantic adds is ("functions", i, "config"); keep only what follows.
            field, message = problem
            raise _field_error(field, message)
        return value


class PackageManifest(_Model):
    """A whole ``package.yaml``: which remote package, and its functions in manifest order."""

    package_id: str | None = Field(default=None, alias="packageId")
    name: str | None = None
    description: str | None = None
    functions: list[FunctionManifest]
    environments: list[str] | None = None
    pin: dict[str, str] = Field(default_factory=dict)

    @field_validator("package_id")
    @classmethod
    def _package_id(cls, value: str | None) -> str | None:
        if value is not None and not _PACKAGE_ID.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a package id; use the package's id from the Admin Portal "
                "(1 to 64 letters, digits and dashes, such as a UUID)"
            )
        return value

    @field_validator("environments")
    @classmethod
    def _environments(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("is empty; name at least one environment, or leave the key out")
        for index, name in enumerate(value):
            if not name or name.strip() != name:
                raise _field_error(
                    f"environments[{index}]",
                    "an environment name must not be empty or start or end with whitespace",
                )
            if value.index(name) != index:
                raise _field_error(f"environments[{index}]", f"{name!r} is listed twice")
        return value

    @field_validator("pin")
    @classmethod
    def _pin(cls, value: dict[str, str]) -> dict[str, str]:
        for environment, revision in value.items():
            if not environment or environment.strip() != environment:
                raise ValueError(
                    "an environment name must not be empty or start or end with whitespace"
                )
            if not revision or revision.strip() != revision:
                raise _field_error(
                    f"pin.{environment}",
                    "a revision name must not be empty or start or end with whitespace",
                )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "a package name")

    @field_validator("functions")
    @classmethod
    def _functions(cls, value: list[FunctionManifest]) -> list[FunctionManifest]:
        if not value:
            raise ValueError("is empty; a package needs at least one function")
        first_seen: dict[str, int] = {}
        for index, function in enumerate(value):
            if function.name in first_seen:
                raise _field_error(
                    f"functions[{index}].name",
                    f"{function.name!r} is already the name of "
                    f"functions[{first_seen[function.name]}]; function names must be unique",
                )
            first_seen[function.name] = index
        return value

    @model_validator(mode="after")
    def _identified(self) -> PackageManifest:
        if self.package_id is None and self.name is None:
            raise _field_error(
                "packageId",
                "missing; give packageId (the remote package's id) or name "
                "(matched exactly among the remote packages), or both",
            )
        return self

    @property
    def label(self) -> str | None:
        return self.package_id or self.name


def parse_manifest(
    data: bytes, file: str, *, limits: SizeLimits = DEFAULT_LIMITS
) -> PackageManifest:
    """Parse and validate one ``package.yaml``; raises ``ManifestError`` and nothing else.

    ``file`` is the repository-relative path of the manifest: it starts every error message.
    """
    if len(data) > limits.max_manifest_bytes:
        raise ManifestError(
            file,
            None,
            f"is {len(data)} bytes, over the {limits.max_manifest_bytes}-byte manifest limit; "
            "a manifest only lists functions, keep code in the files it names",
        )
    try:
        document = load_document(data)
    except ValueError as exc:
        raise ManifestError(file, None, str(exc)) from None
    if document is None:
        raise ManifestError(file, None, "is empty; it needs 'functions' and 'packageId' or 'name'")
    if not isinstance(document, dict):
        raise ManifestError(
            file,
            None,
            f"the top level must be a mapping (key: value lines), not {kind_of(document)}",
        )
    for key in document:
        if not isinstance(key, str):
            raise ManifestError(file, str(key), "keys must be strings; quote it")
    try:
        return PackageManifest.model_validate(document)
    except ValidationError as exc:
        raise manifest_error(exc, file) from None
