"""The groups that say where to read and write: git, the API, size limits, logging."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import ConfigDict, Field, SecretStr, field_validator

from faas_gitops.options import Opt
from faas_gitops.settings.base import (
    DEFAULT_API_URL,
    DEFAULT_API_VERSION,
    Group,
    HttpUrl,
    LogFormat,
    LogLevel,
    Seconds,
    is_remote_url,
    matching,
)

if TYPE_CHECKING:
    import ssl


class GitSettings(Group):
    model_config = ConfigDict(title="git")

    repo: Annotated[
        str,
        Opt(
            "--repo",
            "git repository: a local path (may be a git-sync symlink) or a URL "
            "(https, ssh, file) to clone and poll",
            metavar="PATH|URL",
        ),
    ] = "."
    ref: Annotated[
        str | None,
        Opt(
            "--ref",
            "branch, tag or commit to sync (default HEAD; for a URL the remote's default branch)",
            doc_default="`HEAD` (URL: remote default branch)",
        ),
    ] = None
    path: Annotated[
        str,
        Opt(
            "--path",
            "directory inside the repository that holds the packages",
            metavar="DIR",
            doc_default="repo root",
        ),
    ] = ""

    @property
    def is_remote(self) -> bool:
        return is_remote_url(self.repo)


class ApiOptions(Group):
    """The API flags, without the key: what ``status`` takes even when it asks no API."""

    model_config = ConfigDict(title="API")

    url: Annotated[
        HttpUrl, Opt("--api-url", "FaaS admin API base URL", env="FAAS_API_URL", metavar="URL")
    ] = DEFAULT_API_URL
    version: Annotated[
        str,
        matching(r"^\d{4}-\d{2}-\d{2}$", "must be a date YYYY-MM-DD (PubNub-Version header)"),
        Opt("--api-version", "PubNub-Version header (YYYY-MM-DD)", metavar="DATE"),
    ] = DEFAULT_API_VERSION
    key_file: Annotated[
        Path | None,
        Opt(
            "--api-key-file",
            "file holding the API key (else env FAAS_API_KEY); there is no "
            "flag that takes the key itself",
            env="FAAS_API_KEY_FILE",
            metavar="FILE",
            doc_default="— (else `FAAS_API_KEY`)",
        ),
    ] = None
    ca_bundle: Annotated[
        Path | None,
        Opt(
            "--ca-bundle",
            "PEM bundle of a private CA; TLS verification is always on",
            metavar="FILE",
        ),
    ] = None
    concurrency: Annotated[
        int,
        Field(ge=1, le=64),
        Opt("--concurrency", "packages synced at once (one shared connection pool)", "N"),
    ] = 8
    max_rps: Annotated[
        float | None,
        Field(gt=0),
        Opt(
            "--max-rps",
            "global request rate limit (token bucket shared by all packages)",
            "N",
            doc_default="unlimited",
        ),
    ] = None
    timeout: Annotated[
        Seconds,
        Opt("--timeout", "seconds before an API call is abandoned", "SECONDS"),
    ] = 30.0

    @field_validator("ca_bundle")
    @classmethod
    def _readable_pem(cls, value: Path | None) -> Path | None:
        """Checked once here, so a bad bundle is exit 2 before any git or API work."""
        import ssl  # noqa: PLC0415 - not for --help

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
        import ssl  # noqa: PLC0415

        if self.ca_bundle is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_bundle))


class ApiSettings(ApiOptions):
    """The API flags and the key, which has no flag: its ``repr`` and ``str`` are masked."""

    key: SecretStr  # from FAAS_API_KEY or --api-key-file only, never a flag


class LimitSettings(Group):
    """Size limits that keep one hostile or mistaken commit from exhausting memory.

    ``max_manifest_bytes`` and ``max_code_bytes`` fail one package; ``max_packages`` and
    ``max_total_bytes`` (all manifests and code read from one commit) fail the whole read,
    because past them the repository is not what this tool was pointed at.
    """

    model_config = ConfigDict(title="limits")

    max_code_bytes: Annotated[
        int, Field(gt=0), Opt("--max-code-bytes", "largest function file accepted", "BYTES")
    ] = 512 * 1024
    max_manifest_bytes: Annotated[
        int, Field(gt=0), Opt("--max-manifest-bytes", "largest package.yaml accepted", "BYTES")
    ] = 64 * 1024
    max_packages: Annotated[
        int, Field(gt=0), Opt("--max-packages", "most packages one commit may hold", "N")
    ] = 10_000
    max_total_bytes: Annotated[
        int, Field(gt=0), Opt("--max-total-bytes", "most bytes read from one commit", "BYTES")
    ] = 256 * 1024 * 1024


class LogSettings(Group):
    model_config = ConfigDict(title="logging")

    format: Annotated[
        LogFormat, Opt("--log-format", "log format on stderr (auto: JSON unless a TTY)")
    ] = "auto"
    level: Annotated[LogLevel, Opt("--log-level", "log level")] = "info"
