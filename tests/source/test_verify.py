"""Only commits and tags signed by the runner's keys verify, judged by git itself.

Every key here is real (ssh-keygen, gpg) and every signature is made by ``git commit -S`` or
``git tag -s``; Alice (SSH) and Bob (OpenPGP) are trusted, Mallory (SSH) and Eve (OpenPGP) are
not.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from pathlib import Path

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.source.verify import (
    Failure,
    SignatureVerifier,
    Verification,
    VerifyMode,
    tag_of,
)
from faas_gitops.source.verify_keys import TrustedKeys
from tests.gitrepo import GitRepo
from tests.source.git_signing import Keys, Signer, commit, tag, tamper, trust


def verifier(directory: Path, mode: VerifyMode = VerifyMode.HEAD) -> SignatureVerifier:
    return SignatureVerifier(TrustedKeys.load(directory), mode)


@pytest.fixture
def trusted(keys: Keys, trusted_dir: Path) -> Path:
    return trust(trusted_dir, keys.alice, keys.bob)


@pytest.mark.slow
@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_head_signed_by_a_trusted_key_verifies_and_names_the_key(
    who: str, keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    signer: Signer = getattr(keys, who)
    sha = commit(git_repo, "release", signer)

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.ok
    assert result.fingerprint == signer.fingerprint
    assert [(s.subject, s.fmt) for s in result.signers] == [("commit", signer.fmt)]
    assert result.line() == (
        f"commit {sha[:12]} (--verify-signatures head): commit signed by {signer.fmt} key "
        f"{signer.fingerprint}"
    )


def test_an_unsigned_commit_fails_with_no_signature(trusted: Path, git_repo: GitRepo) -> None:
    sha = commit(git_repo, "unsigned")

    result = verifier(trusted).verify(git_repo.root, sha)

    assert not result.ok
    assert result.failure is Failure.NO_SIGNATURE
    assert result.fingerprint is None
    assert result.line() == (
        f"commit {sha[:12]} (--verify-signatures head): no signature; sign it (git commit -S, "
        "or git commit --amend -S) with a trusted key"
    )


@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_a_commit_signed_by_an_untrusted_key_fails_naming_that_key(
    who: str, keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    signer: Signer = getattr(keys, who)
    sha = commit(git_repo, "sneaky", signer)

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY
    assert result.reason == f"signed by an untrusted key {signer.fingerprint}"
    assert result.line() == (
        f"commit {sha[:12]} (--verify-signatures head): signed by an untrusted key "
        f"{signer.fingerprint}; add its public key to --trusted-keys or sign with a trusted key"
    )


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_a_commit_changed_after_it_was_signed_fails_with_bad_signature(
    who: str, keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    sha = commit(git_repo, "honest", getattr(keys, who))
    forged = tamper(git_repo, sha, "honest, but also something else")
    assert "gpgsig " in git_repo.git("cat-file", "commit", forged)

    result = verifier(trusted).verify(git_repo.root, forged)

    assert result.failure is Failure.BAD_SIGNATURE
    assert result.line().startswith(
        f"commit {forged[:12]} (--verify-signatures head): bad signature; "
    )


def test_only_trusted_formats_are_needed_an_ssh_only_runner_refuses_gpg_signatures(
    keys: Keys, trusted_dir: Path, git_repo: GitRepo
) -> None:
    sha = commit(git_repo, "gpg signed", keys.bob)

    result = verifier(trust(trusted_dir, keys.alice)).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY
    assert result.reason == f"signed by an untrusted key {keys.bob.fingerprint}"


def test_the_runners_own_gpg_keyring_is_never_consulted(
    keys: Keys, trusted: Path, git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = commit(git_repo, "by eve", keys.eve)
    monkeypatch.setenv("GNUPGHOME", keys.eve.env["GNUPGHOME"])  # a keyring that knows Eve

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY


def test_the_repositorys_own_config_cannot_trust_the_attackers_ssh_key(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path
) -> None:
    sha = commit(git_repo, "by mallory", keys.mallory)
    allowed = tmp_path / "attacker-allowed-signers"
    allowed.write_text(f"* {keys.mallory.public.decode()}")
    git_repo.git("config", "gpg.ssh.allowedSignersFile", str(allowed))
    assert git_repo.git("verify-commit", sha) == ""  # git alone would now accept it

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY
    assert result.reason == f"signed by an untrusted key {keys.mallory.fingerprint}"


@pytest.mark.parametrize("who", ["mallory", "eve"])
def test_the_repositorys_own_config_cannot_swap_the_verifying_program(
    who: str, keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path
) -> None:
    sha = commit(git_repo, "by an attacker", getattr(keys, who))
    liar = tmp_path / "always-good"
    liar.write_text(
        "#!/bin/sh\n"
        f"echo 'Good \"git\" signature for * with ED25519 key {keys.alice.fingerprint}'\n"
        f"echo '[GNUPG:] GOODSIG 0000000000000000 Bob'\n"
        f"echo '[GNUPG:] VALIDSIG {keys.bob.fingerprint} 2024-01-01 0 0 4 0 22 8 00 "
        f"{keys.bob.fingerprint}'\n"
        "echo '[GNUPG:] TRUST_ULTIMATE 0 pgp'\n"
        "exit 0\n"
    )
    liar.chmod(0o755)
    for name in ("gpg.program", "gpg.openpgp.program", "gpg.ssh.program"):
        git_repo.git("config", name, str(liar))

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY


def test_the_repositorys_own_config_cannot_make_a_trusted_signature_fail(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path
) -> None:
    sha = commit(git_repo, "release", keys.alice)
    nobody = tmp_path / "trusts-nobody"
    nobody.write_text("")
    git_repo.git("config", "gpg.ssh.allowedSignersFile", str(nobody))

    assert verifier(trusted).verify(git_repo.root, sha).ok


def test_git_variables_of_the_runners_environment_do_not_redirect_verification(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = commit(git_repo, "by mallory", keys.mallory)
    other = GitRepo(tmp_path / "other")
    commit(other, "elsewhere")
    allowed = tmp_path / "attacker-allowed-signers"
    allowed.write_text(f"* {keys.mallory.public.decode()}")
    monkeypatch.setenv("GIT_DIR", str(other.root / ".git"))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "gpg.ssh.allowedSignersFile")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(allowed))

    result = verifier(trusted).verify(git_repo.root, sha)

    assert result.failure is Failure.UNTRUSTED_KEY
    assert result.reason == f"signed by an untrusted key {keys.mallory.fingerprint}"


def test_tag_mode_refuses_a_lightweight_tag(trusted: Path, keys: Keys, git_repo: GitRepo) -> None:
    sha = commit(git_repo, "release", keys.alice)
    git_repo.tag("v1.0.0")

    result = verifier(trusted, VerifyMode.TAG).verify(git_repo.root, sha, "v1.0.0")

    assert result.failure is Failure.LIGHTWEIGHT_TAG
    assert result.line() == (
        f"tag v1.0.0 (--verify-signatures tag): is a lightweight tag; sign it: "
        f"git tag -s -f v1.0.0 {sha[:12]}"
    )


def test_tag_mode_refuses_an_unsigned_annotated_tag(trusted: Path, git_repo: GitRepo) -> None:
    sha = commit(git_repo, "release")
    git_repo.tag("v1.0.0", message="not signed")

    result = verifier(trusted, VerifyMode.TAG).verify(git_repo.root, sha, "v1.0.0")

    assert result.failure is Failure.NO_SIGNATURE
    assert result.line().startswith("tag v1.0.0 (--verify-signatures tag): no signature; ")


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_tag_mode_accepts_a_signed_annotated_tag_on_an_unsigned_commit(
    who: str, keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    signer: Signer = getattr(keys, who)
    sha = commit(git_repo, "release")
    tag(git_repo, "v2.0.0", signer)

    result = verifier(trusted, VerifyMode.TAG).verify(git_repo.root, sha, "refs/tags/v2.0.0")

    assert result.ok
    assert [(s.subject, s.fingerprint) for s in result.signers] == [("tag", signer.fingerprint)]
    assert result.line().startswith(f"tag v2.0.0 of commit {sha[:12]} (--verify-signatures tag)")


def test_tag_mode_refuses_a_tag_signed_by_an_untrusted_key(
    keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    sha = commit(git_repo, "release")
    tag(git_repo, "v2.0.0", keys.eve)

    result = verifier(trusted, VerifyMode.TAG).verify(git_repo.root, sha, "v2.0.0")

    assert result.failure is Failure.UNTRUSTED_KEY
    assert result.subject == "tag v2.0.0"
    assert result.reason == f"signed by an untrusted key {keys.eve.fingerprint}"


@pytest.mark.slow
def test_tag_mode_needs_the_synced_ref_to_be_a_tag_on_the_synced_commit(
    keys: Keys, trusted: Path, git_repo: GitRepo
) -> None:
    first = commit(git_repo, "first")
    tag(git_repo, "v1.0.0", keys.alice)
    second = commit(git_repo, "second")
    check = verifier(trusted, VerifyMode.TAG)

    no_tag = check.verify(git_repo.root, second, None)
    elsewhere = check.verify(git_repo.root, second, "v1.0.0")
    missing = check.verify(git_repo.root, second, "v9.9.9")

    assert (no_tag.failure, no_tag.subject) == (Failure.NO_TAG, f"commit {second[:12]}")
    assert elsewhere.failure is Failure.TAG_MOVED
    assert elsewhere.reason == f"points at {first[:12]}, not the synced commit {second[:12]}"
    assert missing.failure is Failure.NO_TAG
    assert check.verify(git_repo.root, first, "v1.0.0").ok


@pytest.mark.slow
def test_tag_and_head_needs_both_signatures(keys: Keys, trusted: Path, git_repo: GitRepo) -> None:
    check = verifier(trusted, VerifyMode.TAG_AND_HEAD)
    unsigned = commit(git_repo, "unsigned")
    tag(git_repo, "v1.0.0", keys.bob)
    signed = commit(git_repo, "signed", keys.alice)
    git_repo.tag("v2.0.0")
    tag(git_repo, "v3.0.0", keys.bob)

    head_missing = check.verify(git_repo.root, unsigned, "v1.0.0")
    tag_missing = check.verify(git_repo.root, signed, "v2.0.0")
    both = check.verify(git_repo.root, signed, "v3.0.0")

    assert (head_missing.failure, head_missing.subject) == (
        Failure.NO_SIGNATURE,
        f"commit {unsigned[:12]}",
    )
    assert (tag_missing.failure, tag_missing.subject) == (Failure.LIGHTWEIGHT_TAG, "tag v2.0.0")
    assert both.ok
    assert [(s.subject, s.fingerprint) for s in both.signers] == [
        ("commit", keys.alice.fingerprint),
        ("tag", keys.bob.fingerprint),
    ]


@pytest.mark.slow
def test_a_bare_mirror_verifies_like_the_working_tree(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path
) -> None:
    sha = commit(git_repo, "release", keys.alice)
    tag(git_repo, "v1.0.0", keys.bob)
    mirror = tmp_path / "mirror.git"
    git_repo.git("clone", "--quiet", "--mirror", str(git_repo.root), str(mirror))

    result = verifier(trusted, VerifyMode.TAG_AND_HEAD).verify(mirror, sha, "v1.0.0")

    assert result.ok


def test_off_checks_nothing(trusted: Path, git_repo: GitRepo) -> None:
    sha = commit(git_repo, "unsigned")

    result = verifier(trusted, VerifyMode.OFF).verify(git_repo.root, sha)

    assert result == Verification(VerifyMode.OFF, sha)
    assert result.ok
    assert result.line() == f"commit {sha[:12]} (--verify-signatures off): not verified"


def test_a_verification_is_a_frozen_value(trusted: Path, git_repo: GitRepo) -> None:
    result = verifier(trusted).verify(git_repo.root, commit(git_repo, "unsigned"))

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.failure = None  # type: ignore[misc]


def test_the_synced_tag_is_found_from_the_ref(git_repo: GitRepo) -> None:
    commit(git_repo, "release")
    git_repo.tag("v1.0.0", message="annotated")
    git_repo.git("branch", "feature")

    assert tag_of(git_repo.root, "v1.0.0") == "v1.0.0"
    assert tag_of(git_repo.root, "refs/tags/v1.0.0") == "v1.0.0"
    assert tag_of(git_repo.root, "feature") is None
    assert tag_of(git_repo.root, "HEAD") is None
    assert tag_of(git_repo.root, None) is None
    assert tag_of(git_repo.root, "--output=x") is None


def test_no_gpg_agent_or_temporary_keyring_is_left_behind(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    sha = commit(git_repo, "release", keys.bob)
    monkeypatch.setattr(tempfile, "tempdir", None)  # it caches TMPDIR; read it again

    assert verifier(trusted).verify(git_repo.root, sha).ok

    assert list((tmp_path / "tmp").iterdir()) == []
    agents = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False)
    assert str(tmp_path) not in agents.stdout


def test_an_unwritable_temporary_directory_is_one_config_line(
    keys: Keys, trusted: Path, git_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = commit(git_repo, "release", keys.alice)
    check = verifier(trusted)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))

    with pytest.raises(ConfigError) as error:
        check.verify(git_repo.root, sha)

    assert str(error.value) == (
        f"--verify-signatures: cannot write a temporary keyring in {tmp_path / 'gone'} "
        "(No such file or directory); make it (or TMPDIR) writable"
    )
