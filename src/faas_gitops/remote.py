"""Old home of the git mirror, now ``faas_gitops.source.mirror``; re-exports only."""

from __future__ import annotations

from faas_gitops.source.mirror import GIT_TIMEOUT_S, fetch_mirror, local_checkout, safe_url

__all__ = ["GIT_TIMEOUT_S", "fetch_mirror", "local_checkout", "safe_url"]
