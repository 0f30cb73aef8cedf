"""A real ledger with 10 packages on 3 environments in every state the page knows, and the
daemon's real HTTP app serving it (``create_app`` under uvicorn, on 127.0.0.1, in a thread), for
the Chromium layout, truth and package-page tests. What a real daemon does end to end is in
``test_status_page.py``; here the states that take a freeze, a hold or a failed API to make
are written straight into the ledger, through the ledger's own writers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from faas_gitops.daemon.metrics import Metrics
from faas_gitops.daemon.server import LoopState, create_app
from faas_gitops.daemon.status_source import PageSources, ledger_package, ledger_status
from faas_gitops.daemon.statuspage import StatusSnapshot
from faas_gitops.models import DeploymentOutcome, DeployStatus, Outcome, Status, SyncResult
from faas_gitops.state import Ledger

ENVIRONMENTS = {"production": 498765, "qa": 400001, "staging": 412345}
HOSTILE = "<img src=x onerror=alert(1)>"
COMMIT = "9f2c4e1a7b3d" + "5" * 28


#: Names like real ones: the commit's id, the date, and a suffix (long, no spaces to wrap at).
def revision(n: int) -> str:
    return f"{COMMIT[:12]}-20261102T0912Z-{n:02d}"


#: Ten packages a team could have (the screenshots in docs/ show them); the hostile name is
#: added only where a test asks for it (``fill_ledger(..., hostile=True)``).
PACKAGES = [f"team-{name}/service" for name in (
    "chat", "geo", "presence", "billing", "search", "audit", "notify", "profile", "media", "auth",
)]  # fmt: skip
#: The truth cases: package -> environment -> (status, what runs, what git wants, note).
SPECIAL = {
    ("team-chat/service", "production"): (DeployStatus.FROZEN, 1, 2, "frozen in faas-gitops.yaml"),
    ("team-geo/service", "staging"): (DeployStatus.FAILED, 1, 2, None),
    ("team-presence/service", "qa"): (DeployStatus.HELD, 1, 2, "held since 2026-11-02 by rollback"),
    ("team-billing/service", "production"): (DeployStatus.ORPHANED, 1, 1, "no longer in git"),
}


def fill_ledger(state_dir: Path, *, hostile: bool = False) -> None:
    """One real sync: 10 packages created (11 with ``hostile``: one named ``HOSTILE``), each
    deployed on 3 environments (or not: SPECIAL)."""
    now = datetime.now(UTC)
    packages = [*PACKAGES, HOSTILE] if hostile else PACKAGES
    with Ledger(state_dir) as ledger:
        outcomes = tuple(
            Outcome(
                path, Status.CREATED, package_id=f"pkg-{i:02d}", revision_name=revision(2),
                revision_id=f"rev-{i:02d}", correlation_id=f"corr-create-{i:02d}",
                name=f"{path.split('/')[0]}-functions",
            )
            for i, path in enumerate(packages)
        )  # fmt: skip
        sync_id = ledger.record(
            SyncResult(COMMIT, "main", False, outcomes, now, now), trigger="webhook"
        )
        for i, path in enumerate(packages):
            for env, keyset in ENVIRONMENTS.items():
                status, runs, wants, note = SPECIAL.get(
                    (path, env), (DeployStatus.DEPLOYED, 2, 2, None)
                )
                done = DeploymentOutcome(
                    environment=env, keyset_id=keyset, status=status,
                    revision_name=revision(wants), revision_id=f"rev-{i:02d}",
                    deployment_id=f"dep-{i}-{env}", previous_revision_name=revision(runs),
                    correlation_id=f"corr-{env}-{i:02d}", note=note,
                    error="FAAS-1012: the keyset's deployment limit is reached"
                    if status is DeployStatus.FAILED else None,
                )  # fmt: skip
                if status is DeployStatus.DEPLOYED:
                    for step in ("create", "rolling-update", "running"):
                        ledger.record_deployment(
                            sync_id, path=path, package_id=f"pkg-{i:02d}", step=step,
                            outcome=DeploymentOutcome(
                                env, keyset, status, correlation_id=f"corr-{step}-{env}-{i:02d}"
                            ),
                            status="ok",
                        )  # fmt: skip
                ledger.record_deployment(
                    sync_id, path=path, package_id=f"pkg-{i:02d}", step="result", outcome=done
                )


@contextmanager
def serve_page(
    state_dir: Path, snapshot: Callable[[], StatusSnapshot] | None = None
) -> Iterator[str]:
    """The daemon's app on 127.0.0.1 (a free port), reading ``state_dir``; yields its URL."""
    state = LoopState(unready_after=3, stuck_after=60.0, synced_once=True, commit=COMMIT)
    app = create_app(
        state,
        Metrics(),
        lambda: True,
        status=snapshot or (lambda: ledger_status(PageSources(state_dir), state, ref="main")),
        package=lambda path: ledger_package(PageSources(state_dir), path),
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:  # pragma: no cover - a broken environment
            raise AssertionError("the page's server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
