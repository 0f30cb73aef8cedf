"""``faas-gitops.yaml``: which keysets a commit runs on, read from the commit being synced.

The file sits at the root of ``--path`` and is read from git, like the manifests, so what runs
where is decided by a reviewed commit. It is optional: without it no environment is active and
no deployment is ever made. Any problem is one ``ConfigError`` line (exit 2): a half-understood
map of environments to keysets must never deploy.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from faas_gitops.errors import ConfigError, SourceError
from faas_gitops.models import CommitInfo
from faas_gitops.source.repository import Repository
from faas_gitops.source.walk import normalise_path
from faas_gitops.source.yaml_loader import kind_of, load_document

CONFIG_NAME = "faas-gitops.yaml"
MAX_CONFIG_BYTES = 64 * 1024


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
    """One environment: a keyset, and the branches and tag globs whose commits it runs."""

    name: str
    keyset_id: int
    branches: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    frozen: bool = False


class EnvironmentSpec(_Strict):
    """One entry of ``environments:`` as written."""

    keyset_id: int = Field(alias="keysetId", gt=0)
    branches: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    frozen: bool = False

    @field_validator("branches")
    @classmethod
    def _branches(cls, value: list[str]) -> list[str]:
        return _names(value, "a branch name")

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _names(value, "a tag glob")


class EnvironmentsConfig(_Strict):
    """The whole file: environments by name, in file order."""

    environments: dict[str, EnvironmentSpec]

    @field_validator("environments")
    @classmethod
    def _named(cls, value: dict[str, EnvironmentSpec]) -> dict[str, EnvironmentSpec]:
        if not value:
            raise ValueError("is empty; define at least one environment, or remove the file")
        _names(list(value), "an environment name")
        return value

    def by_name(self) -> dict[str, Environment]:
        return {
            name: Environment(
                name=name,
                keyset_id=spec.keyset_id,
                branches=tuple(spec.branches),
                tags=tuple(spec.tags),
                frozen=spec.frozen,
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
    try:
        return EnvironmentsConfig.model_validate(document)
    except ValidationError as exc:
        # An unknown key first: a typo ("environment") also makes the real key look missing.
        errors = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
        raise ConfigError(f"{file}: {_describe(errors[0])}") from None


def _describe(error: Any) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        valid = "environments" if len(loc) == 1 else "keysetId, branches, tags, frozen"
        return f"{where}: unknown key; valid keys are {valid}"
    if kind == "missing":
        hint = "give the environment's numeric keyset id" if loc[-1] == "keysetId" else "add it"
        return f"{where}: missing; {hint}"
    if kind == "int_type":
        return f"{where}: must be an integer (the numeric keyset id), not {kind_of(value)}"
    if kind == "greater_than":
        return f"{where}: must be a positive keyset id, not {value!r}"
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


def load_environments(
    repository: Repository, commit: CommitInfo | str, path: str = ""
) -> EnvironmentsConfig | None:
    """``faas-gitops.yaml`` at the root of ``path`` in the commit; None when there is none."""
    root = normalise_path(path)
    file = f"{root}/{CONFIG_NAME}" if root else CONFIG_NAME
    try:
        data = repository.read_file(commit, file, MAX_CONFIG_BYTES)
    except SourceError as exc:  # a link or a directory where the file should be, too big
        raise ConfigError(str(exc)) from None
    return None if data is None else parse_environments(data, file)


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
    "Environment",
    "EnvironmentSpec",
    "EnvironmentsConfig",
    "active_environments",
    "load_environments",
    "parse_environments",
]
