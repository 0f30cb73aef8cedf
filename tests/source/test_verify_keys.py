"""``--trusted-keys DIR``: what is read, what is refused, and how the refusal reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faas_gitops.errors import ConfigError
from faas_gitops.source.verify import SignatureVerifier, VerifyMode
from faas_gitops.source.verify_keys import TrustedKeys, parse_ssh_public_key
from tests.source.git_signing import Keys, trust


def one_line(error: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(error.value)
    assert "\n" not in text
    assert text.startswith("--trusted-keys ") or text.startswith("--verify-signatures")
    return text


def test_both_kinds_of_key_are_loaded_with_their_fingerprints(
    keys: Keys, trusted_dir: Path
) -> None:
    trust(trusted_dir, keys.alice, keys.bob)

    loaded = TrustedKeys.load(trusted_dir)

    assert [k.fingerprint for k in loaded.ssh] == [keys.alice.fingerprint]
    assert [k.fingerprint for k in loaded.openpgp] == [keys.bob.fingerprint]
    assert loaded.openpgp[0].user_id == "Bob <bob@example.com>"
    assert loaded.fingerprints == {keys.alice.fingerprint, keys.bob.fingerprint}
    assert loaded.trusts(keys.bob.fingerprint.lower())
    assert not loaded.trusts(keys.mallory.fingerprint)


def test_comments_blank_lines_options_and_other_files_are_allowed(
    keys: Keys, trusted_dir: Path
) -> None:
    trusted_dir.mkdir()
    alice = keys.alice.public.decode().strip()
    mallory = keys.mallory.public.decode().strip()
    (trusted_dir / "team.sshpub").write_text(
        f'# the release team\n\n{alice}\n   \nno-pty,from="10.0.0.0/8" {mallory}\n'
    )
    (trusted_dir / "README.md").write_text("not a key, and not read\n")
    (trusted_dir / "..data").mkdir()  # what a Kubernetes ConfigMap mount leaves

    loaded = TrustedKeys.load(trusted_dir)

    assert [(k.line, k.fingerprint) for k in loaded.ssh] == [
        (3, keys.alice.fingerprint),
        (5, keys.mallory.fingerprint),
    ]
    assert loaded.openpgp == ()


def test_a_missing_directory_is_one_line_naming_the_flag_and_the_cure(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(tmp_path / "nope")

    assert one_line(error) == (
        f"--trusted-keys {tmp_path / 'nope'}: no such directory; create it and put the trusted "
        "public keys in it (*.asc for OpenPGP, *.sshpub for SSH)"
    )


def test_a_file_given_as_the_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key.sshpub").write_text("x\n")

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(tmp_path / "key.sshpub")

    assert "not a directory" in one_line(error)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any directory")
def test_an_unreadable_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o000)
    try:
        with pytest.raises(ConfigError) as error:
            TrustedKeys.load(locked)
    finally:
        locked.chmod(0o700)

    assert "cannot be read" in one_line(error)


def test_a_directory_without_any_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("keys go here\n")
    (tmp_path / "empty.sshpub").write_text("# nobody yet\n\n")

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(tmp_path)

    assert one_line(error) == (
        f"--trusted-keys {tmp_path}: holds no trusted key (no *.asc or *.sshpub key in it); add "
        "the public keys whose signatures you trust"
    )


def test_an_asc_file_gpg_cannot_import_is_refused_by_name(keys: Keys, trusted_dir: Path) -> None:
    trust(trusted_dir, keys.alice)
    (trusted_dir / "broken.asc").write_text(
        "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n"
        "-----END PGP PUBLIC KEY BLOCK-----\n"
    )

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(trusted_dir)

    assert one_line(error) == (
        f"--trusted-keys {trusted_dir}: broken.asc: not an OpenPGP public key gpg can import; "
        "export the public key with: gpg --armor --export KEYID > broken.asc"
    )


def test_a_private_key_is_refused_so_it_is_noticed(keys: Keys, trusted_dir: Path) -> None:
    trusted_dir.mkdir()
    (trusted_dir / "oops.sshpub").write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n"
    )

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(trusted_dir)

    assert "oops.sshpub: holds a private key, never put one here" in one_line(error)


def test_an_sshpub_line_that_is_not_a_public_key_names_file_and_line(
    keys: Keys, trusted_dir: Path
) -> None:
    trust(trusted_dir, keys.alice)
    (trusted_dir / "team.sshpub").write_text(
        f"{keys.mallory.public.decode().strip()}\nssh-ed25519 AAAAnotakey carol\n"
    )

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(trusted_dir)

    assert one_line(error) == (
        f"--trusted-keys {trusted_dir}: team.sshpub line 2: not an SSH public key; put one per "
        "line as in authorized_keys (ssh-ed25519 AAAA... comment), or remove the line"
    )


def test_a_blob_of_another_type_or_cut_short_is_not_a_public_key(keys: Keys) -> None:
    key_type, blob, _comment = keys.alice.public.decode().split()

    assert parse_ssh_public_key(f"{key_type} {blob}") is not None
    assert parse_ssh_public_key(f"ssh-rsa {blob}") is None
    assert parse_ssh_public_key(f"{key_type} {blob[:-8]}") is None
    assert parse_ssh_public_key(f"{key_type}") is None


def test_a_missing_gpg_is_one_line_naming_what_to_install(
    keys: Keys, trusted_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust(trusted_dir, keys.bob)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(ConfigError) as error:
        TrustedKeys.load(trusted_dir)

    assert one_line(error) == (
        "--verify-signatures: checking OpenPGP signatures (*.asc keys) needs gpg, which is not "
        "installed; install gnupg (e.g. apt-get install gnupg)"
    )


def test_a_missing_ssh_keygen_is_refused_when_ssh_keys_are_trusted(
    keys: Keys, trusted_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = TrustedKeys.load(trust(trusted_dir, keys.alice))
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(ConfigError) as error:
        SignatureVerifier(loaded, VerifyMode.HEAD)

    assert "needs ssh-keygen, which is not installed; install openssh-client" in one_line(error)


def test_verification_asked_for_without_keys_fails_at_start() -> None:
    with pytest.raises(ConfigError) as error:
        SignatureVerifier.configure(VerifyMode.HEAD, None)

    assert one_line(error) == (
        "--verify-signatures head needs --trusted-keys DIR, the directory of trusted public keys "
        "(*.asc, *.sshpub); set it, or use --verify-signatures off"
    )
    assert SignatureVerifier.configure(VerifyMode.OFF, None) is None
