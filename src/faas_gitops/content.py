"""What a package holds, as one digest: the canonical form of its functions and our stamp.

Every revision faas-gitops creates says in its description what it holds
(``faas-gitops: content sha256:<hex>``). The revision stage compares stamps to skip fetching
code; the release stage compares them so a twin revision never rolls a keyset over. Pure: no
I/O, and below every stage, so each can use it without importing another.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from faas_gitops.models import FunctionSpec

STAMP_PREFIX = "faas-gitops: content sha256:"
_STAMP = re.compile(re.escape(STAMP_PREFIX) + r"([0-9a-f]{64})")


def canonical_functions(functions: Iterable[FunctionSpec]) -> str:
    """The canonical form a content stamp is the digest of (documented in the README).

    Compact JSON, keys sorted, UTF-8 (no ASCII escapes), of the list of functions sorted by
    name, each ``{"code", "config", "language", "name", "sortOrder", "type"}``, where ``config``
    drops a ``type`` key equal to the function's type (as comparison does).
    """
    items = [
        {
            "code": fn.code,
            "config": json.loads(comparable_config(fn.config, fn.type)),
            "language": fn.language,
            "name": fn.name,
            "sortOrder": fn.sort_order,
            "type": fn.type,
        }
        for fn in sorted(functions, key=lambda fn: fn.name)
    ]
    return json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_digest(functions: Iterable[FunctionSpec]) -> str:
    """SHA-256 (hex) of ``canonical_functions``: equal digests mean equal functions.

    A package's functions are digested by the reader (is the stamp equal?), the planner and
    the writer: the last digests are remembered by the identity of their (immutable) tuple, so
    12 KB of code is encoded and hashed once per package, not three times.
    """
    if isinstance(functions, tuple):
        hit = _RECENT_DIGESTS.get(id(functions))
        if hit is not None and hit[0] is functions:
            return hit[1]
    digest = hashlib.sha256(canonical_functions(functions).encode()).hexdigest()
    if isinstance(functions, tuple):
        if len(_RECENT_DIGESTS) >= _RECENT_LIMIT:
            _RECENT_DIGESTS.clear()
        # The tuple is kept with its digest, so its id cannot be reused while remembered.
        _RECENT_DIGESTS[id(functions)] = (functions, digest)
    return digest


_RECENT_LIMIT = 256  # a few MB of code at most; the reader and planner run back to back
_RECENT_DIGESTS: dict[int, tuple[tuple[FunctionSpec, ...], str]] = {}


def stamp_of(description: str | None) -> str | None:
    """The content digest a revision's description claims, if it carries our stamp."""
    found = _STAMP.search(description or "")
    return found.group(1) if found else None


def comparable_config(config: Mapping[str, Any], function_type: str) -> str:
    """Canonical JSON of a config for comparison.

    The docs show the API echoing a ``type`` discriminator inside ``config``; a ``type`` equal to
    the function's own type carries no information, so it is dropped on both sides rather than
    making every sync look like a change.
    """
    cleaned = {k: v for k, v in config.items() if not (k == "type" and v == function_type)}
    return json.dumps(cleaned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


__all__ = [
    "STAMP_PREFIX",
    "canonical_functions",
    "comparable_config",
    "content_digest",
    "stamp_of",
]
