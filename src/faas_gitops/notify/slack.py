"""Slack incoming webhooks: one message per sync that created, deployed, froze or failed
something.

One message per sync, not per package: a commit touching 40 packages is one thing that happened
to a person reading a channel. Every event in it is still claimed on its own, so a package that
keeps failing on later syncs of the same commit is not announced again. A ``frozen`` event is
counted apart (``2 changed, 1 frozen``): it is neither a change nor a failure, it is a release
waiting for the freeze to end.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from faas_gitops.notify.events import FAILURES, Event, EventKind
from faas_gitops.notify.outgoing import (
    DELIVERY_HEADER,
    Claim,
    Finished,
    Outgoing,
    PostsJson,
    delivery_id,
)
from faas_gitops.notify.secrets import mask_url

#: Slack refuses more than 50 blocks; the header, the summary and a "more" line use three.
MAX_EVENT_LINES = 40
#: A section's text is capped at 3,000 characters; an error rarely needs more than this.
MAX_ERROR_CHARS = 300

_VERBS = {
    EventKind.REVISION_CREATED: ":white_check_mark: created",
    EventKind.DRIFT_CORRECTED: ":arrows_counterclockwise: drift corrected",
    EventKind.PACKAGE_FAILED: ":x: failed",
    EventKind.SYNC_FAILED: ":x: sync failed",
    EventKind.DEPLOYED: ":rocket: deployed",
    EventKind.DEPLOY_FAILED: ":x: deploy failed",
    EventKind.FROZEN: ":snowflake: frozen",
    EventKind.PRUNED: ":wastebasket: pruned",
}


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: ``&``, ``<`` and ``>`` would otherwise make links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackTarget(PostsJson):
    """Posts to a Slack incoming-webhook URL; the URL is the credential, so it is never shown."""

    kind = "slack"

    def __init__(self, url: str, *, public_url: str | None = None) -> None:
        super().__init__(url, mask_url(url, keep_path=False))
        self._public_url = public_url

    def __repr__(self) -> str:
        return f"SlackTarget({self.shown_url!r})"

    def finished(self, sync: Finished, claim: Claim) -> list[Outgoing]:
        keys = [f"{self.ident}|{event.key}" for event in sync.events]
        fresh = [(key, event) for key, event in zip(keys, sync.events, strict=True) if claim(key)]
        if not fresh:
            return []
        events = [event for _, event in fresh]
        body = json.dumps(message(sync.commit, sync.ref, events, self._public_url)).encode()
        headers = {DELIVERY_HEADER: delivery_id(*(key for key, _ in fresh))}
        return [self._post(body, f"message of {len(events)} events", headers)]


def message(
    commit: str, ref: str, events: Sequence[Event], public_url: str | None = None
) -> dict[str, Any]:
    """The Slack payload: ``text`` (notifications, old clients) and ``blocks`` (the message)."""
    failed = sum(1 for e in events if e.kind in FAILURES)
    frozen = sum(1 for e in events if e.kind is EventKind.FROZEN)
    good = len(events) - failed - frozen
    mood = ":x:" if failed else ":snowflake:" if frozen and not good else ":white_check_mark:"
    counts = ", ".join(
        part
        for part in (
            f"{good} changed" if good else "",
            f"{frozen} frozen" if frozen else "",
            f"{failed} failed" if failed else "",
        )
        if part
    )
    where = f"`{escape(ref)}` @ `{escape(commit[:12])}`"
    text = f"faas-gitops: {counts} on {ref} @ {commit[:12]}"
    lines = [_line(e) for e in events[:MAX_EVENT_LINES]]
    if len(events) > MAX_EVENT_LINES:
        lines.append(f"…and {len(events) - MAX_EVENT_LINES} more")
    summary = f"{mood} *{counts}* on {where}"
    if public_url:
        summary += f"  <{escape(public_url)}|status page>"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        *({"type": "section", "text": {"type": "mrkdwn", "text": line}} for line in lines),
    ]
    return {"text": escape(text), "blocks": blocks}


def _line(event: Event) -> str:
    parts = [f"{_VERBS[event.kind]} *{escape(event.label)}*"]
    if event.path and event.path != event.label:
        parts.append(f"(`{escape(event.path)}`)")
    if event.environment:
        parts.append(f"on *{escape(event.environment)}*")
    before, after = event.previous_revision_name, event.revision_name
    if before and after and before != after:
        parts.append(f"`{escape(before)}` → `{escape(after)}`")
    elif after or before:
        parts.append(f"revision `{escape(after or before or '')}`")
    if event.correlation_id:
        parts.append(f"correlation `{escape(event.correlation_id)}`")
    line = " ".join(parts)
    if event.note:
        line += f"\n> {escape(event.note)}"
    if event.error:
        error = (
            event.error
            if len(event.error) <= MAX_ERROR_CHARS
            else event.error[:MAX_ERROR_CHARS] + "…"
        )
        line += f"\n> {escape(error)}"
    return line
