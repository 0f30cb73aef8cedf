"""pydantic's plugin loader without ``importlib.metadata`` while plugins are disabled.

pydantic imports ``pydantic.plugin._loader`` when it builds its first model, and that module
imports ``importlib.metadata`` (with ``zipfile``, ``csv`` and the email parser behind it) at its
top, only to scan entry points that ``PYDANTIC_DISABLE_PLUGINS=__all__`` (faas-gitops's default,
see ``faas_gitops/__init__.py``) says not to scan: 30-70 ms of every sync's start-up, before its
first request (issue 25, measured with the sync's own imports, 10 interleaved runs).

``install()`` puts a stand-in for that module in ``sys.modules`` whose ``get_plugins`` answers
``()`` exactly when pydantic's own would (the variable says ``__all__``, ``1`` or ``true``, read at
each call as pydantic reads it); any other call, or any other name asked of it, swaps in the
real module and answers from it, so a run with plugins enabled behaves as without the stand-in.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable

LOADER = "pydantic.plugin._loader"
#: The values with which pydantic's ``get_plugins`` returns no plugin without a scan.
DISABLED = ("__all__", "1", "true")


class _Loader(types.ModuleType):
    """Stands in for ``pydantic.plugin._loader`` until something needs the real one."""

    def get_plugins(self) -> Iterable[object]:
        if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in DISABLED:
            return ()
        found: Iterable[object] = _real().get_plugins()
        return found

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):  # the import system asking (``__path__``): not a package
            raise AttributeError(name)
        return getattr(_real(), name)


def _real() -> types.ModuleType:
    """The real loader, from now on in ``sys.modules`` in the stand-in's place."""
    if isinstance(sys.modules.get(LOADER), _Loader):
        del sys.modules[LOADER]
    return importlib.import_module(LOADER)


def install() -> None:
    """The stand-in, unless the real loader is already loaded or plugins are not disabled."""
    if LOADER in sys.modules or os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in DISABLED:
        return
    sys.modules[LOADER] = _Loader(LOADER)


__all__ = ["DISABLED", "LOADER", "install"]
