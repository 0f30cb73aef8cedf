"""After a release that did not ship everywhere, every view says what *runs*, then why the last
attempt did not change it: ``status`` (text, json, ``--live``), the status page and
``/api/status`` (rendered from the same ledger the daemon reads), and the notifications.

The real CLI against the emulator over HTTP, with the sample repository's faas-gitops.yaml
(staging on main, production on ``v*`` tags). Three ways a release stops short: production
frozen when a new tag arrives, a deployment the platform fails to start, and a promote that
fails. One list mode only: these tests are about the views; the list modes are the other
environment tests' business.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from faas_gitops.cli.status import live_deployment
from faas_gitops.daemon.server import LoopState
from faas_gitops.daemon.status_source import PageSources, ledger_status
from faas_gitops.daemon.statuspage import render_main, snapshot_document
from faas_gitops.deploy.api import Deployment
from faas_gitops.deploy.observe import PackageView
from faas_gitops.deploy.plan import RevisionRef
from faas_gitops.models import DeploymentOutcome, DeployStatus
from faas_gitops.state import Ledger
from tests.e2e.environments.environments_support import PRODUCTION, STAGING, Env, deployments
from tests.harness import API_KEY, MODES
from tests.notify.notify_receivers import Receiver, always, serve

CHANGED = "presence-tracker"
FREEZE_NOTE = "frozen in faas-gitops.yaml"
GITHUB_TOKEN = "ghp_views0123456789token"


pytestmark = pytest.mark.emulator(**MODES["created-include-404-200"])


# ------------------------------------------------------------------------- the views
def table_cell(table: str, path: str, column: str) -> str:
    """One cell of ``status``'s aligned text table, found by the header's column positions."""
    header, *rows = table.splitlines()
    names = re.findall(r"\S+(?: \S+)*", header)
    starts = [header.index(name) for name in names]
    at = names.index(column)
    end = starts[at + 1] if at + 1 < len(starts) else None
    row = next(r for r in rows if r.startswith(path + " "))
    return row[starts[at] : end].strip()


def page_cell(page: str, path: str, environment: str, environments: list[str]) -> str:
    """The text a person reads in one environment cell of the status page."""
    row = re.search(rf'<tr[^>]*data-path="{re.escape(path)}">(.*?)</tr>', page)
    assert row is not None, page
    cells = re.findall(r'<td class="env"[^>]*><div class="line">(.*?)</div>', row.group(1))
    text = re.sub(r"<[^>]+>", "", cells[environments.index(environment)])
    return " ".join(html.unescape(text).split())


@dataclass
class Views:
    text: str
    document: list[dict[str, Any]]
    live_text: str
    live_document: list[dict[str, Any]]
    page: str
    api: dict[str, Any]
    environments: list[str]

    def json_deployment(self, path: str, environment: str, *, live: bool = False) -> Any:
        document = self.live_document if live else self.document
        package = next(p for p in document if p["path"] == path)
        return next(d for d in package["deployments"] if d["environment"] == environment)

    def api_deployment(self, path: str, environment: str) -> Any:
        package = next(p for p in self.api["packages"] if p["path"] == path)
        return next(d for d in package["deployments"] if d["environment"] == environment)

    def cells(self, path: str, environment: str) -> dict[str, str]:
        """The same environment cell in the text table, ``--live`` and the page."""
        column = environment.upper()
        return {
            "status": table_cell(self.text, path, column),
            "status --live": table_cell(self.live_text, path, column),
            "page": page_cell(self.page, path, environment, self.environments),
        }


def views(env: Env) -> Views:
    base = ("status", "--state-dir", str(env.state))
    live = ("--live", "--api-url", env.emulator.url)
    runs = {
        "text": env.cli(*base, sync=False),
        "json": env.cli(*base, "--output", "json", sync=False),
        "live": env.cli(*base, *live, sync=False),
        "live json": env.cli(*base, *live, "--output", "json", sync=False),
    }
    for name, run in runs.items():
        assert run.code == 0, (name, run.stderr)
    snapshot = ledger_status(PageSources(env.state), LoopState(unready_after=3, stuck_after=60.0))
    return Views(
        text=runs["text"].stdout,
        document=json.loads(runs["json"].stdout),
        live_text=runs["live"].stdout,
        live_document=json.loads(runs["live json"].stdout),
        page=render_main(snapshot),
        api=snapshot_document(snapshot),
        environments=snapshot.environments,
    )


def assert_json_says(views: Views, path: str, environment: str, **expected: Any) -> None:
    """``status --output json``, ``status --live --output json`` and ``/api/status`` agree."""
    for name, found in (
        ("status json", views.json_deployment(path, environment)),
        ("status --live json", views.json_deployment(path, environment, live=True)),
        ("/api/status", views.api_deployment(path, environment)),
    ):
        assert {key: found[key] for key in expected} == expected, name


def change_package(env: Env, subject: str) -> None:
    env.repo.write(f"{CHANGED}/{CHANGED}.js", "export default (r) => r.ok(); // 2\n")
    env.repo.commit(subject)


def freeze_production(env: Env) -> None:
    config = env.repo.root / "faas-gitops.yaml"
    config.write_text(config.read_text().replace("frozen: false", "frozen: true"))


def released(env: Env) -> str:
    """Sync main, tag v1.0.0 and sync it: every package runs on both keysets. Returns the
    revision name presence-tracker runs in production."""
    assert env.cli().code == 0
    env.repo.tag("v1.0.0")
    assert env.cli().code == 0
    return env.running(PRODUCTION)[CHANGED]


# --------------------------------------------------------------------- frozen release
@pytest.mark.slow
def test_a_frozen_release_shows_what_still_runs_in_production_beside_what_waits(
    env: Env,
) -> None:
    before = released(env)
    freeze_production(env)
    change_package(env, "Stricter presence counting, during the freeze")
    env.repo.tag("v1.1.0")

    code, synced = env.sync_json()

    assert code == 0, synced
    assert env.running(PRODUCTION)[CHANGED] == before  # nothing written there
    assert env.running(STAGING)[CHANGED] == "v1.1.0"
    frozen = deployments(synced)[(CHANGED, "production")]
    assert (frozen["status"], frozen["running"], frozen["revisionName"], frozen["note"]) == (
        "frozen",
        before,
        "v1.1.0",
        FREEZE_NOTE,
    )
    seen = views(env)
    assert seen.cells(CHANGED, "production") == {
        "status": f"{before} (frozen: v1.1.0)",
        "status --live": f"{before} (frozen: v1.1.0)",
        "page": f"{before} frozen → v1.1.0 {FREEZE_NOTE}",
    }
    assert seen.cells(CHANGED, "staging") == {
        "status": "v1.1.0",
        "status --live": "v1.1.0",
        "page": "v1.1.0 in sync",
    }
    assert f"note: {CHANGED} on production: {FREEZE_NOTE}\n" in seen.text
    assert_json_says(
        seen,
        CHANGED,
        "production",
        status="frozen",
        running=before,
        revisionName="v1.1.0",
        note=FREEZE_NOTE,
        pinned=False,
    )
    assert_json_says(seen, "webhooks", "production", status="in-sync", running=before)


@pytest.mark.slow
def test_the_sync_output_says_the_same_in_text_json_and_markdown(env: Env) -> None:
    before = released(env)
    freeze_production(env)
    change_package(env, "Stricter presence counting, during the freeze")
    env.repo.tag("v1.1.0")

    text = env.cli()
    markdown = env.cli("--output", "markdown")  # the same commit again: frozen again
    code, document = env.sync_json()

    assert (text.code, markdown.code, code) == (0, 0, 0)
    assert f"  production: {before} → v1.1.0 frozen ({FREEZE_NOTE})\n" in text.stdout
    assert "; 6 deployments: 1 deployed, 4 in-sync, 1 frozen (commit" in text.stdout
    assert (
        f"| `{CHANGED}` | `production` | `{before} → v1.1.0` | frozen | `{FREEZE_NOTE}` |\n"
        in markdown.stdout  # no correlation-id column: nothing was written
    )
    assert "<summary>5 deployments in sync</summary>" in markdown.stdout
    assert "; 6 deployments: 5 in-sync, 1 frozen (commit" in markdown.stdout
    assert deployments(document)[(CHANGED, "production")]["note"] == FREEZE_NOTE
    assert document["summary"]["deployments"]["frozen"] == 1
    assert document["summary"]["deployments"]["in-sync"] == 5


# ------------------------------------------------------------------ failed deployment
@pytest.mark.slow
def test_a_failed_deployment_shows_the_revision_that_still_runs_and_the_failure(
    env: Env,
) -> None:
    assert env.cli().code == 0
    before = env.running(STAGING)[CHANGED]
    change_package(env, "Stricter presence counting")
    env.emulator.store.fail_deployment_starts()  # every start and rolling update: 500 FAAS-1012

    code, synced = env.sync_json()

    assert code == 1
    failed = deployments(synced)[(CHANGED, "staging")]
    wanted = failed["revisionName"]
    assert (failed["status"], failed["running"]) == ("failed", before)
    assert wanted != before
    assert env.running(STAGING)[CHANGED] == before
    seen = views(env)
    assert seen.cells(CHANGED, "staging") == {
        "status": f"{before} (failed: {wanted})",
        "status --live": f"{before} (failed: {wanted})",
        "page": f"{before} ✕ failed → {wanted}",
    }
    assert_json_says(seen, CHANGED, "staging", status="failed", running=before)
    assert seen.api_deployment(CHANGED, "staging")["error"]


# -------------------------------------------------------------------- failed promote
@pytest.mark.slow
def test_a_failed_promote_shows_the_revision_that_still_runs_in_production(env: Env) -> None:
    before = released(env)
    change_package(env, "Stricter presence counting")
    assert env.cli().code == 0
    on_staging = env.running(STAGING)[CHANGED]
    env.emulator.store.fail_deployment_starts()

    run = env.cli("promote", "--from", "staging", "--to", "production", *env.base(), sync=False)

    assert run.code == 1, run.stderr
    assert f"production: {before} → {on_staging} failed" in run.stdout
    assert env.running(PRODUCTION)[CHANGED] == before
    seen = views(env)
    assert seen.cells(CHANGED, "production") == {
        "status": f"{before} (failed: {on_staging})",
        "status --live": f"{before} (failed: {on_staging})",
        "page": f"{before} ✕ failed → {on_staging}",
    }
    assert seen.cells(CHANGED, "staging")["status"] == on_staging
    assert_json_says(seen, CHANGED, "production", status="failed", running=before)
    assert_json_says(seen, "webhooks", "production", status="in-sync", running=before)


# ------------------------------------------------------------------ status --live
@pytest.mark.slow
def test_status_live_reads_what_runs_from_the_api_not_from_the_ledger(env: Env) -> None:
    assert env.cli().code == 0
    running = env.running(STAGING)["webhooks"]
    stopped = deployments(env.sync_json()[1])[("webhooks", "staging")]["deploymentId"]
    answer = httpx.delete(  # stopped by hand, behind faas-gitops's back
        f"{env.emulator.url}/v2/faas/package-deployments/{stopped}/function-deployments",
        headers={"Authorization": API_KEY, "PubNub-Version": "2026-05-26"},
    )
    assert answer.status_code == 200, answer.text

    seen = views(env)

    assert seen.cells("webhooks", "staging")["status"] == running  # the ledger's last word
    assert table_cell(seen.live_text, "webhooks", "STAGING") == f"- (would-deploy: {running})"
    live = seen.json_deployment("webhooks", "staging", live=True)
    assert (live["status"], live["running"], live["revisionName"]) == (
        "would-deploy",
        None,
        running,
    )
    assert "changed outside faas-gitops" in live["note"]


REVISIONS = (RevisionRef("r1", "v1", None), RevisionRef("r2", "v2", None))


def view_running(revision_id: str | None, keyset: int = STAGING) -> PackageView:
    running = () if revision_id is None else (Deployment("d-" + revision_id, revision_id, keyset,
                                                          "RUNNING"),)  # fmt: skip
    return PackageView("pkg", REVISIONS, running)


@pytest.mark.parametrize(
    ("recorded", "now_running", "expected"),
    [
        pytest.param(
            DeploymentOutcome("staging", STAGING, DeployStatus.FROZEN, revision_name="v2",
                              previous_revision_name="v1", note=FREEZE_NOTE),
            "r1",
            (DeployStatus.FROZEN, "v1", FREEZE_NOTE),
            id="frozen-and-still-so",
        ),
        pytest.param(
            DeploymentOutcome("staging", STAGING, DeployStatus.FROZEN, revision_name="v2",
                              previous_revision_name="v1", note=FREEZE_NOTE),
            "r2",
            (DeployStatus.IN_SYNC, "v2", "runs now; the last sync recorded frozen"),
            id="what-waited-runs-now",
        ),
        pytest.param(
            DeploymentOutcome("staging", STAGING, DeployStatus.FAILED, revision_name="v2",
                              previous_revision_name="v1", error="FAAS-1012"),
            None,
            (DeployStatus.FAILED, None, None),
            id="failed-and-stopped-since",
        ),
        pytest.param(
            DeploymentOutcome("staging", STAGING, DeployStatus.IN_SYNC, revision_name="v2"),
            "r1",
            (DeployStatus.WOULD_DEPLOY, "v1",
             "changed outside faas-gitops: the last sync left v2 running here"),
            id="rolled-back-by-hand",
        ),
    ],
)  # fmt: skip
def test_a_live_cell_keeps_the_last_attempt_and_takes_what_runs_from_the_api(
    recorded: DeploymentOutcome,
    now_running: str | None,
    expected: tuple[DeployStatus, str | None, str | None],
) -> None:
    live = live_deployment(recorded, view_running(now_running))

    assert (live.status, live.running_revision_name, live.note) == expected


# --------------------------------------------------------------------- notifications
@dataclass
class Targets:
    webhook: Receiver
    github: Receiver
    args: tuple[str, ...]

    def events(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.webhook.requests]

    def final_states(self) -> dict[str, str]:
        """The last state GitHub received per context (contexts go concurrently)."""
        return {r.json()["context"]: r.json()["state"] for r in self.github.requests}


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[Targets]:
    token = tmp_path / "github-token"
    token.write_text(GITHUB_TOKEN + "\n")
    with serve(Receiver(always(204, b""))) as webhook, serve(Receiver(always(201))) as github:
        args = (
            "--notify-webhook", webhook.url + "/events",
            "--github-repo", "acme/functions",
            "--github-token-file", str(token),
            "--github-api-url", github.url,
        )  # fmt: skip
        yield Targets(webhook, github, args)


@pytest.mark.slow
def test_a_frozen_release_is_a_frozen_event_once_and_a_pending_github_status(
    env: Env, targets: Targets
) -> None:
    before = released(env)
    freeze_production(env)
    change_package(env, "Stricter presence counting, during the freeze")
    env.repo.tag("v1.1.0")

    first = env.cli(*targets.args)
    again = env.cli(*targets.args)  # the daemon's next look at the same commit

    assert (first.code, again.code) == (0, 0), first.stderr
    frozen = [e for e in targets.events() if e["event"] == "frozen"]
    assert len(frozen) == 1, targets.events()
    assert {key: frozen[0][key] for key in (
        "environment", "keysetId", "previousRevisionName", "revisionName", "note"
    )} == {
        "environment": "production",
        "keysetId": PRODUCTION,
        "previousRevisionName": before,
        "revisionName": "v1.1.0",
        "note": FREEZE_NOTE,
    }  # fmt: skip
    assert frozen[0]["package"]["path"] == CHANGED
    assert sorted(e["event"] for e in targets.events()) == [  # sent concurrently: any order
        "deployed",  # staging got it
        "frozen",
        "revision-created",
    ]
    states = targets.final_states()
    assert states["faas-gitops"] == "pending"
    assert states["faas-gitops/production"] == "pending"
    assert "success" not in {
        r.json()["state"]
        for r in targets.github.requests
        if r.json()["context"] in ("faas-gitops", "faas-gitops/production")
    }
    production = [
        r.json() for r in targets.github.requests if r.json()["context"] == "faas-gitops/production"
    ]
    assert production[-1]["description"].startswith(FREEZE_NOTE + ": ")


@pytest.mark.slow
def test_a_failed_deployment_makes_the_overall_github_status_a_failure(
    env: Env, targets: Targets
) -> None:
    assert env.cli().code == 0
    change_package(env, "Stricter presence counting")
    env.emulator.store.fail_deployment_starts()

    run = env.cli(*targets.args)

    assert run.code == 1
    states = targets.final_states()
    assert states["faas-gitops"] == "failure"
    overall = [r.json() for r in targets.github.requests if r.json()["context"] == "faas-gitops"]
    assert overall[-1]["description"].endswith("; 1 deploy failed")
    assert sorted(e["event"] for e in targets.events()) == ["deploy-failed", "revision-created"]


@pytest.mark.slow
def test_a_deployed_event_says_keyset_from_and_to_and_the_ref_by_its_tag_name(
    env: Env, targets: Targets
) -> None:
    before = released(env)
    change_package(env, "Stricter presence counting")
    env.repo.tag("v1.1.0")

    code, synced = env.sync_json(*targets.args, "--ref", "v1.1.0")

    assert code == 0, synced
    assert synced["ref"] == "v1.1.0"
    with Ledger(env.state) as ledger:
        assert ledger.recent_syncs()[0].ref == "v1.1.0"
    [production] = [e for e in targets.events() if e["event"] == "deployed"]
    assert {key: production[key] for key in (
        "ref", "environment", "keysetId", "fromRevision", "toRevision", "revisionName"
    )} == {
        "ref": "v1.1.0",
        "environment": "production",
        "keysetId": PRODUCTION,
        "fromRevision": before,
        "toRevision": "v1.1.0",
        "revisionName": "v1.1.0",
    }  # fmt: skip
    assert production["package"]["path"] == CHANGED
    assert {
        r.json()["description"] for r in targets.github.requests if r.json()["state"] == "pending"
    } == {"syncing v1.1.0"}
