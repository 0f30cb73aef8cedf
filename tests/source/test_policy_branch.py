"""The environment policy is read from a configuration branch's tip, not from the synced commit:
a tag cut before a freeze must still see today's freeze. Also the owner a repository gets when
its file names none, and the ``--config-ref`` option."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops import cli
from faas_gitops.errors import ConfigError
from faas_gitops.settings import GitSettings
from faas_gitops.source import Repository
from faas_gitops.source.environments import EnvironmentsConfig
from faas_gitops.source.owner import default_owner, owner_from_url
from faas_gitops.source.policy import SYNCED_COMMIT, default_config_ref, load_policy
from tests.gitrepo import GitRepo


def policy(frozen: bool, owner: str = "acme/functions") -> str:
    return (
        f"owner: {owner}\n"
        "environments:\n"
        "  staging: {keysetId: 412345, branches: [main]}\n"
        f"  production: {{keysetId: 498765, tags: ['v*'], frozen: {str(frozen).lower()}}}\n"
    )


def production_frozen(config: EnvironmentsConfig | None) -> bool:
    assert config is not None
    return config.by_name()["production"].frozen


@pytest.fixture
def tagged_before_the_freeze(git_repo: GitRepo) -> GitRepo:
    """v1.0 was cut with production open; main has frozen production since."""
    git_repo.write("faas-gitops.yaml", policy(frozen=False))
    git_repo.commit("policy: production open")
    git_repo.tag("v1.0", message="release 1.0")
    git_repo.write("faas-gitops.yaml", policy(frozen=True))
    git_repo.commit("policy: freeze production")
    return git_repo


def test_a_tag_cut_before_a_freeze_sees_the_freeze_on_the_default_branch(
    tagged_before_the_freeze: GitRepo,
) -> None:
    repo = tagged_before_the_freeze
    main = repo.head()
    with Repository(repo.root) as repository:
        synced = repository.resolve("v1.0")
        config, where = load_policy(repository, synced, "", None)
        assert default_config_ref(repository) == "main"

    assert production_frozen(config)
    assert where == f"main@{main[:12]}"


def test_an_explicit_config_ref_is_read_from_its_tip(tagged_before_the_freeze: GitRepo) -> None:
    repo = tagged_before_the_freeze
    repo.git("branch", "policy", "v1.0")
    with Repository(repo.root) as repository:
        config, where = load_policy(repository, repository.resolve("main"), "", "policy")

    assert not production_frozen(config)
    assert where == f"policy@{repo.git('rev-parse', 'policy').strip()[:12]}"


@pytest.mark.parametrize("ref", ["no-such-branch", "origin/main", "bad\nname"])
def test_an_explicit_config_ref_that_does_not_resolve_is_one_config_error_line(
    tagged_before_the_freeze: GitRepo, ref: str
) -> None:
    with (
        Repository(tagged_before_the_freeze.root) as repository,
        pytest.raises(ConfigError) as caught,
    ):
        load_policy(repository, repository.resolve("v1.0"), "", ref)
    assert str(caught.value) == (
        f"--config-ref {ref!r}: not found in the repository (no such branch, tag or commit); "
        "fetch that branch or fix the name"
    )


def test_a_bad_file_on_the_config_branch_names_the_branch(git_repo: GitRepo) -> None:
    git_repo.write("deploy/faas-gitops.yaml", "environments:\n  s: {keysetId: 0412345}\n")
    sha = git_repo.commit()
    with Repository(git_repo.root) as repository, pytest.raises(ConfigError) as caught:
        load_policy(repository, sha, "deploy", None)
    assert str(caught.value).startswith(
        f"deploy/faas-gitops.yaml on main@{sha[:12]}: environments.s.keysetId: '0412345' is "
        "not plain decimal"
    )


def test_a_config_branch_without_the_file_means_no_environment(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "no policy on main\n")
    git_repo.commit()
    git_repo.git("checkout", "--quiet", "-b", "feature")
    git_repo.write("faas-gitops.yaml", policy(frozen=False))
    feature = git_repo.commit()
    with Repository(git_repo.root) as repository:
        config, where = load_policy(repository, feature, "", None)
    assert config is None
    assert where.startswith("main@")


def test_without_any_default_branch_the_synced_commit_is_read(
    tagged_before_the_freeze: GitRepo,
) -> None:
    repo = tagged_before_the_freeze
    repo.git("checkout", "--quiet", "--detach", "v1.0")
    repo.git("branch", "--quiet", "-D", "main")  # what a git-sync worktree may look like
    with Repository(repo.root) as repository:
        assert default_config_ref(repository) is None
        config, where = load_policy(repository, repository.resolve("v1.0"), "", None)

    assert not production_frozen(config)
    assert where == SYNCED_COMMIT


def test_origin_head_names_the_default_branch_before_main(
    tagged_before_the_freeze: GitRepo,
) -> None:
    repo = tagged_before_the_freeze
    v1 = repo.git("rev-parse", "v1.0^{commit}").strip()
    repo.git("update-ref", "refs/remotes/origin/trunk", v1)
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    with Repository(repo.root) as repository:
        assert default_config_ref(repository) == "origin/trunk"
        config, where = load_policy(repository, repository.resolve("main"), "", None)
    assert not production_frozen(config)
    assert where == f"origin/trunk@{v1[:12]}"


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        (("refs/heads/master",), "master"),
        (("refs/remotes/origin/master", "refs/heads/master"), "origin/master"),
        (("refs/heads/main", "refs/remotes/origin/master"), "main"),
        (("refs/remotes/origin/main", "refs/heads/main"), "origin/main"),
        (("refs/heads/develop", "refs/tags/main"), None),
    ],
)
def test_without_origin_head_main_comes_before_master_and_remote_tracking_before_local(
    git_repo: GitRepo, refs: tuple[str, ...], expected: str | None
) -> None:
    git_repo.write("a.txt", "1\n")
    sha = git_repo.commit()
    git_repo.git("checkout", "--quiet", "--detach")
    git_repo.git("update-ref", "-d", "refs/heads/main")
    for ref in refs:
        git_repo.git("update-ref", ref, sha)
    with Repository(git_repo.root) as repository:
        assert default_config_ref(repository) == expected


def test_a_mirror_of_a_url_reads_the_policy_from_the_remote_default_branch(
    tmp_path: Path, tagged_before_the_freeze: GitRepo
) -> None:
    origin = tagged_before_the_freeze
    origin.git("checkout", "--quiet", "-b", "trunk", "v1.0")  # the remote's HEAD: trunk
    trunk = origin.head()
    url = f"file://{origin.root}"
    with Repository.open(GitSettings(repo=url), tmp_path / "state") as repository:
        assert repository.is_bare
        assert default_config_ref(repository) == "trunk"
        config, where = load_policy(repository, repository.resolve("main"), "", None)
    assert not production_frozen(config)
    assert where == f"trunk@{trunk[:12]}"


@pytest.mark.parametrize(
    ("url", "owner"),
    [
        ("git@github.com:acme/functions.git", "acme/functions"),
        ("https://user:token@gitlab.com/g/sub/proj", "sub/proj"),
        ("https://gitlab.com/g/sub/proj.git/", "sub/proj"),
        ("ssh://git@git.example:2222/acme/fn.git", "acme/fn"),
        ("file:///srv/git/functions.git", "git/functions"),
        ("/srv/repos/functions", "repos/functions"),
        ("https://host.example/only.git", "only"),
        ("https://host.example/ac me/fün ctions", "ac-me/f-n-ctions"),
        ("https://host.example/" + "x" * 60, "x" * 48),
        ("https://host.example/", None),
    ],
)
def test_an_owner_is_derived_from_a_remote_url(url: str, owner: str | None) -> None:
    assert owner_from_url(url) == owner


def test_default_owner_comes_from_origin_else_from_the_directory(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "Functions Repo!")
    repo.write("a.txt", "1\n")
    repo.commit()
    with Repository(repo.root) as repository:
        assert default_owner(repository) == "Functions-Repo"
    repo.git("remote", "add", "origin", "https://ci:s3cret@github.com/acme/functions.git")
    with Repository(repo.root) as repository:
        assert repository.remote_url() == "https://ci:s3cret@github.com/acme/functions.git"
        assert repository.remote_url("upstream") is None
        assert default_owner(repository) == "acme/functions"


KEY = "sk-policy-test-key"


def test_config_ref_comes_from_the_flag_or_its_variable() -> None:
    def load(*argv: str, **env: str) -> str | None:
        settings = cli.load_settings(
            cli.build_parser().parse_args(list(argv)), {"FAAS_API_KEY": KEY, **env}
        )
        return settings.deploy.config_ref

    assert load() is None
    assert load("--config-ref", "policy") == "policy"
    assert load(FAAS_GITOPS_CONFIG_REF="origin/config") == "origin/config"
    assert load("--config-ref", "policy", FAAS_GITOPS_CONFIG_REF="origin/config") == "policy"
