"""``faas-gitops rollback`` in an incident, through the real CLI over HTTP against the emulator:
v1 goes back at once (no new revision), the ledger has every step, and it *holds*: neither a
warm nor a cold re-sync of the bad tag undoes it, until git's content changes or ``--release``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.deploy import marks
from faas_gitops.state import Ledger
from tests.e2e.environments.environments_support import PRODUCTION, STAGING, Env, deployments
from tests.harness import Run

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


PACKAGE = "presence-tracker"
SOURCE = f"{PACKAGE}/{PACKAGE}.js"


def _release(env: Env, tag: str, body: str | None = None) -> dict[str, Any]:
    """Commit ``body`` as the package's code (if given), tag it ``tag`` and sync it."""
    if body is not None:
        env.repo.write(SOURCE, body)
        env.repo.commit(f"presence-tracker {tag}")
    env.repo.tag(tag)
    code, document = env.sync_json()
    assert code == 0, [p["deployments"] for p in document["packages"]]
    return document


@pytest.fixture
def released(env: Env) -> dict[str, str]:
    """v1.0.0 then v2.0.0 of presence-tracker on production: the revision names, by version."""
    first = _release(env, "v1.0.0")
    second = _release(env, "v2.0.0", "export default (r) => r.ok(); // v2, the bad one\n")
    names = {
        "v1": deployments(first)[(PACKAGE, "production")]["revisionName"],
        "v2": deployments(second)[(PACKAGE, "production")]["revisionName"],
    }
    assert names["v1"] != names["v2"]
    assert env.running(PRODUCTION)[PACKAGE] == names["v2"]
    env.clear()
    return names


def rollback(env: Env, *args: str, state: Path | None = None) -> Run:
    base = env.base()
    if state is not None:
        base[base.index("--state-dir") + 1] = str(state)
    return env.cli("rollback", *args, *base, sync=False)


def rollback_json(env: Env, *args: str) -> tuple[int, dict[str, Any]]:
    run = rollback(env, *args, "--output", "json")
    assert run.stdout, run.stderr
    return run.code, json.loads(run.stdout)


def revision_posts(env: Env) -> int:
    return sum(
        1
        for r in env.emulator.requests
        if r.method == "POST" and r.path == "/v2/faas/package-revisions"
    )


def package_tags(env: Env, name: str = PACKAGE) -> list[str]:
    (package,) = [p for p in env.emulator.store.packages() if p["name"] == name]
    return list(package.get("tags") or [])


def hold_tags(env: Env) -> list[str]:
    return [t for t in package_tags(env) if t.startswith((marks.HOLD, marks.HELD))]


def test_rollback_puts_v1_back_at_once_without_a_new_revision_and_journals_every_step(
    env: Env, released: dict[str, str]
) -> None:
    code, document = rollback_json(env, PACKAGE, "--environment", "production")

    assert code == 0, document
    rolled = deployments(document)[(PACKAGE, "production")]
    assert rolled["status"] == "deployed"
    assert rolled["revisionName"] == released["v1"]
    assert [p["status"] for p in document["packages"]] == ["rolled-back"]
    assert document["summary"]["rolled-back"] == 1
    assert "rolled back from " + released["v2"] in rolled["note"]
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]
    assert env.running(STAGING)[PACKAGE] == released["v2"]  # only production rolled back
    assert revision_posts(env) == 0
    assert len([t for t in hold_tags(env) if t.startswith(marks.HOLD)]) == 1
    with Ledger(env.state) as ledger:
        (latest, *_) = ledger.recent_syncs()
        rows = ledger._db.conn.execute(  # the step rows have no query of their own yet
            "SELECT step, status, correlation_id FROM deployments WHERE sync_id = ? ORDER BY id",
            (latest.id,),
        ).fetchall()
    assert latest.trigger == "rollback"
    steps = [(step, status) for step, status, _ in rows]
    assert ("rolling-update", "ok") in steps
    assert ("hold", "ok") in steps
    assert steps[-1] == ("result", "deployed")
    answered = [cid for step, status, cid in rows if status == "ok" and step != "result"]
    assert answered
    assert all(answered)  # every answered write and poll carries the API's correlation ID
    history = env.cli("history", "--output", "json", "--state-dir", str(env.state), sync=False)
    assert history.code == 0, history.stderr
    (newest, *_) = json.loads(history.stdout)["entries"]
    assert (newest["trigger"], newest["path"]) == ("rollback", PACKAGE)
    assert newest["revisionName"] == released["v1"]
    on_production = env.cli("history", "--environment", "production", "--state-dir",
                            str(env.state), sync=False)  # fmt: skip
    first = on_production.stdout.splitlines()[1].split()
    assert first[3:9] == [PACKAGE, "production", "deployed", released["v2"], "→", released["v1"]]
    assert first[9] == "rollback"


@pytest.mark.parametrize("cold", [False, True], ids=["warm", "cold"])
def test_a_resync_of_the_bad_tag_leaves_the_rollback_running_and_says_held(
    env: Env, released: dict[str, str], tmp_path: Path, cold: bool
) -> None:
    assert rollback(env, PACKAGE, "--environment", "production").code == 0
    if cold:
        env.state = tmp_path / "fresh-state"  # a CI runner: an empty state dir
    env.clear()

    code, document = env.sync_json()  # HEAD still carries v2.0.0

    assert code == 0, [p["deployments"] for p in document["packages"]]
    held = deployments(document)[(PACKAGE, "production")]
    assert held["status"] == "held"
    assert held["note"].startswith("held since ")
    assert f"rolled back to {released['v1']} from {released['v2']}" in held["note"]
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]
    assert not [w for w in env.writes() if "deployments" in w[1]]
    text = env.cli()
    assert text.code == 0
    assert "held since" in text.stdout


def test_a_content_change_in_git_deploys_again_and_lifts_the_hold(
    env: Env, released: dict[str, str]
) -> None:
    assert rollback(env, PACKAGE, "--environment", "production").code == 0
    assert hold_tags(env)

    document = _release(env, "v2.0.1", "export default (r) => r.ok(); // v2, fixed\n")

    fixed = deployments(document)[(PACKAGE, "production")]
    assert fixed["status"] == "deployed"
    assert fixed["revisionName"] not in released.values()
    assert env.running(PRODUCTION)[PACKAGE] == fixed["revisionName"]
    assert hold_tags(env) == []
    assert any(t.startswith(marks.OWNER) for t in package_tags(env))  # only the hold went


def test_to_names_the_revision_to_put_back(env: Env, released: dict[str, str]) -> None:
    _release(env, "v3.0.0", "export default (r) => r.ok(); // v3\n")
    env.clear()

    code, document = rollback_json(env, PACKAGE, "--environment", "production",
                                   "--to", released["v1"])  # fmt: skip

    assert code == 0, document
    assert deployments(document)[(PACKAGE, "production")]["revisionName"] == released["v1"]
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]
    assert revision_posts(env) == 0


def test_release_lifts_the_hold_and_the_next_sync_deploys_what_git_wants(
    env: Env, released: dict[str, str]
) -> None:
    assert rollback(env, PACKAGE, "--environment", "production").code == 0

    code, document = rollback_json(env, PACKAGE, "--environment", "production", "--release")

    assert code == 0, document
    assert "hold released" in deployments(document)[(PACKAGE, "production")]["note"]
    assert hold_tags(env) == []
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]  # release itself deploys nothing
    code, synced = env.sync_json()
    assert code == 0
    assert deployments(synced)[(PACKAGE, "production")]["status"] == "deployed"
    assert env.running(PRODUCTION)[PACKAGE] == released["v2"]


def test_a_dry_run_writes_nothing(env: Env, released: dict[str, str]) -> None:
    code, document = rollback_json(env, PACKAGE, "--environment", "production", "--dry-run")

    assert code == 0, document
    planned = deployments(document)[(PACKAGE, "production")]
    assert planned["status"] == "would-deploy"
    assert planned["revisionName"] == released["v1"]
    assert env.writes() == []
    assert env.running(PRODUCTION)[PACKAGE] == released["v2"]


@pytest.mark.parametrize("form", ["directory", "manifest name", "package id"])
def test_package_may_be_named_by_directory_manifest_name_or_package_id(
    env: Env, released: dict[str, str], form: str
) -> None:
    env.repo.git("mv", PACKAGE, "presence")  # the directory and the manifest name now differ
    env.repo.commit("Move presence-tracker")
    given = {
        "directory": "presence",
        "manifest name": PACKAGE,
        "package id": package_id_of(env, PACKAGE),
    }[form]

    code, document = rollback_json(env, given, "--environment", "production")

    assert code == 0, document
    (package,) = document["packages"]
    assert (package["path"], package["name"]) == ("presence", PACKAGE)
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]


def package_id_of(env: Env, name: str) -> str:
    (package,) = [p for p in env.emulator.store.packages() if p["name"] == name]
    return str(package["id"])


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("no-such-package", "--environment", "production"),
         "faas-gitops: error: no-such-package: no such package (not a package directory,"
         " manifest name or package id the API knows); check the name with"
         " 'faas-gitops status'"),
        ((PACKAGE, "--environment", "prod"),
         "faas-gitops: error: --environment prod: not defined in faas-gitops.yaml"
         " (defined: staging, production)"),
        ((PACKAGE, "--environment", "production", "--to", "no-such-revision"),
         "faas-gitops: error: --to no-such-revision: not a revision of presence-tracker"
         " (by name or id); its newest: "),
    ],
    ids=["package", "environment", "revision"],
)  # fmt: skip
def test_an_unknown_package_environment_or_revision_is_one_line_and_exit_2(
    env: Env, released: dict[str, str], args: tuple[str, ...], line: str
) -> None:
    run = rollback(env, *args)

    assert run.code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(line)
    assert env.writes() == []


def test_a_manifest_the_bad_commit_broke_does_not_block_the_rollback(
    env: Env, released: dict[str, str]
) -> None:
    env.repo.write(f"{PACKAGE}/package.yaml", "name: [presence-tracker\n")  # the incident
    env.repo.commit("Break the manifest")

    code, document = rollback_json(env, PACKAGE, "--environment", "production")

    assert code == 0, document
    assert document["packages"][0]["path"] == PACKAGE  # found by the directory mark
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]


def test_ref_on_the_command_line_puts_back_the_content_that_ref_deployed(
    env: Env, released: dict[str, str]
) -> None:
    _release(env, "v3.0.0", "export default (r) => r.ok(); // v3\n")  # v2 ran before v3

    code, document = rollback_json(env, PACKAGE, "--environment", "production",
                                   "--ref", "v1.0.0")  # fmt: skip

    assert code == 0, document
    assert deployments(document)[(PACKAGE, "production")]["revisionName"] == released["v1"]
    assert env.running(PRODUCTION)[PACKAGE] == released["v1"]


def test_the_ref_a_daemon_sets_in_its_environment_does_not_choose_the_revision(
    env: Env, released: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _release(env, "v3.0.0", "export default (r) => r.ok(); // v3\n")
    monkeypatch.setenv("FAAS_GITOPS_REF", "v1.0.0")  # names packages only

    code, document = rollback_json(env, PACKAGE, "--environment", "production")

    assert code == 0, document
    assert env.running(PRODUCTION)[PACKAGE] == released["v2"]  # the one that ran before


def test_a_ref_whose_content_never_ran_is_one_line_and_exit_2(
    env: Env, released: dict[str, str]
) -> None:
    env.repo.write(SOURCE, "export default (r) => r.ok(); // never synced\n")
    env.repo.commit("Not synced yet")
    env.repo.tag("v9.0.0")

    run = rollback(env, PACKAGE, "--environment", "production", "--ref", "v9.0.0")

    assert run.code == 2
    assert run.stderr == (
        "faas-gitops: error: --ref v9.0.0: no revision of presence-tracker has the content"
        " presence-tracker has there (was that commit ever synced?); name the revision with"
        " --to REVISION\n"
    )
    assert env.writes() == []
    assert env.running(PRODUCTION)[PACKAGE] == released["v2"]


def test_a_ref_that_names_nothing_is_one_line_and_exit_2(
    env: Env, released: dict[str, str]
) -> None:
    run = rollback(env, PACKAGE, "--environment", "production", "--ref", "v0.0.404")

    assert run.code == 2
    assert run.stderr.count("\n") == 1, run.stderr
    assert "v0.0.404" in run.stderr
    assert env.writes() == []
