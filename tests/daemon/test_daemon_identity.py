"""What the daemon compares to decide "already synced", the stuck deadline of a sync that
deploys, and the once-per-branch advice; in-process, on real repositories in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from faas_gitops.daemon import Daemon, stuck_after
from faas_gitops.daemon.identity import (
    DeployScope,
    config_commit,
    deploy_scope,
    environment_configs,
    named_by_new_tag,
    resolve_watched,
    watched_identity,
)
from faas_gitops.daemon.policy import deploy_stage_bound
from faas_gitops.settings import ApiSettings, DeploySettings, GitSettings, Settings
from faas_gitops.source import Repository
from tests.gitrepo import GitRepo
from tests.harness import SAMPLE_REPO

POLICY = (SAMPLE_REPO / "faas-gitops.yaml").read_text()  # staging: main; production: v*


def settings(
    repo: GitRepo, *, ref: str | None = None, concurrency: int = 8, **deploy: object
) -> Settings:
    return Settings(
        git=GitSettings(repo=str(repo.root), ref=ref),
        api=ApiSettings(key="sk-unit-test-key", concurrency=concurrency),
        deploy=DeploySettings.model_validate(deploy),
        state_dir=repo.root.parent / "state",
    )


@pytest.fixture
def policy_repo(git_repo: GitRepo) -> GitRepo:
    """Three packages and the sample policy, committed on main."""
    for name in ("alpha", "beta", "gamma"):
        git_repo.write(f"{name}/package.yaml", f"name: {name}\n")
        git_repo.write(f"{name}/fn.js", "export default (r) => r.ok();\n")
    git_repo.write("faas-gitops.yaml", POLICY)
    git_repo.commit("Three packages, staging from main, production from v* tags")
    return git_repo


# --------------------------------------------------------------------------- identity
def test_a_tag_on_the_synced_commit_changes_the_identity_and_a_tag_elsewhere_does_not(
    policy_repo: GitRepo,
) -> None:
    first = policy_repo.head()
    policy_repo.write("alpha/fn.js", "export default (r) => r.ok(); // 2\n").commit("Edit")
    with Repository(policy_repo.root) as repository:
        before = watched_identity(repository, settings(policy_repo))
        policy_repo.tag("old", ref=first)
        assert watched_identity(repository, settings(policy_repo)) == before

        policy_repo.tag("v1.3.0", message="Release")

        after = watched_identity(repository, settings(policy_repo))
    assert (after.commit, after.branch) == (before.commit, "main")
    assert (before.tags, after.tags) == ((), ("v1.3.0",))


def test_the_configuration_commit_is_config_ref_else_the_first_default_branch_that_exists(
    policy_repo: GitRepo,
) -> None:
    main = policy_repo.head()
    with Repository(policy_repo.root) as repository:
        assert config_commit(repository, None) == main
        policy_repo.git("branch", "-m", "main", "master")
        assert config_commit(repository, None) == main  # no origin/HEAD, no main: master
        policy_repo.git("branch", "-m", "master", "trunk")
        assert config_commit(repository, None) is None
        assert config_commit(repository, "trunk") == main
        assert config_commit(repository, "no-such-branch") is None


@pytest.mark.slow
def test_the_identity_follows_origin_head_of_a_working_clone(
    policy_repo: GitRepo, tmp_path: Path
) -> None:
    clone = GitRepo(tmp_path / "clone")
    clone.git("remote", "add", "origin", str(policy_repo.root))
    clone.git("fetch", "--quiet", "origin")
    clone.git("remote", "set-head", "origin", "main")
    clone.git("checkout", "--quiet", "-b", "feature", "origin/main")
    clone.write("alpha/fn.js", "export default (r) => r.ok(); // local\n").commit("Local work")
    clone.git("branch", "-f", "main", "HEAD")  # a local main ahead of origin's: not the config
    with Repository(clone.root) as repository:
        before = watched_identity(repository, settings(clone))
        assert before.branch == "feature"
        assert before.config_commit == policy_repo.head()

        policy_repo.write("faas-gitops.yaml", POLICY + "# reviewed\n").commit("Policy")
        clone.git("fetch", "--quiet", "origin")

        after = watched_identity(repository, settings(clone))
    assert after.commit == before.commit
    assert after.config_commit == policy_repo.head() != before.config_commit


def test_an_explicit_config_ref_is_the_one_watched(policy_repo: GitRepo) -> None:
    policy_repo.git("branch", "policy")
    with Repository(policy_repo.root) as repository:
        before = watched_identity(repository, settings(policy_repo, config_ref="policy"))
        policy_repo.write("alpha/fn.js", "// main moves, policy does not\n").commit("Edit")
        moved_main = watched_identity(repository, settings(policy_repo, config_ref="policy"))
        policy_repo.git("update-ref", "refs/heads/policy", "HEAD")
        moved_policy = watched_identity(repository, settings(policy_repo, config_ref="policy"))
    assert moved_main.config_commit == before.config_commit
    assert moved_main.commit != before.commit
    assert moved_policy.config_commit == policy_repo.head() != before.config_commit


# --------------------------------------------------------------------------- stuck deadline
def test_the_deploy_stage_bound_is_rounds_of_concurrent_packages_times_environments(
    policy_repo: GitRepo,
) -> None:
    eight = settings(policy_repo, timeout=120.0)
    assert deploy_stage_bound(eight, packages=0, environments=2) == 0
    assert deploy_stage_bound(eight, packages=3, environments=0) == 0
    # One package on three environments: its deployments run one after the other.
    assert deploy_stage_bound(eight, packages=1, environments=3) == 3 * 120
    # 20 packages, 8 at once: 3 rounds, each of 2 environments one after the other.
    assert deploy_stage_bound(eight, packages=20, environments=2) == 3 * 2 * 120
    one = settings(policy_repo, concurrency=1, timeout=60.0)
    assert deploy_stage_bound(one, packages=20, environments=2) == 20 * 2 * 60


def test_the_stuck_deadline_is_the_base_allowance_plus_the_deploy_stage_bound(
    policy_repo: GitRepo,
) -> None:
    plain = settings(policy_repo, timeout=600.0)
    assert stuck_after(plain) == 900  # nothing to deploy: as before
    # 100 packages x 2 environments, 8 at once, 10 minutes each: 13 rounds x 2 x 600 s.
    assert stuck_after(plain, packages=100, environments=2) == 900 + 13 * 2 * 600


def test_the_deploy_scope_counts_package_directories_and_defined_environments(
    policy_repo: GitRepo,
) -> None:
    with Repository(policy_repo.root) as repository:

        def scope(current: Settings) -> DeployScope:
            identity = watched_identity(repository, current)
            configs = environment_configs(repository, identity, current.git.path)
            return deploy_scope(repository, identity, current, configs)

        assert scope(settings(policy_repo)) == DeployScope(packages=3, environments=2)
        assert scope(settings(policy_repo, environments=("staging",))) == DeployScope(3, 1)
        policy_repo.remove("faas-gitops.yaml").commit("No environments")
        assert scope(settings(policy_repo, config_ref="HEAD")) == DeployScope(0, 0)


def test_a_sync_that_deploys_gets_a_longer_healthz_deadline(policy_repo: GitRepo) -> None:
    current = settings(policy_repo, timeout=120.0)
    daemon = Daemon(current)
    with Repository(policy_repo.root) as repository:
        deadline = daemon.tick.before_sync(repository, watched_identity(repository, current))
    assert deadline == stuck_after(current, packages=3, environments=2) == 900 + 2 * 120


# --------------------------------------------------------------------------- branch advice
@pytest.mark.slow
@pytest.mark.usefixtures("unfiltered_logs")
def test_head_on_a_branch_no_environment_lists_is_warned_about_once_per_branch(
    policy_repo: GitRepo,
) -> None:
    policy_repo.git("checkout", "--quiet", "-b", "feature/a")
    current = settings(policy_repo)
    daemon = Daemon(current)

    def tick() -> None:
        with Repository(policy_repo.root) as repository:
            daemon.tick.before_sync(repository, watched_identity(repository, current))

    with capture_logs() as events:
        for _ in range(3):
            tick()
        policy_repo.write("alpha/fn.js", "// wip\n").commit("Work in progress")
        tick()
        policy_repo.git("checkout", "--quiet", "-b", "feature/b")
        tick()
        tick()
        policy_repo.git("checkout", "--quiet", "main")
        tick()

    warnings = [e for e in events if e["event"] == "daemon.branch_not_deployed"]
    assert [(w["branch"], w["log_level"]) for w in warnings] == [
        ("feature/a", "warning"),
        ("feature/b", "warning"),
    ]
    assert "pass --ref BRANCH" in warnings[0]["detail"]


@pytest.mark.usefixtures("unfiltered_logs")
@pytest.mark.parametrize(
    ("ref", "environments"),
    [
        ("feature/a", ()),  # an explicit --ref: the operator chose it
        (None, ("staging",)),  # --environment: the operator chose where it runs
    ],
)
def test_no_branch_advice_when_the_operator_chose_the_ref_or_the_environment(
    policy_repo: GitRepo, ref: str | None, environments: tuple[str, ...]
) -> None:
    policy_repo.git("checkout", "--quiet", "-b", "feature/a")
    current = settings(policy_repo, ref=ref, environments=environments)
    with capture_logs() as events, Repository(policy_repo.root) as repository:
        Daemon(current).tick.before_sync(repository, watched_identity(repository, current))
    assert [e for e in events if e["event"] == "daemon.branch_not_deployed"] == []


def test_a_sync_woken_by_a_new_tag_on_the_synced_commit_is_named_by_that_tag(
    policy_repo: GitRepo,
) -> None:
    with Repository(policy_repo.root) as repository:
        synced = resolve_watched(repository, settings(policy_repo))
        policy_repo.tag("v1.2.0").tag("v1.3.0", message="Release")
        woken = resolve_watched(repository, settings(policy_repo))
    assert woken.commit is not None
    assert named_by_new_tag(woken.commit, woken.identity, synced.identity).ref == "v1.3.0"
    assert named_by_new_tag(woken.commit, woken.identity, None).ref == "main"  # a fresh start


def test_a_new_commit_is_named_by_its_branch_even_when_it_arrives_tagged(
    policy_repo: GitRepo,
) -> None:
    with Repository(policy_repo.root) as repository:
        synced = resolve_watched(repository, settings(policy_repo))
        policy_repo.write("alpha/fn.js", "export default (r) => r.ok(); // 2\n").commit("Edit")
        policy_repo.tag("v1.4.0")
        moved = resolve_watched(repository, settings(policy_repo))
    assert moved.commit is not None
    assert named_by_new_tag(moved.commit, moved.identity, synced.identity).ref == "main"
