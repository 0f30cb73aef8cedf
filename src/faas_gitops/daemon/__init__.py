"""Daemon mode: the sync loop, its triggers and its HTTP face.

``loop`` runs ``sync_once()`` whenever something may have changed; ``server`` is the Starlette
app (probes, metrics, webhook, status page); ``listener`` runs it under uvicorn with read
timeouts and a connection cap; ``statuspage`` renders the status page; ``access`` decides who
may read it (``--status-token-file``); ``replay`` keeps a webhook from being acted on twice;
``fd`` names file descriptor exhaustion for what it is.
"""

from faas_gitops.daemon.listener import parse_listen
from faas_gitops.daemon.loop import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Daemon,
    run_daemon,
)
from faas_gitops.daemon.policy import retry_delay, stuck_after

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Daemon",
    "parse_listen",
    "retry_delay",
    "run_daemon",
    "stuck_after",
]
