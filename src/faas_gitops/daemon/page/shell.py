"""The HTML document around a page's ``<main>``: head, CSP nonce, the top bar, the script.

No CDN, no web font, no external anything: the one ``<style>`` and the one ``<script>`` carry
the response's nonce (``content_security_policy``), so the page works offline under
``default-src 'none'``.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from faas_gitops.daemon.page.assets import SCRIPT, STYLE
from faas_gitops.daemon.page.html import e
from faas_gitops.daemon.page.model import StatusSnapshot, is_bad
from faas_gitops.daemon.page.render import render_main

#: Seconds between the page's reads of ``/api/status``.
REFRESH_S = 5


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


def content_security_policy(nonce: str) -> str:
    """Nothing but our own inline style and script (by nonce) and fetches of this origin."""
    return (
        "default-src 'none'; "
        f"style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def document(title: str, nonce: str, top: str, main: str, script: str = "") -> str:
    """A whole page; ``nonce`` must be the one in this response's CSP header."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'  # no /favicon.ico request
        f"<title>{e(title)}</title>"
        f'<style nonce="{nonce}">{STYLE}</style></head>'
        f'<body><header class="top">{top}</header>{main}'
        + (f'<script nonce="{nonce}">{script}</script>' if script else "")
        + "</body></html>"
    )


def render_page(snapshot: StatusSnapshot, nonce: str, now: datetime | None = None) -> str:
    """The status page (``GET /``)."""
    title = f"{'✕ ' if is_bad(snapshot) else ''}faas-gitops status"
    top = (
        '<h1>faas-gitops</h1><span id="live" class="live" role="status">'
        f"reads /api/status every {REFRESH_S} s</span>"
    )
    script = f"const REFRESH_MS = {REFRESH_S * 1000};{SCRIPT}"
    return document(title, nonce, top, render_main(snapshot, now), script)


__all__ = ["REFRESH_S", "content_security_policy", "document", "new_nonce", "render_page"]
