"""Slack incoming webhooks: one message per sync that created, deployed, froze or failed
something.

One message per sync, not per package: a commit touching 40 packages is one thing that happened
to a person reading a channel. Every event in it is still claimed on its own, so a package that
keeps failing on later syncs of the same commit is not announced again. A ``frozen`` event is
counted apart (``2 changed, 1 frozen``): it is neither a change nor a failure, it is a release
waiting for the freeze to end; ``recovered`` too (good news, but no change).

The commit is a link with ``--commit-url``, the summary links the status page with
``--public-url``. Headers: ``Content-Type``, ``User-Agent`` and ``X-Faas-Gitops-Delivery`` (Slack
ignores it; a bridge may de-duplicate on it); no signature: the URL is the credential.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from faas_gitops.notify.events import FAILURES, Event, EventKind
from faas_gitops.notify.outgoing import DELIVERY_HEADER, Claim, Finished, Outgoing, PostsJson
from faas_gitops.notify.outgoing import delivery_id as delivery_of
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
    EventKind.RECOVERED: ":white_check_mark: recovered",
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

    def __init__(self, url: str) -> None:
        super().__init__(url, mask_url(url, keep_path=False))

    def __repr__(self) -> str:
        return f"SlackTarget({self.shown_url!r})"

    def finished(self, sync: Finished, claim: Claim) -> list[Outgoing]:
        fresh = self._fresh(sync, claim)
        if not fresh:
            return []
        events = [event for _, event in fresh]
        document = message(sync.commit, sync.ref, events, sync.page_url, commit_url=sync.commit_url)
        body = json.dumps(document).encode()
        headers = {DELIVERY_HEADER: delivery_of(*(key for key, _ in fresh))}
        return [self._post(body, f"message of {len(events)} events", headers)]


def message(
    commit: str,
    ref: str,
    events: Sequence[Event],
    public_url: str | None = None,
    *,
    commit_url: str | None = None,
) -> dict[str, Any]:
    """The Slack payload: ``text`` (notifications, old clients) and ``blocks`` (the message)."""
    failed = sum(1 for e in events if e.kind in FAILURES)
    frozen = sum(1 for e in events if e.kind is EventKind.FROZEN)
    recovered = sum(1 for e in events if e.kind is EventKind.RECOVERED)
    good = len(events) - failed - frozen - recovered
    calm = (frozen or recovered) and not good
    mood = ":x:" if failed else ":snowflake:" if calm and frozen else ":white_check_mark:"
    counts = ", ".join(
        part
        for part in (
            "recovered" if recovered else "",
            f"{good} changed" if good else "",
            f"{frozen} frozen" if frozen else "",
            f"{failed} failed" if failed else "",
        )
        if part
    )
    short = escape(commit[:12])
    shown = f"<{escape(commit_url)}|{short}>" if commit_url else f"`{short}`"
    where = f"`{escape(ref)}` @ {shown}"
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
    parts = [_VERBS[event.kind]]
    if event.path is not None:  # a package's event (else the run's: sync failed, recovered)
        label = escape(event.label)
        page = event.page_url
        parts.append(f"*<{escape(page)}|{label}>*" if page else f"*{label}*")
    if event.path and event.path != event.label:
        parts.append(f"(`{escape(event.path)}`)")
    if event.environment:
        parts.append(f"on *{escape(event.environment)}*")
    before, after = event.ran_before, event.revision_name
    if before and after and before != after:
        parts.append(f"`{escape(before)}` → `{escape(after)}`")
    elif after or before:
        parts.append(f"revision `{escape(after or before or '')}`")
    if event.correlation_id:
        parts.append(f"correlation `{escape(event.correlation_id)}`")
    if event.kind is EventKind.RECOVERED:
        parts.append(f"after {event.failing.syncs if event.failing else 1} failed run(s)")
    spell = event.failing if event.kind is EventKind.RECOVERED else None
    quoted = (
        event.deployment and event.deployment.note,
        spell and "last error: " + _clipped(spell.error),
        event.error and _clipped(event.error),
    )
    return " ".join(parts) + "".join(f"\n> {escape(text)}" for text in quoted if text)


def _clipped(error: str) -> str:
    return error if len(error) <= MAX_ERROR_CHARS else error[:MAX_ERROR_CHARS] + "…"
