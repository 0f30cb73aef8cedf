"""The mirror of a URL: credentials never reach the disk, and git's real cause reaches the user."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from faas_gitops.errors import SourceError
from faas_gitops.settings import GitSettings
from faas_gitops.source import Repository
from tests.gitrepo import GitRepo
from tests.source.git_http_server import GitHttpServer, serving

PASSWORD = "pw-MIRRORCHECK-s3cr/t:x@y"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer config (credential helpers, url rewrites) may change what git does."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")


@pytest.fixture
def origin(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "work")
    repo.write(
        "chat/package.yaml",
        "packageId: p-1\nfunctions:\n  - {name: f, type: ON_REQUEST, file: f.js}\n",
    )
    repo.write("chat/f.js", "export default () => 1;\n")
    repo.commit("first")
    subprocess.run(
        ["git", "clone", "--bare", "--quiet", str(repo.root), str(tmp_path / "srv" / "repo.git")],
        env=repo.env, check=True, capture_output=True,
    )  # fmt: skip
    return repo


@pytest.fixture
def git_server(tmp_path: Path, origin: GitRepo) -> Iterator[GitHttpServer]:
    with serving(tmp_path / "srv", user="alice", password=PASSWORD) as running:
        yield running


def every_file(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def open_url(url: str, state_dir: Path) -> Repository:
    return Repository.open(GitSettings(repo=url), state_dir)


@pytest.mark.slow
def test_a_password_in_the_url_clones_and_fetches_but_never_reaches_the_state_dir(
    tmp_path: Path, origin: GitRepo, git_server: GitHttpServer
) -> None:
    state = tmp_path / "state"
    url = git_server.url("repo.git", user="alice", password=quote(PASSWORD, safe=""))

    with open_url(url, state) as repository:
        first = repository.resolve()
        origin.write("chat/f.js", "export default () => 2;\n")
        second_sha = origin.commit("second")
        origin.git("push", "--quiet", str(tmp_path / "srv" / "repo.git"), "main")
        repository.fetch()
        second = repository.resolve()

    assert first.subject == "first"
    assert second.sha == second_sha
    assert any(authed for _method, _path, authed in git_server.requests)
    files = every_file(state)
    assert any(path.name == "config" for path in files), "the mirror was written"
    for path in files:
        data = path.read_bytes()
        for secret in (PASSWORD, quote(PASSWORD, safe=""), "MIRRORCHECK"):
            assert secret.encode() not in data, f"{path} holds the password"
    for directory in (state, state / "mirrors"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


@pytest.mark.slow
def test_a_wrong_password_fails_with_one_line_naming_the_url_and_the_cause(
    tmp_path: Path, git_server: GitHttpServer
) -> None:
    url = git_server.url("repo.git", user="alice", password="wrong-MIRRORCHECK")

    with pytest.raises(SourceError) as caught:
        open_url(url, tmp_path / "state")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--repo http://***@127.0.0.1:{git_server.port}/repo.git: ")
    assert "Authentication failed" in message
    assert "MIRRORCHECK" not in message
    assert "mirrors" not in message


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("file:///nonexistent/acme/f.git", "does not appear to be a git repository"),
        ("git@github.invalid:acme/f.git", "Could not resolve hostname github.invalid"),
        ("https://github.invalid/acme/f.git", "Could not resolve host: github.invalid"),
    ],
)
def test_a_clone_that_fails_shows_git_s_real_cause_not_its_closing_advice(
    tmp_path: Path, url: str, cause: str
) -> None:
    with pytest.raises(SourceError) as caught:
        open_url(url, tmp_path / "state")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"--repo {url}: ")
    assert cause in message
    assert "and the repository exists" not in message
    assert str(tmp_path / "state") not in message
    assert not list((tmp_path / "state" / "mirrors").glob("*.tmp")), "no half-made clone left"


@pytest.mark.slow
def test_a_mirror_left_by_an_earlier_version_with_the_password_inside_is_removed(
    tmp_path: Path, git_server: GitHttpServer
) -> None:
    state = tmp_path / "state"
    url = git_server.url("repo.git", user="alice", password=quote(PASSWORD, safe=""))
    legacy = state / "mirrors" / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.git"
    legacy.mkdir(parents=True)
    (legacy / "config").write_text(f'[remote "origin"]\n\turl = {url}\n')

    with open_url(url, state) as repository:
        repository.resolve()

    assert not legacy.exists()
    assert all(b"MIRRORCHECK" not in path.read_bytes() for path in every_file(state))
    assert stat.S_IMODE((state / "mirrors").stat().st_mode) == 0o700
