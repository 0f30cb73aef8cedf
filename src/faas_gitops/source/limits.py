"""The size limits every read of a commit obeys: the settings group itself.

``max_manifest_bytes`` and ``max_code_bytes`` fail one package; ``max_packages`` and
``max_total_bytes`` fail the whole read, because past them the repository is not what this tool
was pointed at. They are declared once, as the settings group ``LimitSettings`` (flags, env
twins, defaults, bounds); readers take that group (a test builds one with the limit it needs,
``LimitSettings(max_packages=2)``), so no second declaration of the four names can drift.
"""

from __future__ import annotations

from typing import TypeAlias

from faas_gitops.settings import LimitSettings

#: What a reader is handed: the ``limits`` group of the run's settings.
SizeLimits: TypeAlias = LimitSettings

DEFAULT_LIMITS: SizeLimits = LimitSettings()

__all__ = ["DEFAULT_LIMITS", "SizeLimits"]
