"""What stops a webhook from being acted on twice: delivery ids, and digests of signed bodies.

A signature proves that GitHub sent a body once; it says nothing about who sends it again. A
captured request can be replayed as is (same ``X-GitHub-Delivery``: ``DeliveryLog`` catches
it) or with a new or no delivery id, which the signature does not cover. ``RecentBodies`` catches
the second kind: the SHA-256 of each signed body acted on is remembered for ``REPLAY_WINDOW_S``,
and the same body again within the window is a duplicate. Two real pushes never share a body
(each names its own ``before``/``after`` commits, pusher and timestamps), so no real delivery is
lost; and the daemon polls and resyncs by itself, so a duplicate costs no commit either.

The residual risk, by design: once the window has passed, the same captured body wakes one
sync again, of a commit already synced (one per window at most, the daemon's own drift-resync
rate). Bounded memory: at most ``BODIES_REMEMBERED`` digests and ``DELIVERIES_REMEMBERED`` ids,
the oldest forgotten first; only requests that passed the signature check are remembered, so
nobody without the secret can flush them.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

#: Delivery ids remembered for replay detection; GitHub retries within minutes, not days.
DELIVERIES_REMEMBERED = 1000
#: Seconds a signed body is remembered: a replay wakes at most one sync per window, the same
#: rate as the default ``--resync-interval`` (the daemon's own full sync).
REPLAY_WINDOW_S = 600.0
#: Signed bodies remembered at once (32-byte digests): a busy repository's pushes in a window.
BODIES_REMEMBERED = 1000


class DeliveryLog:
    """The most recent webhook delivery ids, oldest forgotten first (a bounded LRU)."""

    def __init__(self, size: int = DELIVERIES_REMEMBERED) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def seen(self, delivery: str) -> bool:
        if delivery in self._seen:
            self._seen.move_to_end(delivery)
            return True
        return False

    def remember(self, delivery: str) -> None:
        self._seen[delivery] = None
        self._seen.move_to_end(delivery)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


class RecentBodies:
    """Digests of the signed bodies acted on within the last ``window`` seconds (at most
    ``size``). A repeat does not extend its own window: a replay is limited, not silenced for
    good, so a fixed signed body used on purpose as a manual trigger still works once a window.
    """

    def __init__(
        self,
        *,
        window: float = REPLAY_WINDOW_S,
        size: int = BODIES_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.size = size
        self._clock = clock
        self._accepted: OrderedDict[bytes, float] = OrderedDict()  # digest -> when, oldest first

    def seen(self, body: bytes) -> bool:
        """Whether the same body was acted on within the window."""
        self._forget_expired()
        return _digest(body) in self._accepted

    def remember(self, body: bytes) -> None:
        digest = _digest(body)
        self._accepted.pop(digest, None)
        self._accepted[digest] = self._clock()
        while len(self._accepted) > self.size:
            self._accepted.popitem(last=False)

    def __len__(self) -> int:
        self._forget_expired()
        return len(self._accepted)

    def _forget_expired(self) -> None:
        horizon = self._clock() - self.window
        while self._accepted:
            oldest, at = next(iter(self._accepted.items()))
            if at > horizon:
                return
            del self._accepted[oldest]


def _digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


__all__ = [
    "BODIES_REMEMBERED",
    "DELIVERIES_REMEMBERED",
    "REPLAY_WINDOW_S",
    "DeliveryLog",
    "RecentBodies",
]
