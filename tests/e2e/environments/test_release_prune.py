"""``--prune`` as a platform team relies on it: the real CLI over HTTP against the emulator,
real git repositories, in both list modes (the ``env`` fixture).

What a prune may stop: a package this repository marked as its own (``fgo-owner:``), inside
``--path``, that no directory of the commit declares any more, on an active, unfrozen
environment, by deployment id. Everything else keeps running, and every view keeps naming a
removed package while it runs anywhere.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.environments.environments_support import PRODUCTION, STAGING, Env, statuses
from tests.e2e.environments.release_support import (
    PACKAGE_WIDE_STOP,
    deploy_behind_our_back,
    deployments_of,
    removed_rows,
    requests,
    states_of,
    subcommand,
    subcommand_json,
    tags_of,
    unmarked_package,
)
from tests.gitrepo import GitRepo
from tests.harness import SAMPLE_REPO

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


ORPHANED_ON_PRODUCTION = (
    "no longer in the commit; still runs on production; a sync of production with --prune stops it"
)


def _retire_webhooks(env: Env) -> None:
    env.repo.remove("webhooks")
    env.repo.commit("Retire the webhooks")


def _status_of(env: Env, path: str) -> dict[str, str] | None:
    """Environment -> status of the package's row in ``status --output json`` (None: no row)."""
    for package in subcommand_json(env, "status"):
        if package["path"] == path:
            return {d["environment"]: d["status"] for d in package["deployments"]}
    return None


def test_a_removed_package_stays_in_every_view_until_a_prune_of_each_environment_stops_it(
    env: Env, tmp_path: Path
) -> None:
    env.repo.tag("v1.3.0")
    assert env.cli().code == 0  # main, tagged: staging and production
    assert "webhooks" in env.running(PRODUCTION)
    _retire_webhooks(env)

    # Without --prune: orphaned wherever it runs, with a note, in the sync and in status.
    code, document = env.sync_json()
    assert code == 0
    rows = removed_rows(document, "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {
        "staging": "orphaned",
        "production": "orphaned",
    }
    statuses = {p["path"]: p["status"] for p in document["packages"]}
    assert statuses["webhooks"] == "removed"  # never counted as an unchanged package
    assert (document["summary"]["removed"], document["summary"]["unchanged"]) == (1, 2)
    assert rows["production"]["note"] == ORPHANED_ON_PRODUCTION
    assert rows["staging"]["running"] == "v1.3.0"  # what still runs, by revision name
    assert rows["production"]["running"] == "v1.3.0"
    text = subcommand(env, "status").stdout
    line = next(line for line in text.splitlines() if line.startswith("webhooks "))
    assert line.count("(orphaned)") == 2
    assert _status_of(env, "webhooks") == {"staging": "orphaned", "production": "orphaned"}

    # --prune on main stops staging only; production is still orphaned in every view.
    code, document = env.sync_json("--prune")
    assert code == 0
    rows = removed_rows(document, "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {
        "staging": "pruned",
        "production": "orphaned",
    }
    assert "webhooks" not in env.running(STAGING)
    assert "webhooks" in env.running(PRODUCTION)
    assert _status_of(env, "webhooks") == {"production": "orphaned"}
    pruned = subcommand_json(env, "history", "--environment", "staging")["entries"]
    newest = next(e for e in pruned if e["path"] == "webhooks")  # newest first
    assert newest["status"] == "pruned"

    # A release tag synced by a cold runner (empty state dir) prunes production too.
    env.repo.tag("v1.4.0")
    cold = tmp_path / "cold-runner"
    run = env.cli("--ref", "v1.4.0", "--prune", "--output", "json", "--state-dir", str(cold))
    assert run.code == 0, run.stderr
    rows = removed_rows(json.loads(run.stdout), "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {"production": "pruned"}
    assert env.running(PRODUCTION).keys() == {"chat-moderation", "presence-tracker"}
    assert states_of(env, "webhooks", PRODUCTION) == ["STOPPED"]
    history = env.cli(
        "history", "--environment", "production", "--output", "json", "--state-dir", str(cold),
        sync=False,
    )  # fmt: skip
    entries = json.loads(history.stdout)["entries"]
    assert [e["status"] for e in entries if e["path"] == "webhooks"] == ["pruned"]

    # It runs nowhere now: the next sync no longer lists it, and neither does status.
    code, document = env.sync_json("--prune")
    assert code == 0
    assert removed_rows(document, "webhooks") == {}
    assert "webhooks" not in [p["path"] for p in document["packages"]]
    assert _status_of(env, "webhooks") is None


def test_a_dry_run_prune_shows_would_prune_and_writes_nothing(env: Env) -> None:
    assert env.cli().code == 0
    _retire_webhooks(env)
    env.clear()

    code, document = env.sync_json("--dry-run", "--prune")

    assert code == 0
    assert {e: r["status"] for e, r in removed_rows(document, "webhooks").items()} == {
        "staging": "would-prune"
    }
    assert env.writes() == []
    assert "webhooks" in env.running(STAGING)


def test_a_package_made_by_hand_on_the_same_keyset_survives_prune(env: Env) -> None:
    assert env.cli().code == 0
    unmarked_package(env, "portal-made", STAGING, tags=("team:payments",))
    _retire_webhooks(env)

    code, document = env.sync_json("--prune")

    assert code == 0
    assert statuses(document)[("webhooks", "staging")] == "pruned"
    assert "portal-made" in env.running(STAGING)
    assert "portal-made" not in [p["path"] for p in document["packages"]]
    assert tags_of(env, "portal-made") == ["team:payments"]


def _split_into_teams(env: Env) -> None:
    """teamA/ holds chat-moderation and presence-tracker, teamB/ the webhooks; each team's
    directory has its policy (``faas-gitops.yaml`` is read at the root of ``--path``)."""
    policy = (env.repo.root / "faas-gitops.yaml").read_text()
    for team, names in (
        ("teamA", ("chat-moderation", "presence-tracker")),
        ("teamB", ("webhooks",)),
    ):
        (env.repo.root / team).mkdir()
        for name in names:
            env.repo.git("mv", name, f"{team}/{name}")
        env.repo.write(f"{team}/faas-gitops.yaml", policy)
    env.repo.commit("One directory per team")


def test_prune_within_a_path_stops_nothing_outside_it(env: Env) -> None:
    _split_into_teams(env)
    assert env.cli().code == 0  # the whole repository: every package marked with its dir
    everything = env.running(STAGING)
    assert len(everything) == 3

    code, document = env.sync_json("--path", "teamB", "--prune")

    assert code == 0
    assert statuses(document) == {("teamB/webhooks", "staging"): "in-sync"}
    assert env.running(STAGING) == everything


def test_a_package_removed_outside_the_path_is_not_pruned_by_that_path(env: Env) -> None:
    _split_into_teams(env)
    assert env.cli().code == 0
    env.repo.remove("teamA/presence-tracker")
    env.repo.commit("teamA retires presence-tracker")

    code, document = env.sync_json("--path", "teamB", "--prune")

    assert code == 0
    assert statuses(document) == {("teamB/webhooks", "staging"): "in-sync"}
    assert "presence-tracker" in env.running(STAGING)

    code, document = env.sync_json("--path", "teamA", "--prune")  # the team's own sync does

    assert statuses(document)[("teamA/presence-tracker", "staging")] == "pruned"
    assert set(env.running(STAGING)) == {"chat-moderation", "webhooks"}


def test_a_renamed_package_directory_is_not_pruned(env: Env) -> None:
    assert env.cli().code == 0
    before = env.running(STAGING)
    env.repo.git("mv", "webhooks", "inbound-hooks")  # same packageId in its package.yaml
    env.repo.git("mv", "presence-tracker", "presence")  # no packageId: the same name
    env.repo.commit("Clearer directory names")
    env.clear()

    run = env.cli("--prune")

    assert run.code == 0, run.stderr
    assert "pruned" not in run.stdout
    assert "orphaned" not in run.stdout
    assert env.running(STAGING) == before
    assert [r for r in env.writes() if "deployment" in r[1]] == []
    assert "fgo-dir:inbound-hooks" in tags_of(env, "webhooks")
    assert "fgo-dir:presence" in tags_of(env, "presence-tracker")


def _another_repository(env: Env, root: Path, *, origin: str | None, owner: str | None) -> GitRepo:
    """A second repository aimed at the same keysets, holding one package of its own."""
    other = GitRepo(root)
    shutil.copytree(SAMPLE_REPO / "presence-tracker", other.root / "radar")
    manifest = (other.root / "radar/package.yaml").read_text()
    other.write("radar/package.yaml", manifest.replace("name: presence-tracker", "name: radar"))
    policy = (SAMPLE_REPO / "faas-gitops.yaml").read_text()
    other.write("faas-gitops.yaml", policy if owner is None else f"owner: {owner}\n{policy}")
    if origin is not None:
        other.git("remote", "add", "origin", origin)
    other.commit("Another team's functions")
    return other


def _sync_other(env: Env, other: GitRepo) -> int:
    run = env.cli(
        "--sync-once", "--repo", str(other.root), "--api-url", env.emulator.url,
        "--state-dir", str(env.state), "--create-packages", "--prune", sync=False,
    )  # fmt: skip
    return run.code


def test_another_repository_with_its_own_origin_prunes_nothing_of_ours(
    env: Env, tmp_path: Path
) -> None:
    env.repo.git("remote", "add", "origin", "git@github.com:acme/functions.git")
    assert env.cli().code == 0
    before = env.running(STAGING)
    other = _another_repository(
        env, tmp_path / "repo-two" / "repo", origin="https://github.com/acme/other.git", owner=None
    )  # the same directory name as ours: only the origin tells the owners apart

    assert _sync_other(env, other) == 0

    assert env.running(STAGING) == {**before, "radar": env.running(STAGING)["radar"]}
    assert "fgo-owner:acme/other" in tags_of(env, "radar")
    assert "fgo-owner:acme/functions" in tags_of(env, "webhooks")


def test_another_repository_with_its_own_owner_prunes_nothing_of_ours(
    env: Env, tmp_path: Path
) -> None:
    assert env.cli().code == 0
    before = env.running(STAGING)
    other = _another_repository(env, tmp_path / "repo-two" / "repo", origin=None, owner="team-two")

    assert _sync_other(env, other) == 0

    assert env.running(STAGING) == {**before, "radar": env.running(STAGING)["radar"]}
    assert "fgo-owner:team-two" in tags_of(env, "radar")


def test_a_starting_deployment_on_another_keyset_survives_a_prune_by_deployment_id(
    env: Env,
) -> None:
    assert env.cli().code == 0
    staging_id = deployments_of(env, "webhooks", STAGING)[0]["id"]
    _retire_webhooks(env)
    deploy_behind_our_back(env, "webhooks", PRODUCTION, delay_ms=3_600_000)  # STARTING for 1 h
    env.clear()

    code, document = env.sync_json("--prune")

    assert code == 0
    rows = removed_rows(document, "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {
        "staging": "pruned",
        "production": "orphaned",
    }
    assert states_of(env, "webhooks", PRODUCTION) == ["STARTING"]
    assert states_of(env, "webhooks", STAGING) == ["STOPPED"]
    stops = [w for w in env.writes() if w[0] == "DELETE"]
    assert stops == [("DELETE", f"/v2/faas/package-deployments/{staging_id}/function-deployments")]
    assert PACKAGE_WIDE_STOP not in env.writes()
    assert requests(env, "DELETE", "/v2/faas/function-deployments") == []

    # Now its only deployment is one still starting (the API does not count it as running):
    # the next run still sees it, and still leaves it alone.
    code, again = env.sync_json("--prune")

    assert code == 0
    assert {e: r["status"] for e, r in removed_rows(again, "webhooks").items()} == {
        "production": "orphaned"
    }
    assert states_of(env, "webhooks", PRODUCTION) == ["STARTING"]


def test_a_frozen_environment_is_never_pruned(env: Env) -> None:
    assert env.cli().code == 0
    policy = (env.repo.root / "faas-gitops.yaml").read_text()
    env.repo.write(
        "faas-gitops.yaml",
        policy.replace("    branches: [main]\n", "    branches: [main]\n    frozen: true\n"),
    )
    _retire_webhooks(env)  # commits the freeze too
    env.clear()

    code, document = env.sync_json("--prune")

    assert code == 0
    rows = removed_rows(document, "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {"staging": "frozen"}
    assert rows["staging"]["note"]
    assert env.writes() == []
    assert "webhooks" in env.running(STAGING)


def test_a_broken_package_yaml_is_not_a_removal(env: Env) -> None:
    assert env.cli().code == 0
    before = env.running(STAGING)
    env.repo.write("webhooks/package.yaml", "packageId: [unclosed\n")
    env.repo.write("presence-tracker/package.yaml", "name: presence-tracker\nfunctions: 3\n")
    env.repo.commit("Two typos")
    env.clear()

    code, document = env.sync_json("--prune")

    assert code == 1
    failed = {p["path"]: p for p in document["packages"] if p["status"] == "failed"}
    assert set(failed) == {"webhooks", "presence-tracker"}
    assert all(p["deployments"] == [] for p in failed.values())
    assert env.running(STAGING) == before
    assert [w for w in env.writes() if w[0] == "DELETE"] == []


def test_a_package_renamed_in_place_is_pruned_under_its_own_row(env: Env) -> None:
    assert env.cli().code == 0
    old_id = next(p["id"] for p in env.emulator.store.packages() if p["name"] == "presence-tracker")
    manifest = (env.repo.root / "presence-tracker/package.yaml").read_text()
    env.repo.write(
        "presence-tracker/package.yaml",
        manifest.replace("name: presence-tracker", "name: presence-radar"),
    )  # no packageId: a new name is a new package, in the same directory
    env.repo.commit("presence-tracker becomes presence-radar")

    code, document = env.sync_json("--prune", "--create-packages")

    assert code == 0
    assert statuses(document)[("presence-tracker", "staging")] == "deployed"
    old_rows = removed_rows(document, f"presence-tracker#{old_id}")
    assert {e: r["status"] for e, r in old_rows.items()} == {"staging": "pruned"}
    assert set(env.running(STAGING)) == {"chat-moderation", "presence-radar", "webhooks"}
    assert _status_of(env, "presence-tracker") == {"staging": "deployed"}
