"""Generic webhooks: one signed JSON event per POST, for chat bridges, pipelines and audits.

Headers of every POST: ``Content-Type: application/json``, ``User-Agent: faas-gitops-notify``,
``X-Faas-Gitops-Event`` (the event's kind), ``X-Faas-Gitops-Delivery`` (the same for every
attempt of one event, in every run; the body's ``deliveryId``) and, with
``--notify-secret-file``, ``X-Faas-Gitops-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the
exact body bytes keyed with the file's content without its trailing newline (the one rule of
``faas_gitops.secret_files``, as the inbound webhook's secret).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from faas_gitops.notify import outgoing
from faas_gitops.notify.events import Event
from faas_gitops.notify.secrets import mask_url
from faas_gitops.state.sent import Queued

SIGNATURE_HEADER = "X-Faas-Gitops-Signature-256"
EVENT_HEADER = "X-Faas-Gitops-Event"


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the exact body>``, as GitHub signs its own webhooks."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def encode_event(event: Event, delivery: str | None = None) -> bytes:
    """The exact bytes sent (and signed): compact JSON, keys in a stable order; with
    ``delivery``, its ``deliveryId`` (the ``X-Faas-Gitops-Delivery`` header's value)."""
    document = event.to_json()
    if delivery is not None:
        document["deliveryId"] = delivery
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


class WebhookTarget(outgoing.PostsJson):
    """POSTs every event to ``url``; with ``secret``, signs each body.

    ``X-Faas-Gitops-Delivery`` and the body's ``deliveryId`` are the same for every attempt of
    one event, in this run and in later ones (a hash of its de-duplication key), so a receiver
    can drop a repeat whose first attempt it did get.
    """

    kind = "webhook"

    def __init__(self, url: str, secret: bytes | None = None) -> None:
        super().__init__(url, mask_url(url))
        self._secret = secret

    def __repr__(self) -> str:  # never the URL itself, nor the secret
        return f"WebhookTarget({self.shown_url!r}, signed={self._secret is not None})"

    def finished(self, sync: outgoing.Finished, claim: outgoing.Claim) -> list[outgoing.Outgoing]:
        sent: list[outgoing.Outgoing] = []
        for key, event in self._fresh(sync, claim):
            delivery = outgoing.delivery_id(key)
            headers = {EVENT_HEADER: event.kind.value, outgoing.DELIVERY_HEADER: delivery}
            body = encode_event(event, delivery)
            signed = self._signature(body)
            sent.append(self._post(body, event.kind.value, headers, credentials=signed))
        return sent

    def redeliver(self, queued: Queued) -> outgoing.Outgoing:
        return outgoing.Outgoing(queued, self._url, self.shown_url, self._signature(queued.body))

    def _signature(self, body: bytes) -> dict[str, str]:
        """The signature header of ``body``, made at send time from this run's secret (so a
        rotated secret signs a queued event too), and never kept with it."""
        return {} if self._secret is None else {SIGNATURE_HEADER: sign(self._secret, body)}
