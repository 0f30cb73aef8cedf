"""The size limits every read of a commit obeys, as a Protocol so any settings object fits.

``max_manifest_bytes`` and ``max_code_bytes`` fail one package; ``max_packages`` and
``max_total_bytes`` fail the whole read, because past them the repository is not what this tool
was pointed at. The settings group ``LimitSettings`` has these four attributes, and so has the
small ``Limits`` dataclass kept for tests and callers that build limits by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SizeLimits(Protocol):
    """Anything with the four limits (``LimitSettings``, ``Limits``)."""

    @property
    def max_manifest_bytes(self) -> int: ...

    @property
    def max_code_bytes(self) -> int: ...

    @property
    def max_packages(self) -> int: ...

    @property
    def max_total_bytes(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """The defaults of ``--max-manifest-bytes`` and friends, as a plain value."""

    max_manifest_bytes: int = 64 * 1024
    max_code_bytes: int = 512 * 1024
    max_packages: int = 10_000
    max_total_bytes: int = 256 * 1024 * 1024


DEFAULT_LIMITS = Limits()

__all__ = ["DEFAULT_LIMITS", "Limits", "SizeLimits"]
