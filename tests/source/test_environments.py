"""faas-gitops.yaml from the commit, the environments a sync acts on, and the branch it syncs."""

from __future__ import annotations

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.source import Repository
from faas_gitops.source.environments import Environment, active_environments, parse_environments
from faas_gitops.source.policy import load_environments
from tests.gitrepo import GitRepo

CONFIG = b"""\
environments:
  staging:
    keysetId: 412345
    branches: [main]
  production:
    keysetId: 498765
    tags: ["v*"]
    frozen: true
"""


def test_a_valid_file_gives_every_environment_in_file_order() -> None:
    config = parse_environments(CONFIG)
    assert list(config.by_name().values()) == [
        Environment("staging", 412345, branches=("main",)),
        Environment("production", 498765, tags=("v*",), frozen=True),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("environments:\n  s: {keysetId: '412'}\n",
         "faas-gitops.yaml: environments.s.keysetId: must be an integer (the numeric keyset id), "
         "not a string"),
        ("environments:\n  s: {keysetId: 4.5}\n",
         "faas-gitops.yaml: environments.s.keysetId: must be an integer (the numeric keyset id), "
         "not a number"),
        ("environments:\n  s: {keysetId: true}\n",
         "faas-gitops.yaml: environments.s.keysetId: must be an integer (the numeric keyset id), "
         "not a boolean"),
        ("environments:\n  s: {keysetId: 0}\n",
         "faas-gitops.yaml: environments.s.keysetId: must be a positive keyset id, not 0"),
        ("environments:\n  s: {branches: [main]}\n",
         "faas-gitops.yaml: environments.s.keysetId: missing; give the environment's numeric "
         "keyset id"),
        ("environments:\n  s: {keysetId: 1, branch: [main]}\n",
         "faas-gitops.yaml: environments.s.branch: unknown key; valid keys are keysetId, branches, "
         "tags, frozen, windows"),
        ("environment: {}\n",
         "faas-gitops.yaml: environment: unknown key; valid keys are environments, owner"),
        ("environments: {}\n",
         "faas-gitops.yaml: environments: is empty; define at least one environment, or remove "
         "the file"),
        ("environments:\n  s: {keysetId: 1, branches: main}\n",
         "faas-gitops.yaml: environments.s.branches: must be a list, not a string"),
        ("environments:\n  s: {keysetId: 1, tags: ['']}\n",
         "faas-gitops.yaml: environments.s.tags: a tag glob must not be empty or start or end "
         "with whitespace"),
        ("environments:\n  s: {keysetId: 1, frozen: 'yes'}\n",
         "faas-gitops.yaml: environments.s.frozen: must be true or false, not a string"),
        ("environments: [staging]\n",
         "faas-gitops.yaml: environments: must be a mapping, not a list"),
        ("- staging\n",
         "faas-gitops.yaml: the top level must be a mapping with 'environments', not a list"),
        ("environments:\n  s: {keysetId: 1\n",
         "faas-gitops.yaml: invalid YAML at line 3, column 1: while parsing a flow mapping; "
         "did not find expected ',' or '}'"),
        ("environments:\n  s: &a {keysetId: 1}\n",
         "faas-gitops.yaml: invalid YAML at line 2, column 6: anchors ('&name') are not allowed "
         "in manifests"),
    ],
)  # fmt: skip
def test_a_bad_file_is_one_config_error_line(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_environments(text.encode())
    assert str(caught.value) == line


def test_the_file_is_read_from_the_commit_at_the_root_of_the_path(git_repo: GitRepo) -> None:
    git_repo.write("README.md", "no config here\n")
    bare = git_repo.commit("no config")
    git_repo.write("deploy/faas-gitops.yaml", CONFIG)
    with_config = git_repo.commit("config below --path deploy")
    (git_repo.root / "faas-gitops.yaml").write_bytes(CONFIG)  # in the working tree only

    with Repository(git_repo.root) as repository:
        assert load_environments(repository, bare) is None
        assert load_environments(repository, with_config) is None
        loaded = load_environments(repository, with_config, "deploy")

    assert loaded is not None
    assert list(loaded.by_name()) == ["staging", "production"]


def test_a_bad_file_in_the_commit_names_its_path(git_repo: GitRepo) -> None:
    git_repo.write("deploy/faas-gitops.yaml", "environments: {s: {keysetId: x}}\n")
    sha = git_repo.commit()
    with Repository(git_repo.root) as repository, pytest.raises(ConfigError) as caught:
        load_environments(repository, sha, "deploy")
    assert str(caught.value).startswith("deploy/faas-gitops.yaml: environments.s.keysetId: ")


def test_a_directory_named_like_the_file_is_one_config_error_line(git_repo: GitRepo) -> None:
    git_repo.write("faas-gitops.yaml/x", "1\n")
    sha = git_repo.commit()
    with Repository(git_repo.root) as repository, pytest.raises(ConfigError, match="not a regular"):
        load_environments(repository, sha)


CONFIGURED = parse_environments(
    b"environments:\n"
    b"  dev: {keysetId: 1, branches: [main, develop]}\n"
    b"  qa: {keysetId: 2, branches: [release], tags: ['rc-*']}\n"
    b"  prod: {keysetId: 3, tags: ['v*', 'hotfix-[0-9]*']}\n"
)


@pytest.mark.parametrize(
    ("branch", "tags", "names", "active"),
    [
        ("main", (), (), ("dev",)),
        ("develop", (), (), ("dev",)),
        ("release", ("rc-1",), (), ("qa",)),
        (None, ("v1.4.0",), (), ("prod",)),
        ("main", ("v1.4.0", "rc-2"), (), ("dev", "qa", "prod")),
        (None, ("hotfix-7",), (), ("prod",)),
        (None, ("hotfix-x",), (), ()),
        (None, ("V1.0",), (), ()),  # globs are case-sensitive
        ("feature/x", (), (), ()),
        (None, (), (), ()),
        ("main", ("v1",), ("qa",), ("qa",)),  # names given: exactly those, nothing else
        (None, (), ("prod", "dev"), ("dev", "prod")),  # in file order
    ],
)
def test_active_environments_follow_the_names_else_branch_and_tags(
    branch: str | None, tags: tuple[str, ...], names: tuple[str, ...], active: tuple[str, ...]
) -> None:
    chosen = active_environments(CONFIGURED, branch=branch, tags=tags, names=names)
    assert tuple(env.name for env in chosen) == active


def test_an_unknown_environment_name_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        active_environments(CONFIGURED, branch="main", tags=(), names=("dev", "staging"))
    assert str(caught.value) == (
        "--environment staging: not defined in faas-gitops.yaml (defined: dev, qa, prod)"
    )


def test_without_a_file_no_environment_is_active_and_a_name_is_an_error() -> None:
    assert active_environments(None, branch="main", tags=("v1",)) == ()
    with pytest.raises(ConfigError, match=r"there is no faas-gitops\.yaml"):
        active_environments(None, branch="main", tags=(), names=("dev",))


def test_branch_of_names_the_branch_being_synced(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "1\n")
    first = git_repo.commit()
    git_repo.git("branch", "release")
    git_repo.tag("v1.0.0")
    git_repo.git("update-ref", "refs/remotes/origin/feature", first)

    with Repository(git_repo.root) as repository:
        cases = {
            None: "main",
            "HEAD": "main",
            "main": "main",
            "refs/heads/release": "release",
            "release": "release",
            "origin/feature": "feature",
            "v1.0.0": None,
            first: None,
            "no-such-ref": None,
        }
        assert {ref: repository.branch_of(ref) for ref in cases} == cases
        git_repo.git("checkout", "--quiet", "--detach", first)
        assert repository.branch_of(None) is None
        assert repository.branch_of("main") == "main"
