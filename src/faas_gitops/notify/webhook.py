"""Generic webhooks: one signed JSON event per POST, for chat bridges, pipelines and audits."""

from __future__ import annotations

import hashlib
import hmac
import json

from faas_gitops.notify.events import Event
from faas_gitops.notify.outgoing import Claim, Finished, Outgoing, PostsJson
from faas_gitops.notify.secrets import mask_url

SIGNATURE_HEADER = "X-Faas-Gitops-Signature-256"
EVENT_HEADER = "X-Faas-Gitops-Event"
DELIVERY_HEADER = "X-Faas-Gitops-Delivery"


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the exact body>``, as GitHub signs its own webhooks."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode_event(event: Event) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in a stable order."""
    return json.dumps(event.to_json(), separators=(",", ":"), sort_keys=True).encode()


class WebhookTarget(PostsJson):
    """POSTs every event to ``url``; with ``secret``, signs each body.

    ``X-Faas-Gitops-Delivery`` is the same for every attempt of one event (a hash of its
    de-duplication key), so a receiver can drop a retry whose first attempt it did get.
    """

    kind = "webhook"

    def __init__(self, url: str, secret: bytes | None = None) -> None:
        super().__init__(url, mask_url(url))
        self._secret = secret

    def __repr__(self) -> str:  # never the URL itself, nor the secret
        return f"WebhookTarget({self.shown_url!r}, signed={self._secret is not None})"

    def finished(self, sync: Finished, claim: Claim) -> list[Outgoing]:
        sent: list[Outgoing] = []
        for event in sync.events:
            key = f"{self.ident}|{event.key}"
            if not claim(key):
                continue
            body = encode_event(event)
            headers = {
                EVENT_HEADER: event.kind.value,
                DELIVERY_HEADER: hashlib.sha256(key.encode()).hexdigest()[:32],
            }
            if self._secret is not None:
                headers[SIGNATURE_HEADER] = sign(self._secret, body)
            sent.append(self._post(body, event.kind.value, headers))
        return sent
