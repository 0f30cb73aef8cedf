"""The inventory: what a sync writes on the packages themselves (ownership marks a cold runner
can read back) and what it reports running where no environment points any more. The real CLI
over HTTP against the emulator, in both list modes (the ``env`` fixture)."""

from __future__ import annotations

import pytest

from tests.e2e.environments.environments_support import (
    PACKAGES,
    PRODUCTION,
    STAGING,
    Env,
    deployments,
    statuses,
)
from tests.e2e.environments.release_support import (
    deployments_of,
    package_named,
    removed_rows,
    requests,
    subcommand_json,
    tags_of,
)

pytestmark = [pytest.mark.both_modes, pytest.mark.slow]


OWNER = "acme/functions"  # from the origin URL below


def _with_origin(env: Env) -> None:
    env.repo.git("remote", "add", "origin", "git@github.com:acme/functions.git")


def _drop_production(env: Env) -> None:
    """faas-gitops.yaml on main without the production environment (its keyset kept running)."""
    policy = (env.repo.root / "faas-gitops.yaml").read_text()
    env.repo.write("faas-gitops.yaml", policy.split("  production:\n")[0])
    env.repo.commit("Production moves to another repository")


def test_a_first_sync_marks_each_package_as_ours_with_its_directory_and_keeps_foreign_tags(
    env: Env,
) -> None:
    _with_origin(env)
    webhooks = package_named(env, "webhooks")["id"]
    env.emulator.store.update_package(webhooks, tags=["team:payments", "cost-center:42"])

    code, _ = env.sync_json()

    assert code == 0
    assert tags_of(env, "webhooks") == [
        "team:payments",
        "cost-center:42",
        f"fgo-owner:{OWNER}",
        "fgo-dir:webhooks",
    ]
    for name in ("chat-moderation", "presence-tracker"):
        assert tags_of(env, name) == [f"fgo-owner:{OWNER}", f"fgo-dir:{name}"]


def test_a_warm_run_in_sync_writes_no_mark(env: Env) -> None:
    env.emulator.store.update_package(package_named(env, "webhooks")["id"], tags=["team:payments"])
    assert env.cli().code == 0
    assert len(requests(env, "PUT", "/v2/faas/packages/")) == len(PACKAGES)  # the first marks
    marked = {name: tags_of(env, name) for name in PACKAGES}
    env.clear()

    code, document = env.sync_json()

    assert code == 0
    assert set(statuses(document).values()) == {"in-sync"}
    assert requests(env, "PUT", "/v2/faas/packages/") == []
    assert env.writes() == []
    assert {name: tags_of(env, name) for name in PACKAGES} == marked


def test_a_moved_directory_rewrites_only_that_package_s_directory_mark(env: Env) -> None:
    assert env.cli().code == 0
    env.repo.git("mv", "webhooks", "inbound")
    env.repo.commit("Move the webhooks")
    env.clear()

    assert env.cli().code == 0

    webhooks = package_named(env, "webhooks")["id"]
    assert requests(env, "PUT", "/v2/faas/packages/") == [f"/v2/faas/packages/{webhooks}"]
    assert tags_of(env, "webhooks") == ["fgo-owner:repo", "fgo-dir:inbound"]


def test_deployments_on_a_keyset_no_environment_names_any_more_are_orphaned(env: Env) -> None:
    env.repo.tag("v1.0.0")
    assert env.cli().code == 0
    assert len(env.running(PRODUCTION)) == len(PACKAGES)
    _drop_production(env)
    env.clear()

    code, document = env.sync_json("--prune")

    assert code == 0
    rows = deployments(document)
    for name in PACKAGES:
        assert rows[(name, "staging")]["status"] == "in-sync"
        orphan = rows[(name, f"keyset:{PRODUCTION}")]
        assert orphan["status"] == "orphaned"
        assert orphan["keysetId"] == PRODUCTION
        assert orphan["running"] == rows[(name, "staging")]["running"]
        assert orphan["note"] == f"runs on keyset {PRODUCTION}, which no environment names any more"
    assert len(env.running(PRODUCTION)) == len(PACKAGES)  # --prune never reaches it
    assert [w for w in env.writes() if w[0] == "DELETE"] == []
    status = {p["path"]: p for p in subcommand_json(env, "status")}
    for name in PACKAGES:
        seen = {d["environment"]: d["status"] for d in status[name]["deployments"]}
        assert seen[f"keyset:{PRODUCTION}"] == "orphaned"


def test_a_removed_package_on_a_keyset_no_environment_names_is_orphaned_and_left_running(
    env: Env,
) -> None:
    env.repo.tag("v1.0.0")
    assert env.cli().code == 0
    _drop_production(env)
    env.repo.remove("webhooks")
    env.repo.commit("Retire the webhooks")

    code, document = env.sync_json("--prune")

    assert code == 0
    rows = removed_rows(document, "webhooks")
    assert {e: r["status"] for e, r in rows.items()} == {
        "staging": "pruned",
        f"keyset:{PRODUCTION}": "orphaned",
    }
    assert rows[f"keyset:{PRODUCTION}"]["note"] == (
        f"runs on keyset {PRODUCTION}, which no environment names any more; stop it there by"
        " hand or name the keyset again"
    )
    assert [d["state"] for d in deployments_of(env, "webhooks", PRODUCTION)] == ["RUNNING"]
    assert "webhooks" not in env.running(STAGING)


def test_marks_read_back_in_another_order_are_not_written_again(env: Env) -> None:
    assert env.cli().code == 0
    store = env.emulator.store
    for name in PACKAGES:  # as an API that sorts tags would answer them
        package = package_named(env, name)
        store.update_package(package["id"], tags=sorted([*package["tags"], "team:payments"]))
    env.clear()

    assert env.cli().code == 0

    assert requests(env, "PUT", "/v2/faas/packages/") == []  # every mark is there already
    assert tags_of(env, "webhooks") == ["fgo-dir:webhooks", "fgo-owner:repo", "team:payments"]
