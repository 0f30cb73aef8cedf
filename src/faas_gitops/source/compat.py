"""The entry points the sync core used before ``Repository``; thin, and due to be deleted.

``GitSource(repo).read_desired(...)`` reads a whole commit the old way (one call, a package
cache keyed by path and tree id, a callback per package) on top of ``Repository``; the new core
lists ``package_refs`` and calls ``read_package`` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping

import structlog

from faas_gitops.models import CommitInfo, DesiredPackage, DesiredState, PackageFailure
from faas_gitops.source.limits import DEFAULT_LIMITS, SizeLimits
from faas_gitops.source.repository import Repository, total_bytes_error

log = structlog.get_logger(__name__)

PackageCache = MutableMapping[tuple[str, str], DesiredPackage | PackageFailure]


class GitSource(Repository):
    """``Repository`` plus the one-call ``read_desired`` of the old core."""

    def read_desired(
        self,
        commit: CommitInfo,
        path: str = "",
        *,
        limits: SizeLimits = DEFAULT_LIMITS,
        cache: PackageCache | None = None,
        on_package: Callable[[DesiredPackage | PackageFailure], None] | None = None,
    ) -> DesiredState:
        """Every package below ``path`` in ``commit``'s tree, packages sorted by path.

        A package that fails becomes a ``PackageFailure`` and the others still load; only
        repository-wide problems (unknown path, limits) raise ``SourceError``. ``cache`` maps
        (package path, git tree id) to a package read earlier: a directory whose tree id is
        unchanged is not re-read; only successes are cached, and the mapping is pruned in place
        to this read's packages. ``max_total_bytes`` counts every package's files (blob sizes),
        checked in path order as packages are handed to ``on_package``, so a caller may start
        on the first packages while the rest are still being read.
        """
        started = time.process_time()
        refs = self.package_refs(commit, path, limits, check_total=False)
        packages: list[DesiredPackage] = []
        failures: list[PackageFailure] = []
        kept: set[tuple[str, str]] = set()
        used = cached = 0
        for ref in refs:
            used += ref.size
            if used > limits.max_total_bytes:
                raise total_bytes_error(limits)
            key = (ref.path, ref.tree_id)
            hit = cache.get(key) if cache is not None else None
            result = hit if isinstance(hit, DesiredPackage) else self.read_package(ref, limits)
            cached += result is hit
            if isinstance(result, DesiredPackage):
                packages.append(result)
                kept.add(key)
                if cache is not None:
                    cache[key] = result
            else:
                failures.append(result)
            if on_package is not None:
                on_package(result)
        if cache is not None:
            for stale in [key for key in cache if key not in kept]:
                del cache[stale]
        log.debug(
            "desired_state_read",
            commit=commit.sha[:12],
            packages=len(packages),
            failures=len(failures),
            cached=cached,
            bytes=used,
            cpu_seconds=round(time.process_time() - started, 4),
        )
        return DesiredState(commit=commit, packages=tuple(packages), failures=tuple(failures))


__all__ = ["GitSource", "PackageCache"]
