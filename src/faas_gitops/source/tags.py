"""Version order for tags: the highest version tag on a commit names its revision."""

from __future__ import annotations

import re


def version_key(tag: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders tags as versions: ``v1.10.0`` above ``v1.9.0``.

    A name with a digit in it ranks above any name without one, so a version tag, not
    ``latest`` or ``stable``, comes first and names the revision.
    The name is split into runs of digits (compared as numbers) and of other characters
    (compared as text). The end of a name ranks above a following pre-release run that starts
    with ``-`` or ``~`` (so ``v1.0.0`` is above ``v1.0.0-rc1``, as semver says) but below any
    other continuation (so ``v1.0.0.1`` is above ``v1.0.0``). Sort with ``reverse=True`` for
    highest first.
    """
    parts: list[tuple[int, int, str]] = [(1 if any(ch.isdigit() for ch in tag) else 0, 0, "")]
    for run in re.findall(r"\d+|\D+", tag):
        if run.isdigit():
            parts.append((2, int(run), ""))
        elif run[0] in "-~":
            parts.append((0, 0, run))
        else:
            parts.append((3, 0, run))
    parts.append((1, 0, ""))
    return tuple(parts)


def sort_tags(tags: list[str]) -> tuple[str, ...]:
    """Highest version first; equal keys (``v01`` and ``v1``) fall back to the name."""
    return tuple(sorted(tags, key=lambda tag: (version_key(tag), tag), reverse=True))


__all__ = ["sort_tags", "version_key"]
