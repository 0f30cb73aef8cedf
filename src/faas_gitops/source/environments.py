"""``faas-gitops.yaml``: the environment policy: which keysets a commit runs on, and when.

The file sits at the root of ``--path`` and is read from git, like the manifests, so what runs
where is decided by a reviewed commit. It is optional: without it no environment is active and
no deployment is ever made. Any problem is one ``ConfigError`` line (exit 2): a half-understood
map of environments to keysets must never deploy.

This module is the file's schema and validation (``parse_environments``) and which environments
a commit acts on (``active_environments``). Where the file is read from (a commit, the
configuration branch) is ``source.policy``; the owner of a repository without ``owner:`` is
``source.owner``.

Keyset ids must be written in plain decimal: YAML 1.1 reads ``0412345`` as the octal 136421 and
``1_000`` as 1000, and a wrong keyset id deploys to someone else's keyset. The scalar's source
text is checked, not only the number PyYAML made of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from yaml.nodes import MappingNode, Node, ScalarNode

from faas_gitops.errors import ConfigError
from faas_gitops.names import (
    ENVIRONMENT_NAME_RULE,
    OWNER_RULE,
    is_environment_name,
    is_owner,
)
from faas_gitops.source.windows import (
    Freeze,
    Window,
    freeze_state,
    parse_duration,
    parse_kind,
    parse_schedule,
    parse_timezone,
)
from faas_gitops.source.yaml_loader import (
    StrictSafeLoader,
    decode_text,
    kind_of,
    load_document,
    one_line,
    shown,
)

CONFIG_NAME = "faas-gitops.yaml"
MAX_CONFIG_BYTES = 64 * 1024
#: The API's keyset ids are signed 64-bit integers.
KEYSET_ID_MAX = 2**63 - 1
_PLAIN_DECIMAL = re.compile(r"0|-?[1-9][0-9]*")
# What a YAML 1.1 author may have meant as a number although PyYAML made a string of it
# (``0o17``, ``1e5``): refused with the plain-decimal advice, not "not a string".
_NUMBER_LIKE = re.compile(r"[-+]?[0-9][0-9A-Za-z_:.+-]*")
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"


class _Strict(BaseModel):
    # Built on first use: most repositories have no faas-gitops.yaml (start-up time).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def _names(value: list[str], what: str) -> list[str]:
    for item in value:
        if not item or item.strip() != item:
            raise ValueError(f"{what} must not be empty or start or end with whitespace")
    return value


@dataclass(frozen=True, slots=True)
class Environment:
    """One environment: a keyset, the branches and tag globs whose commits it runs, and when
    it may be deployed to (``frozen``, sync ``windows``)."""

    name: str
    keyset_id: int
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    frozen: bool = False
    windows: tuple[Window, ...] = ()

    def freeze(self, now: datetime) -> Freeze:
        """Whether deployments to this environment are blocked at ``now`` (aware), and why."""
        return freeze_state(self.frozen, self.windows, now)


def _valid_duration(value: str) -> str:
    parse_duration(value)  # kept as written: ``window()`` parses it again
    return value


class WindowSpec(_Strict):
    """One entry of an environment's ``windows:`` as written."""

    kind: Annotated[str, AfterValidator(parse_kind)]
    schedule: Annotated[str, AfterValidator(parse_schedule)]
    duration: Annotated[str, AfterValidator(_valid_duration)]
    timezone: Annotated[str, AfterValidator(parse_timezone)] = "UTC"

    def window(self) -> Window:
        return Window(
            kind=parse_kind(self.kind),
            schedule=self.schedule,
            duration=parse_duration(self.duration),
            timezone=self.timezone,
        )


class EnvironmentSpec(_Strict):
    """One entry of ``environments:`` as written."""

    keyset_id: int = Field(alias="keysetId", gt=0, le=KEYSET_ID_MAX)
    branches: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    frozen: bool = False
    windows: list[WindowSpec] = Field(default_factory=list)

    @field_validator("branches")
    @classmethod
    def _branches(cls, value: list[str]) -> list[str]:
        return _names(value, "a branch name")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _names(value, "a tag glob")


class EnvironmentsConfig(_Strict):
    """The whole file: environments by name, in file order, and who owns them (``owner``)."""

    environments: dict[str, EnvironmentSpec]
    owner: str | None = None

    @field_validator("environments")
    @classmethod
    def _named(cls, value: dict[str, EnvironmentSpec]) -> dict[str, EnvironmentSpec]:
        if not value:
            raise ValueError("is empty; define at least one environment, or remove the file")
        for name in value:
            if not is_environment_name(name):
                raise ValueError(f"{shown(name)} is not a valid name; {ENVIRONMENT_NAME_RULE}")
        by_keyset: dict[int, str] = {}
        for name, spec in value.items():
            other = by_keyset.setdefault(spec.keyset_id, name)
            if other != name:
                raise ValueError(
                    f"{other} and {name} both use keyset {spec.keyset_id}; give each "
                    "environment its own keyset"
                )
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value is not None and not is_owner(value):
            raise ValueError(f"{shown(value)} is not a valid owner; {OWNER_RULE}")
        return value

    def by_name(self) -> dict[str, Environment]:
        return {
            name: Environment(
                name=name,
                keyset_id=spec.keyset_id,
                branches=tuple(spec.branches),
                tags=tuple(spec.tags),
                frozen=spec.frozen,
                windows=tuple(window.window() for window in spec.windows),
            )
            for name, spec in self.environments.items()
        }


def parse_environments(data: bytes, file: str = CONFIG_NAME) -> EnvironmentsConfig:
    """Validate the bytes of ``faas-gitops.yaml``; ConfigError with one line otherwise."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{file}: is {len(data)} bytes, over the {MAX_CONFIG_BYTES}-byte limit")
    try:
        document = load_document(data)
    except ValueError as exc:
        raise ConfigError(f"{file}: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping with 'environments', not {kind_of(document)}"
        )
    _check_names(document, file)
    _check_keyset_ids(data, document, file)
    try:
        return EnvironmentsConfig.model_validate(document)
    except ValidationError as exc:
        # An unknown key first: a typo ("environment") also makes the real key look missing.
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError(f"{file}: {_describe(errors[0])}") from None


def _check_names(document: dict[Any, Any], file: str) -> None:
    """Environment names first: every later message names the environment it is about, and
    a name with a newline or a terminal escape must never reach a log line or a report."""
    environments = document.get("environments")
    if not isinstance(environments, dict):
        return
    for name in environments:
        if isinstance(name, str) and not is_environment_name(name):
            raise ConfigError(
                f"{file}: environments: {shown(name)} is not a valid environment name; "
                f"{ENVIRONMENT_NAME_RULE}"
            )


def _check_keyset_ids(data: bytes, document: dict[Any, Any], file: str) -> None:
    """Every ``keysetId`` written as a plain decimal integer within the API's range.

    PyYAML has already turned ``0412345`` into 136421 by the time a value can be validated,
    so the check reads the scalars' source text from the composed node tree. The text was
    just loaded by the strict loader, so composing it again cannot meet anything it refuses.
    """
    try:
        root = yaml.compose(decode_text(data), Loader=StrictSafeLoader)
    except (yaml.YAMLError, ValueError) as exc:  # pragma: no cover - loaded just before
        raise ConfigError(f"{file}: invalid YAML: {one_line(str(exc))}") from None
    for name, node in _mapping_items(_value_node(root, "environments")):
        scalar = _value_node(node, "keysetId")
        if not isinstance(scalar, ScalarNode) or scalar.style is not None:
            continue  # missing, a list, or quoted: the schema says what is wrong
        text = scalar.value
        if scalar.tag == _STR_TAG and not _NUMBER_LIKE.fullmatch(text):
            continue  # a word: "must be an integer, not a string"
        if scalar.tag not in (_INT_TAG, _STR_TAG):
            continue  # a float or a boolean: the schema's message
        where = f"{file}: environments.{name}.keysetId"
        if not _PLAIN_DECIMAL.fullmatch(text):
            built = document["environments"][name].get("keysetId")
            read = f" (YAML reads it as {built})" if isinstance(built, int) else ""
            raise ConfigError(
                f"{where}: {shown(text)} is not plain decimal{read}; write the numeric keyset "
                "id in plain decimal digits, without leading zeros, a sign, '_' or a prefix"
            )
        if len(text) > len(str(KEYSET_ID_MAX)) or int(text) > KEYSET_ID_MAX:
            raise ConfigError(
                f"{where}: {shown(text)} is above the largest keyset id ({KEYSET_ID_MAX}); "
                "write the environment's numeric keyset id in plain decimal"
            )


def _value_node(node: Node | None, key: str) -> Node | None:
    for name, value in _mapping_items(node):
        if name == key:
            return value
    return None


def _mapping_items(node: Node | None) -> list[tuple[str, Node]]:
    """The string-keyed entries of a mapping node (others are the schema's business)."""
    if not isinstance(node, MappingNode):
        return []
    return [
        (key.value, value)
        for key, value in node.value
        if isinstance(key, ScalarNode) and key.tag == _STR_TAG
    ]


_VALID_KEYS = {
    1: "environments, owner",
    3: "keysetId, branches, tags, frozen, windows",
    5: "kind, schedule, duration, timezone",
}
_LISTS = frozenset({"branches", "tags", "windows"})


def _where(loc: tuple[Any, ...]) -> str:
    """``environments.prod.windows[0].schedule``: list indexes in brackets."""
    where = ""
    for index, part in enumerate(loc):
        if isinstance(part, int) and index and loc[index - 1] in _LISTS:
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    return where


def _describe(error: Any) -> str:  # noqa: PLR0911 - flat dispatch
    loc = [str(part) for part in error["loc"]]
    where = _where(tuple(error["loc"]))
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        valid = _VALID_KEYS.get(len(loc), _VALID_KEYS[3])
        return f"{where}: unknown key; valid keys are {valid}"
    if kind == "missing":
        hint = "give the environment's numeric keyset id" if loc[-1] == "keysetId" else "add it"
        return f"{where}: missing; {hint}"
    if kind == "int_type":
        return f"{where}: must be an integer (the numeric keyset id), not {kind_of(value)}"
    if kind == "greater_than":
        return f"{where}: must be a positive keyset id, not {value!r}"
    if kind == "less_than_equal":
        return (
            f"{where}: is above the largest keyset id ({KEYSET_ID_MAX}); write the "
            "environment's numeric keyset id"
        )
    if kind == "string_type" and loc[-1] == "duration":
        return f"{where}: must be a duration such as 30m, 2h, 1h30m or 1d, not {kind_of(value)}"
    if kind in ("list_type", "dict_type", "model_type", "bool_type", "string_type"):
        wanted = {
            "list_type": "a list",
            "dict_type": "a mapping",
            "model_type": "a mapping",
            "bool_type": "true or false",
            "string_type": "a string",
        }[kind]
        return f"{where}: must be {wanted}, not {kind_of(value)}"
    message = str((error.get("ctx") or {}).get("error", error["msg"]))
    return f"{where}: {message}"


def active_environments(
    config: EnvironmentsConfig | None,
    *,
    branch: str | None,
    tags: tuple[str, ...],
    names: tuple[str, ...] = (),
) -> tuple[Environment, ...]:
    """The environments a sync acts on, in file order.

    ``names`` (``--environment``) given: exactly those, an unknown one is a ConfigError. Else
    every environment whose ``branches`` holds ``branch`` or whose tag globs (fnmatch-style,
    case-sensitive) match one of the commit's ``tags``.
    """
    defined = config.by_name() if config is not None else {}
    if names:
        unknown = [name for name in names if name not in defined]
        if unknown:
            known = ", ".join(defined) or f"none: there is no {CONFIG_NAME}"
            raise ConfigError(
                f"--environment {unknown[0]}: not defined in {CONFIG_NAME} (defined: {known})"
            )
        return tuple(env for name, env in defined.items() if name in names)
    return tuple(
        env
        for env in defined.values()
        if (branch is not None and branch in env.branches)
        or any(fnmatchcase(tag, glob) for tag in tags for glob in env.tags)
    )


__all__ = [
    "CONFIG_NAME",
    "KEYSET_ID_MAX",
    "MAX_CONFIG_BYTES",
    "Environment",
    "EnvironmentSpec",
    "EnvironmentsConfig",
    "WindowSpec",
    "active_environments",
    "parse_environments",
]
