"""The real CLI meets the git edge: run from a package directory, and a clone that fails."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, MODES, PACKAGES_ONLY, SAMPLE_REPO, Run


@contextmanager
def sync_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, state: Path
) -> Iterator[tuple[str, list[str]]]:
    """An emulator seeded with the sample packages, and the base argv of a sync against it."""
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    mode = next(iter(MODES.values()))
    with serve_in_thread(EmulatorConfig(api_key=API_KEY, **mode)) as emu:  # type: ignore[arg-type]
        emu.store.seed_from(SAMPLE_REPO)
        capsys.readouterr()
        yield emu.url, ["--sync-once", "--api-url", emu.url, "--state-dir", str(state)]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> Run:
    capsys.readouterr()
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return Run(code, out, err)


@pytest.mark.slow
def test_running_from_a_package_directory_syncs_the_whole_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repo.root / "packages", dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    repo.commit("the sample packages below packages/")
    inside = repo.root / "packages" / "webhooks"
    monkeypatch.chdir(inside)

    with sync_once(capsys, monkeypatch, tmp_path / "state") as (_url, base):
        result = run(capsys, [*base, "--repo", ".", "--path", "packages", "--output", "json"])

    assert result.code == 0, result.stderr
    paths = sorted(p["path"] for p in json.loads(result.stdout)["packages"])
    assert paths == [
        "packages/chat-moderation",
        "packages/presence-tracker",
        "packages/webhooks",
    ]


def test_a_clone_that_fails_is_one_line_with_git_s_cause_and_the_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"file://{tmp_path}/no-such/f.git"
    with sync_once(capsys, monkeypatch, tmp_path / "state") as (_url, base):
        result = run(capsys, [*base, "--repo", url])

    assert result.code == 2
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, result.stderr
    assert f"--repo {url}: " in lines[0]
    assert "does not appear to be a git repository" in lines[0]
    assert "mirrors" not in result.stderr
