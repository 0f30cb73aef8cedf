"""What the prune and inventory tests share beyond ``environments_support``: the package's tags
and deployments as the emulator's store holds them, deployments made behind the tool's back,
and the requests of one kind the tool sent."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.environments.environments_support import Env
from tests.harness import Run

#: The package-wide stop (5.24): a prune must never send it.
PACKAGE_WIDE_STOP = ("DELETE", "/v2/faas/function-deployments")


def package_named(env: Env, name: str) -> dict[str, Any]:
    """The emulator's package of that name (as the API shows it, with its ``tags``)."""
    return next(p for p in env.emulator.store.packages() if p["name"] == name)


def tags_of(env: Env, name: str) -> list[str]:
    return list(package_named(env, name)["tags"])


def deployments_of(env: Env, name: str, keyset_id: int) -> list[dict[str, Any]]:
    """Every deployment of the named package on the keyset, whatever its state."""
    store = env.emulator.store
    package = package_named(env, name)
    return [
        deployment
        for revision in store.revisions(package["id"])
        for deployment in store.revision_deployments(revision["id"])
        if deployment["keysetId"] == keyset_id
    ]


def states_of(env: Env, name: str, keyset_id: int) -> list[str]:
    return sorted(d["state"] for d in deployments_of(env, name, keyset_id))


def deploy_behind_our_back(
    env: Env, name: str, keyset_id: int, *, revision: str | None = None, delay_ms: int = 0
) -> str:
    """Start the package's (latest, or named) revision on the keyset as a person in the portal
    would; with ``delay_ms`` it stays STARTING that long. Returns the deployment id."""
    store = env.emulator.store
    revisions = store.revisions(package_named(env, name)["id"])
    chosen = (
        revisions[-1] if revision is None else next(r for r in revisions if r["id"] == revision)
    )
    deployment = store.create_deployment(chosen["id"], keyset_id)
    store.start_deployment(deployment["id"], delay_ms=delay_ms, max_running=1000)
    return str(deployment["id"])


def unmarked_package(env: Env, name: str, keyset_id: int, tags: tuple[str, ...] = ()) -> str:
    """A package made by hand (no ``fgo-owner:`` mark), running on the keyset; its id."""
    store = env.emulator.store
    package = store.add_package(name, "made in the portal", tags=tags)
    store.add_revision(
        package["id"],
        "v1",
        [{"name": "Hand", "type": "ON_REQUEST", "code": "export default (r) => r.ok();",
          "config": {"path": name}}],
    )  # fmt: skip
    deploy_behind_our_back(env, name, keyset_id)
    return str(package["id"])


def requests(env: Env, method: str, prefix: str) -> list[str]:
    """Paths of the requests of ``method`` whose path starts with ``prefix``."""
    return [
        r.path for r in env.emulator.requests if r.method == method and r.path.startswith(prefix)
    ]


def removed_rows(document: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    """Environment -> deployment document of one package of a JSON sync result."""
    for package in document["packages"]:
        if package["path"] == path:
            return {d["environment"]: d for d in package["deployments"]}
    return {}


def subcommand(env: Env, *args: str) -> Run:
    """``faas-gitops <args> --state-dir <the test's state dir>``."""
    return env.cli(*args, "--state-dir", str(env.state), sync=False)


def subcommand_json(env: Env, *args: str) -> Any:
    run = subcommand(env, *args, "--output", "json")
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)
