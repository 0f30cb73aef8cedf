"""The size limits every read of a commit obeys, as a Protocol so any settings object fits.

``max_manifest_bytes`` and ``max_code_bytes`` fail one package; ``max_packages`` and
``max_total_bytes`` fail the whole read, because past them the repository is not what this tool
was pointed at. They are declared once, as the settings group ``LimitSettings`` (flags, env
twins, defaults); readers accept anything with the four attributes.
"""

from __future__ import annotations

from typing import Protocol

from faas_gitops.settings import LimitSettings


class SizeLimits(Protocol):
    """Anything with the four limits (``LimitSettings``, a test's stand-in)."""

    @property
    def max_manifest_bytes(self) -> int: ...

    @property
    def max_code_bytes(self) -> int: ...

    @property
    def max_packages(self) -> int: ...

    @property
    def max_total_bytes(self) -> int: ...


DEFAULT_LIMITS: SizeLimits = LimitSettings()

__all__ = ["DEFAULT_LIMITS", "SizeLimits"]
