"""Turn settings models into a command line: argparse options, env twins, the flag reference.

An option is declared once, as a field of a pydantic model annotated with :class:`Opt` (flag,
help, metavar, group, env twin). Everything a person sees is generated from those fields by
walking the model, so the parser, the environment lookup, the defaults, the validation and the
flag reference cannot disagree. Precedence: flag, then environment variable, then the
field's default.

Why plain pydantic and not pydantic-settings: its sources name nested fields by path
(``FAAS_GITOPS_API__URL``) while our env names are flat and public, its errors name the field
rather than the flag or variable a person typed, and its CLI source would replace argparse help,
groups and exit codes that the README documents. What it would add over this module is the
precedence loop below, a dozen lines.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticUndefined

from faas_gitops.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)
Kind = Literal["switch", "value", "list"]

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


@dataclass(frozen=True, slots=True)
class Opt:
    """The command-line face of one settings field (``Annotated[type, Opt(...)]``)."""

    flag: str
    help: str
    metavar: str | None = None
    env: str | None = None  # default: FAAS_GITOPS_<FLAG>
    twin: bool | None = None  # None: the model's ``env_twins`` (see ``CommandOptions``)
    group: str | None = None  # default: the title of the model that holds the field
    doc_default: str | None = None  # the flag reference's default, when the value says too little
    secret: bool = False  # never echo the value in an error (webhook URLs carry tokens)
    secret_file: bool = False  # names a file holding a secret: read once, registered for redaction


class CommandOptions(BaseModel):
    """The options a subcommand declares for itself: flags only, no environment variable.

    A CI runner's environment is set up for the sync; a ``FAAS_GITOPS_PACKAGE`` meant for one
    job must not quietly filter what ``history`` shows in the next. The settings groups a command
    shares with the sync (``--state-dir``, ``--commit-url``, the API flags) keep their twins, so
    every command finds the same ledger and the same API. An ``Opt(twin=...)`` overrides.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    env_twins: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Option:
    """One flag found by walking a model: where its value goes and how to read text into it."""

    path: tuple[str, ...]
    spec: Opt
    kind: Kind
    scalar: type
    choices: tuple[str, ...] | None
    default: Any
    group: str
    twin: bool  # has an environment variable: ``Opt.twin``, else its model's ``env_twins``

    @property
    def flag(self) -> str:
        return self.spec.flag

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env_name(self) -> str | None:
        if not self.twin:
            return None
        return self.spec.env or "FAAS_GITOPS_" + self.dest.upper()

    @property
    def takes_value(self) -> bool:
        return self.kind != "switch"

    def convert(self, raw: str | bool | list[str], source: str) -> Any:
        """Text from argv or the environment into the field's type; ``ConfigError`` names it."""
        if self.kind == "switch":
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ConfigError(f"{source}: {raw!r} is not a valid true or false")
        if self.kind == "list":
            items = raw if isinstance(raw, list) else [str(raw)]
            return tuple(self._one(item, source) for item in items)
        return self._one(str(raw), source)

    def _one(self, raw: str, source: str) -> Any:
        shown = "the value" if self.spec.secret else repr(raw)
        if self.choices and raw not in self.choices:
            raise ConfigError(f"{source}: {shown} is not one of {', '.join(self.choices)}")
        try:
            return self.scalar(raw)
        except ValueError:
            raise ConfigError(f"{source}: {shown} is not a valid {self.scalar.__name__}") from None


def options(model: type[BaseModel], only: Collection[str] | None = None) -> tuple[Option, ...]:
    """Every option of ``model`` in declaration order (nested group models expand in place).

    ``only``: dotted field paths (``"api"``, ``"deploy.timeout"``); the options at or under
    them, the rest left out (a command that takes some groups of a shared model).
    """
    found = tuple(_walk(model, (), _title(model)))
    if only is None:
        return found
    wanted = [tuple(path.split(".")) for path in only]
    return tuple(o for o in found if any(o.path[: len(w)] == w for w in wanted))


@dataclass(frozen=True, slots=True)
class Part:
    """The options of ``model`` one command takes: all of them, or those ``only`` selects."""

    model: type[BaseModel]
    only: tuple[str, ...] | None = None

    def options(self) -> tuple[Option, ...]:
        return options(self.model, self.only)


def _walk(model: type[BaseModel], prefix: tuple[str, ...], group: str) -> Iterator[Option]:
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, (*prefix, name), _title(annotation))
            continue
        spec = next((meta for meta in info.metadata if isinstance(meta, Opt)), None)
        if spec is None:
            continue  # not settable from the command line (the API key)
        twin = bool(getattr(model, "env_twins", True)) if spec.twin is None else spec.twin
        kind, scalar, choices = _shape(annotation)
        default = None if info.default is PydanticUndefined else info.default
        group_name = spec.group or group
        yield Option((*prefix, name), spec, kind, scalar, choices, default, group_name, twin)


def _title(model: type[BaseModel]) -> str:
    return str(model.model_config.get("title") or "options")


def _shape(annotation: Any) -> tuple[Kind, type, tuple[str, ...] | None]:
    """Kind, scalar type and choices of a field type (``X | None`` is just ``X`` here)."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _shape(args[0])
    if typing.get_origin(annotation) is Literal:
        values = typing.get_args(annotation)
        return "value", type(values[0]), tuple(str(value) for value in values)
    if typing.get_origin(annotation) in (tuple, list):
        _, scalar, choices = _shape(args[0])
        return "list", scalar, choices
    if annotation is bool:
        return "switch", bool, None
    if annotation in (int, float):
        return "value", annotation, None
    return "value", str, None  # str, Path and validated strings: pydantic converts those


def add_options(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    only: Collection[str] | None = None,
) -> None:
    """Add the options of ``model`` (``only``: see ``options``) to ``parser``, in argument
    groups, each help showing its env twin and default."""
    groups: dict[str, Any] = {}
    for option in options(model, only):
        if option.group not in groups:
            groups[option.group] = parser.add_argument_group(option.group)
        group = groups[option.group]
        hints = [f"env {option.env_name}"] if option.env_name else []
        if option.default not in (None, "", ()):
            hints.append(f"default {option.default}")
        help_text = f"{option.spec.help} [{', '.join(hints)}]" if hints else option.spec.help
        if option.kind == "switch":
            group.add_argument(
                option.flag, action="store_const", const=True, default=None, help=help_text
            )
            continue
        group.add_argument(
            option.flag,
            action="append" if option.kind == "list" else "store",
            default=None,
            choices=option.choices,
            metavar=option.spec.metavar,
            help=help_text,
        )


def add_parts(parser: argparse.ArgumentParser, parts: Sequence[Part]) -> None:
    """Add the options of every part, in order (a command's own, then its settings groups)."""
    for part in parts:
        add_options(parser, part.model, part.only)


def command_parser(
    prog: str, description: str, parts: Sequence[Part], *, epilog: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand's parser: its help text and the options of its ``parts`` (one recipe for
    every command, so each only says what it is and which options it takes)."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog)
    add_parts(parser, parts)
    return parser


def resolve(
    model: type[BaseModel],
    namespace: argparse.Namespace,
    env: Mapping[str, str],
    only: Collection[str] | None = None,
) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """The values given (flag, else env twin), nested by group, and where each came from.

    Options given neither way, and those ``only`` leaves out (their variables are ignored),
    are left out, so the model's own defaults apply.
    """
    data: dict[str, Any] = {}
    sources: dict[tuple[str, ...], str] = {}
    for option in options(model, only):
        raw: str | bool | list[str] | None = getattr(namespace, option.dest, None)
        source = option.flag
        if raw is None and option.env_name and option.env_name in env:
            source = option.env_name
            raw = env[option.env_name]
            if option.kind == "list":
                raw = [item.strip() for item in raw.split(",") if item.strip()]
        if raw is None:
            continue
        node = data
        for key in option.path[:-1]:
            node = node.setdefault(key, {})
        node[option.path[-1]] = option.convert(raw, source)
        sources[option.path] = source
    return data, sources


def validate(
    model: type[ModelT], data: Mapping[str, Any], sources: Mapping[tuple[str, ...], str]
) -> ModelT:
    """The model from resolved values; any bad value is one ``ConfigError`` line naming it."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_line(model, exc, sources)) from None


def build(
    model: type[ModelT],
    namespace: argparse.Namespace,
    env: Mapping[str, str],
    only: Collection[str] | None = None,
) -> ModelT:
    return validate(model, *resolve(model, namespace, env, only))


def validation_line(
    model: type[BaseModel], exc: ValidationError, sources: Mapping[tuple[str, ...], str]
) -> str:
    """Pydantic's first complaint as one line that names the flag or variable a person typed."""
    first = exc.errors()[0]
    loc = tuple(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    known = {option.path: option for option in options(model)}
    for end in range(len(loc), 0, -1):
        option = known.get(loc[:end])
        if option is not None:
            where = sources.get(option.path, option.flag)
            if option.spec.secret:
                return f"{where}: {message}"
            return f"{where}: {message} (got {first.get('input')!r})"
    return message


def flag_table(model: type[BaseModel], only: Collection[str] | None = None) -> str:
    """The flag reference (docs/reference/flags.md), one row per option, exactly as it must read."""
    lines = ["| flag | environment | default | what it does |", "|---|---|---|---|"]
    for option in options(model, only):
        help_text = option.spec.help
        if option.choices:
            help_text += f" ({'/'.join(option.choices)})"
        env = f"`{option.env_name}`" if option.env_name else "—"
        lines.append(f"| `{option.flag}` | {env} | {_doc_default(option)} | {help_text} |")
    return "\n".join(lines) + "\n"


def _doc_default(option: Option) -> str:
    if option.spec.doc_default is not None:
        return option.spec.doc_default
    if option.kind == "switch":
        return "off"
    if option.default in (None, "", ()):
        return ""
    return f"`{option.default}`"


def given_secrets(settings: BaseModel) -> Iterator[tuple[str, Any, bool]]:
    """(flag, value, names a file) of each given secret option, to register for redaction."""
    for option in options(type(settings)):
        if not (option.spec.secret or option.spec.secret_file):
            continue
        value: Any = settings
        for key in option.path:
            value = getattr(value, key)
        for item in value if isinstance(value, tuple) else (value,):
            if item is not None:
                yield option.flag, item, option.spec.secret_file


def parse(
    parser: argparse.ArgumentParser,
    model: type[ModelT],
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
) -> ModelT:
    """Parse ``argv`` into ``model`` (argparse exits 2 on unknown flags; ``ConfigError`` else)."""
    return build(model, parser.parse_args(list(argv)), env or {})
