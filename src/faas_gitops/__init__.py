"""faas-gitops: reconcile a git repository of PubNub Functions packages into the FaaS v2 API."""

from __future__ import annotations

import os
import sys

# ``import httpx`` also imports its command-line client (click, pygments, rich; ~25 ms of start-up)
# only to define ``httpx.main``, which nothing here calls. A ``None`` entry makes that import fail
# at once and httpx falls back to its stub, exactly as where those packages are not installed.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# The first pydantic model built looks for pydantic plugins in the entry points of every
# installed distribution (``importlib.metadata``: 20-40 ms of every sync's start-up, before its
# first request); faas-gitops has none. A value already in the environment is kept.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
# ...and then not even import the loader of those plugins (``importlib.metadata``): see there.
from faas_gitops import no_plugins  # noqa: E402 - after the variable it reads

no_plugins.install()


def __getattr__(name: str) -> str:
    """``__version__`` on first use: ``importlib.metadata`` costs ~70 ms of start-up, and only
    ``--version`` and the User-Agent of a report ask for it."""
    if name != "__version__":
        raise AttributeError(f"module 'faas_gitops' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        found = version("faas-gitops")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found


__all__ = ["__version__"]  # provided by __getattr__
