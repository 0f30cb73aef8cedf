"""What every settings group stands on: the API defaults, the value rules, the state dir.

Neutral on purpose: the HTTP client (``faas_gitops.api``) takes its defaults from here, so the
settings never import the client (``--help`` must not pay for httpx) and the two cannot form a
circle.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from faas_gitops.links import check_template
from faas_gitops.names import ENVIRONMENT_NAME_RULE, is_environment_name
from faas_gitops.options import Opt

DEFAULT_API_URL = "https://admin-api.pubnub.com"
DEFAULT_API_VERSION = "2026-05-26"

OutputFormat = Literal["text", "json", "markdown"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

_URL = re.compile(r"^https?://[^\s/]+")


def _http_url(value: str) -> str:
    """Any URL option: http or https with a host; a trailing slash is dropped."""
    if not _URL.match(value):
        raise ValueError("must be an http(s) URL such as https://admin-api.pubnub.com")
    return value.rstrip("/")


def _environment_name(value: str) -> str:
    if not is_environment_name(value):
        raise ValueError(ENVIRONMENT_NAME_RULE)
    return value


def matching(pattern: str, rule: str) -> AfterValidator:
    """The validator of a text option with a shape (``re.match`` of ``pattern``): ``rule`` is
    the one-line error that says what the shape is; ``None`` (an optional option left out)
    passes. One helper, so every such option fails with the same kind of line."""
    shape = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and not shape.match(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


#: A number of seconds more than zero: every interval and timeout option.
Seconds = Annotated[float, Field(gt=0)]
#: A count of one or more (consecutive failures, and the like).
AtLeastOne = Annotated[int, Field(ge=1)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
EnvironmentName = Annotated[str, AfterValidator(_environment_name)]


class Group(BaseModel):
    """A settings group: immutable, and a field it does not declare is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


def default_state_dir() -> Path:
    """The XDG state directory, where a CI runner or a laptop keeps the ledger by default."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "faas-gitops"


#: ``--state-dir``, declared once: the sync, ``status``, ``history``, ``promote`` and
#: ``rollback`` share the flag and its env twin, so all of them find the same ledger.
StateDir = Annotated[
    Path,
    Field(default_factory=default_state_dir),
    Opt(
        "--state-dir",
        "directory for the ledger and caches (default: the XDG state dir)",
        "DIR",
        doc_default="`$XDG_STATE_HOME/faas-gitops`",
        twin=True,  # shared: every command that declares it reads the same variable
    ),
]


#: ``--commit-url``, declared once: the sync, the daemon and ``history`` link commits alike.
CommitUrl = Annotated[
    str | None,
    AfterValidator(lambda value: None if value is None else check_template(value)),
    Opt(
        "--commit-url",
        "link commits on the status page, in notifications and in markdown; {sha} is "
        "replaced by the commit id",
        "TEMPLATE",
        doc_default="no links",
        twin=True,  # shared: every command that declares it reads the same variable
    ),
]


def is_remote_url(repo: str) -> bool:
    """https://, ssh://, git://, file:// URLs and scp-style ``user@host:path`` are remote."""
    return bool(re.match(r"^(https?|ssh|git|file)://", repo)) or bool(
        re.match(r"^[\w.-]+@[\w.-]+:", repo)
    )
