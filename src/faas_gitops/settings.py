"""One validated settings object made of small groups, built once by the CLI.

Validation happens here, once, so a bad value is one line and exit code 2 before any work starts,
and nothing deeper in the pipeline re-checks its inputs. The API key is a ``SecretStr``: its
``repr`` and ``str`` are masked, so a settings object can be logged without leaking it.
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from faas_gitops.api import DEFAULT_API_URL, DEFAULT_API_VERSION

OutputFormat = Literal["text", "json", "markdown"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GitSettings(_Group):
    repo: str = "."
    ref: str | None = None  # None: HEAD locally, the remote's default branch for a URL
    path: str = ""

    @property
    def is_remote(self) -> bool:
        return is_remote_url(self.repo)


class ApiSettings(_Group):
    url: str = DEFAULT_API_URL
    version: str = DEFAULT_API_VERSION
    key: SecretStr
    ca_bundle: Path | None = None
    concurrency: int = Field(default=8, ge=1, le=64)
    max_rps: float | None = Field(default=None, gt=0)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http(s) URL such as https://admin-api.pubnub.com")
        return value.rstrip("/")

    @field_validator("ca_bundle")
    @classmethod
    def _readable_pem(cls, value: Path | None) -> Path | None:
        """Checked once here, so a bad bundle is exit 2 before any git or API work."""
        if value is not None:
            try:
                ssl.create_default_context(cafile=str(value))
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or str(exc)
                raise ValueError(
                    f"not a readable PEM bundle of CA certificates ({reason})"
                ) from None
        return value

    def tls_verify(self) -> ssl.SSLContext | bool:
        """Verification is always on; ``--ca-bundle`` swaps in a private CA."""
        if self.ca_bundle is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_bundle))

    @field_validator("version")
    @classmethod
    def _date(cls, value: str) -> str:
        if not _DATE.match(value):
            raise ValueError("must be a date YYYY-MM-DD (PubNub-Version header)")
        return value


class LimitSettings(_Group):
    max_manifest_bytes: int = Field(default=64 * 1024, gt=0)
    max_code_bytes: int = Field(default=512 * 1024, gt=0)
    max_packages: int = Field(default=10_000, gt=0)
    max_total_bytes: int = Field(default=256 * 1024 * 1024, gt=0)


class LogSettings(_Group):
    format: LogFormat = "auto"
    level: LogLevel = "info"


class LoopSettings(_Group):
    """The daemon's knobs; unused by ``--sync-once``."""

    listen: str = "0.0.0.0:8080"  # a sidecar must be reachable by the kubelet
    interval: float = Field(default=30.0, gt=0)
    resync_interval: float = Field(default=600.0, gt=0)
    unready_after: int = Field(default=3, ge=1)
    max_failures: int | None = Field(default=None, ge=1)
    shutdown_timeout: float = Field(default=20.0, ge=0)
    webhook_secret_file: Path | None = None


class Settings(_Group):
    git: GitSettings
    api: ApiSettings
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    loop: LoopSettings = LoopSettings()
    state_dir: Path
    dry_run: bool = False
    create_packages: bool = False
    full_sync: bool = False
    output: OutputFormat = "text"


def is_remote_url(repo: str) -> bool:
    """https://, ssh://, git://, file:// URLs and scp-style ``user@host:path`` are remote."""
    return bool(re.match(r"^(https?|ssh|git|file)://", repo)) or bool(
        re.match(r"^[\w.-]+@[\w.-]+:", repo)
    )


def default_state_dir() -> Path:
    """The XDG state directory, where a CI runner or a laptop keeps the ledger by default."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "faas-gitops"
