"""Small HTML pieces both pages share; every value passes ``e`` (escaped, quotes too).

Values come from git and the API (paths, names, notes, errors): nothing is trusted. A commit
becomes a link only through ``links.commit_link`` (a git object id into a checked template).
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from faas_gitops.links import commit_link

MUTED_DASH = '<span class="muted">-</span>'


def e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def ago(moment: datetime | None, now: datetime, *, never: str = "never") -> str:
    """``3 min ago`` in a ``<time>`` whose title is the exact UTC moment."""
    if moment is None:
        return f'<span class="muted">{e(never)}</span>'
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        text = f"{seconds} s ago"
    elif seconds < 3600:
        text = f"{seconds // 60} min ago"
    elif seconds < 86400:
        text = f"{seconds // 3600} h ago"
    else:
        text = f"{seconds // 86400} d ago"
    stamp = iso(moment) or ""
    return f'<time datetime="{e(stamp)}" title="{e(stamp)}">{e(text)}</time>'


def clock(moment: datetime | None) -> str:
    """``09:12 UTC`` (with the date when not today), for "since" in sentences."""
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    today = datetime.now(UTC).date()
    text = moment.strftime("%H:%M UTC" if moment.date() == today else "%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{e(iso(moment))}">{e(text)}</time>'


def code(value: str | None, *, short: int | None = None) -> str:
    if not value:
        return MUTED_DASH
    shown = value[:short] if short else value
    return f'<code title="{e(value)}">{e(shown)}</code>'


def commit(sha: str | None, template: str | None, *, short: int = 12) -> str:
    """The commit's short id, a link when ``--commit-url`` is set."""
    if not sha:
        return MUTED_DASH
    url = commit_link(template, sha)
    shown = code(sha, short=short)
    if url is None:
        return shown
    return f'<a href="{e(url)}" rel="noreferrer noopener" target="_blank">{shown}</a>'


def pill(word: str | None, *, bad: bool = False) -> str:
    """A status word in a pill; a failure also carries ✕ (never colour alone)."""
    if not word:
        return MUTED_DASH
    kind = "bad" if bad else word.replace(" ", "-")
    mark = "✕ " if bad else ""
    return f'<span class="pill pill-{e(kind)}">{mark}{e(word)}</span>'


def package_href(path: str) -> str:
    """The per-package page's URL (path segments percent-encoded, ``/`` kept)."""
    return "/packages/" + quote(path, safe="/")


__all__ = ["MUTED_DASH", "ago", "clock", "code", "commit", "e", "iso", "package_href", "pill"]
