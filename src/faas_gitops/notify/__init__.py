"""Notifications of what a sync did: webhooks, Slack, GitHub commit statuses.

The sync side calls ``Notifier.sync_started`` / ``sync_finished`` / ``sync_failed`` (all return
at once) and, before a ``--sync-once`` process exits, ``drain``; ``events_of`` is the pure rule
of which outcome is which event.
"""

from faas_gitops.notify.delivery import DeliveryPolicy, Result
from faas_gitops.notify.events import (
    Event,
    EventKind,
    events_of,
    recovered_event,
    sync_failed_event,
)
from faas_gitops.notify.factory import build_notifier, build_targets
from faas_gitops.notify.github import GitHubStatusTarget
from faas_gitops.notify.notifier import Notifier, OnResult
from faas_gitops.notify.outgoing import Finished, Links, Outgoing, Target
from faas_gitops.notify.secrets import mask_url, read_secret_file
from faas_gitops.notify.sentlog import SENTLOG_FILENAME, MemorySentLog, SentLog, SqliteSentLog
from faas_gitops.notify.slack import SlackTarget
from faas_gitops.notify.webhook import SIGNATURE_HEADER, WebhookTarget, sign

__all__ = [
    "SENTLOG_FILENAME",
    "SIGNATURE_HEADER",
    "DeliveryPolicy",
    "Event",
    "EventKind",
    "Finished",
    "GitHubStatusTarget",
    "Links",
    "MemorySentLog",
    "Notifier",
    "OnResult",
    "Outgoing",
    "Result",
    "SentLog",
    "SlackTarget",
    "SqliteSentLog",
    "Target",
    "WebhookTarget",
    "build_notifier",
    "build_targets",
    "events_of",
    "mask_url",
    "read_secret_file",
    "recovered_event",
    "sign",
    "sync_failed_event",
]
