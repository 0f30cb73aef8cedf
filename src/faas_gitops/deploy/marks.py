"""What faas-gitops writes into a remote package's ``tags``: ownership and rollback holds.

Every CI runner starts with an empty state dir, and a Kubernetes emptyDir dies with its pod, so
what must survive a cold run lives on the package itself (REFERENCE §11: ``tags`` are documented,
``PUT /v2/faas/packages/{id}`` updates them). Our tags share one prefix; every other tag belongs
to someone else and is kept exactly as it is (read-modify-write of our prefix only).

- ``fgo-owner:<owner>``: this repository manages the package (``owner:`` in
  ``faas-gitops.yaml``, default derived from the repository). A package without our mark for
  this owner is never stopped.
- ``fgo-dir:<path>``: the package directory it was synced from, so ``--prune --path teamB``
  only considers packages under ``teamB`` and a removed package keeps a name in every view.
- ``fgo-hold:<keyset>:<revision id>``: a rollback holds that revision on that keyset;
  ``fgo-held:<keyset>:<unix seconds>:<digest>`` says since when, and the content digest (first
  16 hex digits) of the revision it replaced: the hold lifts when git's content differs.

Pure: parsing and formatting only; ``deploy.inventory`` reads and writes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

PREFIX = "fgo-"
OWNER = "fgo-owner:"
DIRECTORY = "fgo-dir:"
HOLD = "fgo-hold:"
HELD = "fgo-held:"
#: Tags longer than this are not safe to assume (REFERENCE §11): a longer directory is hashed.
MAX_TAG = 64
DIGEST_LENGTH = 16
#: The replaced content is unknown: only ``rollback --release`` lifts such a hold.
MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class Hold:
    """A rollback holding ``revision_id`` on ``keyset_id`` since ``since``; it guards against
    redeploying the content whose digest starts with ``replaced_digest``."""

    keyset_id: int
    revision_id: str
    since: datetime
    replaced_digest: str

    def lifted_by(self, digest: str | None) -> bool:
        """Whether git's content (``digest``) changed since the hold: then the hold is over.

        A hold whose replaced content is unknown (``MANUAL``: a revision made by hand, with
        no content stamp) is lifted only by ``rollback --release``.
        """
        if self.replaced_digest == MANUAL or digest is None:
            return False
        return not digest.startswith(self.replaced_digest)


@dataclass(frozen=True, slots=True)
class Marks:
    """Our tags on one package, parsed; ``others`` are everyone else's, kept verbatim."""

    owners: frozenset[str] = frozenset()
    directory: str | None = None
    holds: Mapping[int, Hold] | None = None
    others: tuple[str, ...] = ()

    def owned_by(self, owner: str) -> bool:
        return owner in self.owners

    def hold_on(self, keyset_id: int) -> Hold | None:
        return (self.holds or {}).get(keyset_id)


def parse(tags: Iterable[str]) -> Marks:
    """Our marks in ``tags``; a malformed tag of our prefix is ignored (never trusted)."""
    owners: set[str] = set()
    directory: str | None = None
    hold_ids: dict[int, str] = {}
    held: dict[int, tuple[datetime, str]] = {}
    others: list[str] = []
    for tag in tags:
        if not tag.startswith(PREFIX):
            others.append(tag)
        elif tag.startswith(OWNER) and len(tag) > len(OWNER):
            owners.add(tag[len(OWNER) :])
        elif tag.startswith(DIRECTORY) and len(tag) > len(DIRECTORY):
            directory = tag[len(DIRECTORY) :]
        elif tag.startswith(HOLD):
            keyset, _, revision = tag[len(HOLD) :].partition(":")
            if keyset.isdecimal() and revision:
                hold_ids[int(keyset)] = revision
        elif tag.startswith(HELD):
            parts = tag[len(HELD) :].split(":")
            if len(parts) == 3 and parts[0].isdecimal() and parts[1].isdecimal() and parts[2]:
                held[int(parts[0])] = (datetime.fromtimestamp(int(parts[1]), UTC), parts[2])
    holds = {
        keyset: Hold(keyset, revision, *held[keyset])
        for keyset, revision in hold_ids.items()
        if keyset in held
    }
    return Marks(frozenset(owners), directory, holds, tuple(others))


def directory_tag(path: str) -> str:
    """``fgo-dir:<path>``, with a long path cut and made unique by a hash of the whole."""
    tag = f"{DIRECTORY}{path}"
    if len(tag) <= MAX_TAG:
        return tag
    digest = hashlib.sha256(path.encode()).hexdigest()[:8]
    return f"{tag[: MAX_TAG - 9]}~{digest}"


def directory_matches(tagged: str | None, path: str) -> bool:
    """Whether a package tagged with directory ``tagged`` is the directory ``path``."""
    return tagged is not None and tagged == directory_tag(path)[len(DIRECTORY) :]


def within(tagged: str | None, scope: str) -> bool:
    """Whether a tagged directory lies under ``--path`` (``scope``; empty: the whole repo)."""
    if not scope:
        return True
    return tagged is not None and (tagged == scope or tagged.startswith(scope.rstrip("/") + "/"))


def with_marks(
    tags: Iterable[str],
    *,
    owner: str | None = None,
    directory: str | None = None,
    holds: Mapping[int, Hold | None] | None = None,
) -> list[str]:
    """``tags`` with our marks set: ``owner`` added, ``directory`` replaced, each hold in
    ``holds`` set (a ``None`` value removes that keyset's hold). Others' tags keep their order."""
    current = parse(tags)
    result = list(current.others)
    owners = set(current.owners)
    if owner is not None:
        owners.add(owner)
    result += [f"{OWNER}{name}" for name in sorted(owners)]
    new_directory = directory_tag(directory) if directory is not None else None
    if new_directory is None and current.directory is not None:
        new_directory = f"{DIRECTORY}{current.directory}"
    if new_directory is not None:
        result.append(new_directory)
    merged: dict[int, Hold] = dict(current.holds or {})
    for keyset, hold in (holds or {}).items():
        if hold is None:
            merged.pop(keyset, None)
        else:
            merged[keyset] = hold
    for keyset, hold in sorted(merged.items()):
        result.append(f"{HOLD}{keyset}:{hold.revision_id}")
        stamp = int(hold.since.timestamp())
        result.append(f"{HELD}{keyset}:{stamp}:{hold.replaced_digest[:DIGEST_LENGTH]}")
    return result


__all__ = [
    "MANUAL",
    "Hold",
    "Marks",
    "directory_matches",
    "directory_tag",
    "parse",
    "with_marks",
    "within",
]
