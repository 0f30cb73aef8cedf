"""``--verify-signatures``: only commits and tags signed by the runner's keys are synced.

Real keys (ssh-keygen, gpg) sign real commits and tags with git itself; the real CLI runs
in-process against the emulator on loopback. Alice (SSH) and Bob (OpenPGP) are trusted, Mallory
(SSH) and Eve (OpenPGP) sign with keys the runner does not trust. A refused commit must reach
the API not at all: no write, no revision list read, not even the probe.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faas_gitops import cli
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.server import RunningEmulator
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, MODES, PACKAGES_ONLY, SAMPLE_REPO, Run
from tests.source.git_signing import Keys, Signer, commit, tag, tamper, trust

#: Each test here starts daemons or runs whole syncs over HTTP (0.3-10 s): CI runs them,
#: `scripts/test --fast` does not.
pytestmark = pytest.mark.slow

PACKAGES = ("chat-moderation", "presence-tracker", "webhooks")


@dataclass
class World:
    """The emulator, a repository of the sample packages (nothing committed yet), the trusted
    key directory (Alice and Bob) and the CLI run in-process."""

    emulator: RunningEmulator
    repo: GitRepo
    trusted: Path
    state: Path
    capsys: pytest.CaptureFixture[str]

    def cli(self, *args: str, repo: str | None = None) -> Run:
        argv = [
            "--sync-once",
            "--repo", repo or str(self.repo.root),
            "--api-url", self.emulator.url,
            "--state-dir", str(self.state),
            "--log-format", "json",
            *args,
        ]  # fmt: skip
        self.capsys.readouterr()
        code = cli.main(argv)
        out, err = self.capsys.readouterr()
        return Run(code, out, err)

    def verified(self, *args: str, mode: str = "head", repo: str | None = None) -> Run:
        return self.cli("--verify-signatures", mode, "--trusted-keys", str(self.trusted), *args,
                        repo=repo)  # fmt: skip

    def history(self) -> list[dict[str, object]]:
        self.capsys.readouterr()
        assert cli.main(["history", "--state-dir", str(self.state), "--output", "json"]) == 0
        entries: list[dict[str, object]] = json.loads(self.capsys.readouterr().out)["entries"]
        return entries

    def history_text(self) -> str:
        self.capsys.readouterr()
        assert cli.main(["history", "--state-dir", str(self.state)]) == 0
        return self.capsys.readouterr().out

    def writes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.emulator.requests if r.method != "GET"]

    def created(self) -> int:
        return sum(1 for method, path in self.writes() if method == "POST" and "revisions" in path)


@pytest.fixture
def signed_world(
    keys: Keys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[World]:
    monkeypatch.setenv("FAAS_API_KEY", API_KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name in ("FAAS_GITOPS_VERIFY_SIGNATURES", "FAAS_GITOPS_TRUSTED_KEYS"):
        monkeypatch.delenv(name, raising=False)
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_REPO, repo.root, dirs_exist_ok=True, ignore=PACKAGES_ONLY)
    trusted = trust(tmp_path / "trusted", keys.alice, keys.bob)
    # One list mode is enough: these tests are about the gate in front of the API.
    mode: dict[str, Any] = dict(MODES["created-include-404-200"])
    config = EmulatorConfig(api_key=API_KEY, **mode)
    with serve_in_thread(config) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        yield World(emulator, repo, trusted, tmp_path / "state", capsys)


def refusal(sha: str, reason: str, mode: str = "head") -> str:
    return f"commit {sha[:12]} (--verify-signatures {mode}): {reason}"


# --- heads that verify ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob"], ids=["ssh", "gpg"])
def test_a_head_signed_by_a_trusted_key_syncs_and_history_names_the_key(
    signed_world: World, keys: Keys, who: str
) -> None:
    signer: Signer = getattr(keys, who)
    sha = commit(signed_world.repo, "Import the sample packages", signer)

    run = signed_world.verified()

    assert run.code == 0, run.stderr
    assert signed_world.created() == len(PACKAGES)
    entries = signed_world.history()
    assert {entry["commit"] for entry in entries} == {sha}
    assert {entry["verifiedBy"] for entry in entries} == {signer.fingerprint}
    text = signed_world.history_text()
    assert "VERIFIED BY" in text
    assert signer.fingerprint in text


def test_history_shows_no_signer_for_a_sync_that_verified_nothing(signed_world: World) -> None:
    signed_world.repo.commit("Import the sample packages")

    assert signed_world.cli().code == 0

    assert {entry["verifiedBy"] for entry in signed_world.history()} == {None}
    assert "VERIFIED BY" not in signed_world.history_text()


# --- heads that are refused -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        (None, "no signature"),
        ("mallory", "signed by an untrusted key SHA256:"),
        ("eve", "signed by an untrusted key"),
    ],
    ids=["unsigned", "untrusted-ssh", "untrusted-gpg"],
)
def test_a_head_no_trusted_key_signed_is_refused_before_any_request(
    signed_world: World, keys: Keys, who: str | None, reason: str
) -> None:
    sha = commit(
        signed_world.repo, "Import the sample packages", getattr(keys, who) if who else None
    )

    run = signed_world.verified()

    assert run.code == 2
    assert refusal(sha, reason) in run.stderr
    assert (
        signed_world.emulator.requests == []
    )  # no write, no revision list read, not even the probe
    assert not (signed_world.state / "ledger.sqlite3").exists() or signed_world.history() == []


def test_a_tampered_commit_is_refused_as_a_bad_signature(signed_world: World, keys: Keys) -> None:
    signed = commit(signed_world.repo, "Import the sample packages", keys.alice)
    forged = tamper(signed_world.repo, signed, "Import the sample packages, and something else")

    run = signed_world.verified("--ref", forged)

    assert run.code == 2
    assert refusal(forged, "bad signature") in run.stderr
    assert signed_world.emulator.requests == []


def test_the_dry_run_of_an_unsigned_commit_still_plans_and_notes_the_refusal(
    signed_world: World,
) -> None:
    sha = commit(signed_world.repo, "Merge pull request 7")  # a host's merge commit: unsigned

    text = signed_world.verified("--dry-run")
    as_json = signed_world.verified("--dry-run", "--output", "json")
    markdown = signed_world.verified("--dry-run", "--output", "markdown")

    line = refusal(sha, "no signature")
    assert text.code == 0, text.stderr
    assert f"note: {line}" in text.stdout
    planned = [line for line in text.stdout.splitlines() if line.startswith("would-create ")]
    assert len(planned) == len(PACKAGES)  # it planned
    assert any(line in note for note in json.loads(as_json.stdout)["notes"])
    assert "(--verify-signatures head)" in markdown.stdout
    assert signed_world.writes() == []


# --- tags -------------------------------------------------------------------------------------


def test_tag_mode_refuses_a_lightweight_tag(signed_world: World, keys: Keys) -> None:
    commit(signed_world.repo, "Import the sample packages", keys.alice)
    signed_world.repo.tag("v1.0.0")

    run = signed_world.verified("--ref", "v1.0.0", mode="tag")

    assert run.code == 2
    assert "tag v1.0.0 (--verify-signatures tag): is a lightweight tag" in run.stderr
    assert signed_world.emulator.requests == []


def test_tag_and_head_mode_syncs_a_signed_tag_on_a_signed_commit(
    signed_world: World, keys: Keys
) -> None:
    commit(signed_world.repo, "Import the sample packages", keys.bob)
    tag(signed_world.repo, "v1.0.0", keys.alice)

    run = signed_world.verified("--ref", "v1.0.0", mode="tag-and-head")

    assert run.code == 0, run.stderr
    assert signed_world.created() == len(PACKAGES)
    assert {entry["verifiedBy"] for entry in signed_world.history()} == {keys.bob.fingerprint}


# --- where the repository comes from ----------------------------------------------------------


def _bare_clone(signed_world: World, tmp_path: Path) -> str:
    bare = GitRepo(tmp_path / "remote.git", bare=True)
    signed_world.repo.git("push", "--quiet", "--tags", str(bare.root), "main")
    return bare.root.as_uri()


def test_a_remote_repository_verifies_the_same_through_its_mirror(
    signed_world: World, keys: Keys, tmp_path: Path
) -> None:
    unsigned = commit(signed_world.repo, "Import the sample packages")
    url = _bare_clone(signed_world, tmp_path)

    refused = signed_world.verified(repo=url)
    assert refused.code == 2
    assert refusal(unsigned, "no signature") in refused.stderr
    assert signed_world.emulator.requests == []

    signed = commit(signed_world.repo, "Sign the release", keys.alice)
    tag(signed_world.repo, "v1.0.0", keys.bob)
    _bare_clone(signed_world, tmp_path)  # pushes the new commit and the tag

    synced = signed_world.verified("--ref", "v1.0.0", mode="tag-and-head", repo=url)

    assert synced.code == 0, synced.stderr
    assert signed_world.created() == len(PACKAGES)
    assert {entry["commit"] for entry in signed_world.history()} == {signed}


def test_a_git_sync_link_verifies_the_commit_it_points_at(
    signed_world: World, keys: Keys, tmp_path: Path
) -> None:
    commit(signed_world.repo, "Import the sample packages", keys.mallory)
    link = tmp_path / "current"
    link.symlink_to(signed_world.repo.root)

    refused = signed_world.verified(repo=str(link))
    assert refused.code == 2
    assert "signed by an untrusted key" in refused.stderr

    commit(signed_world.repo, "Sign it properly", keys.alice)
    assert signed_world.verified(repo=str(link)).code == 0
    assert signed_world.created() == len(PACKAGES)


# --- the keys themselves ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys_dir", "message"),
    [
        (None, "--verify-signatures head needs --trusted-keys DIR"),
        ("empty", "holds no trusted key"),
        ("missing", "no such directory"),
        ("not-a-key", "not an SSH public key"),
    ],
)
def test_unusable_keys_stop_the_run_at_start_before_any_request(
    signed_world: World, keys: Keys, tmp_path: Path, keys_dir: str | None, message: str
) -> None:
    commit(signed_world.repo, "Import the sample packages", keys.alice)
    args = ["--verify-signatures", "head"]
    if keys_dir is not None:
        directory = tmp_path / keys_dir
        if keys_dir != "missing":
            directory.mkdir()
        if keys_dir == "not-a-key":
            (directory / "alice.sshpub").write_text("ssh-ed25519 not-base64!\n")
        args += ["--trusted-keys", str(directory)]

    run = signed_world.cli(*args)

    assert run.code == 2
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert signed_world.emulator.requests == []


def test_the_environment_twins_set_the_policy(
    signed_world: World, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = commit(signed_world.repo, "Import the sample packages")
    monkeypatch.setenv("FAAS_GITOPS_VERIFY_SIGNATURES", "head")
    monkeypatch.setenv("FAAS_GITOPS_TRUSTED_KEYS", str(signed_world.trusted))

    run = signed_world.cli()

    assert run.code == 2
    assert refusal(sha, "no signature") in run.stderr
