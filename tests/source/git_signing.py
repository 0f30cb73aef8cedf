"""Real signing keys and signed git objects for the signature tests.

Keys are made the way a person makes them (``ssh-keygen -t ed25519``, ``gpg --quick-gen-key``),
each OpenPGP key in its own temporary ``GNUPGHOME`` (a short path under the system temp dir:
gpg-agent's socket path must stay short), and commits and tags are signed by git itself, so the
verifier meets exactly what ``git commit -S`` and ``git tag -s`` produce.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.gitrepo import GitRepo

MISSING_TOOLS = [name for name in ("gpg", "ssh-keygen") if shutil.which(name) is None]
SKIP_REASON = f"{' and '.join(MISSING_TOOLS)} not installed (apt-get install gnupg openssh-client)"


@dataclass(frozen=True)
class Signer:
    """A key that signs: how git is told to use it and how a runner would trust it."""

    name: str
    fmt: str  # "ssh" or "openpgp"
    fingerprint: str
    public: bytes  # the *.sshpub line or the armored *.asc export
    config: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def trusted_file(self) -> str:
        return f"{self.name}.sshpub" if self.fmt == "ssh" else f"{self.name}.asc"


@dataclass(frozen=True)
class Keys:
    """Alice (SSH) and Bob (OpenPGP) are trusted in the tests; Mallory (SSH) and Eve
    (OpenPGP) sign too, with keys the runner does not trust."""

    alice: Signer
    bob: Signer
    mallory: Signer
    eve: Signer


def _run(*argv: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, check=False, env=env)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode()


def ssh_signer(directory: Path, name: str) -> Signer:
    """An ed25519 key without passphrase, made by ssh-keygen."""
    private = directory / name
    _run(
        "ssh-keygen",
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        f"{name}@example.com",
        "-f",
        str(private),
    )
    fingerprint = _run("ssh-keygen", "-l", "-f", f"{private}.pub").split()[1]
    return Signer(
        name=name,
        fmt="ssh",
        fingerprint=fingerprint,
        public=Path(f"{private}.pub").read_bytes(),
        config=("-c", "gpg.format=ssh", "-c", f"user.signingkey={private}"),
    )


def gpg_signer(name: str) -> Signer:
    """An ed25519 OpenPGP key in its own temporary home (remove it with ``forget``)."""
    home = Path(tempfile.mkdtemp(prefix="gpg-"))
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    uid = f"{name.title()} <{name}@example.com>"
    _run(
        "gpg", "--batch", "--passphrase", "", "--pinentry-mode", "loopback",
        "--quick-gen-key", uid, "ed25519", "sign", "never", env=env,
    )  # fmt: skip
    listed = _run("gpg", "--batch", "--with-colons", "--list-keys", uid, env=env)
    fingerprint = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr"))
    armored = _run("gpg", "--batch", "--armor", "--export", fingerprint, env=env).encode()
    return Signer(
        name=name,
        fmt="openpgp",
        fingerprint=fingerprint,
        public=armored,
        config=(
            "-c",
            "gpg.format=openpgp",
            "-c",
            "gpg.program=gpg",
            "-c",
            f"user.signingkey={fingerprint}",
        ),
        env={"GNUPGHOME": str(home)},
    )


def forget(signer: Signer) -> None:
    """Stop the gpg-agent signing started for ``signer`` and remove its home."""
    home = signer.env.get("GNUPGHOME")
    if home:
        subprocess.run(
            ["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True, check=False
        )
        shutil.rmtree(home, ignore_errors=True)


def trust(directory: Path, *signers: Signer) -> Path:
    """A ``--trusted-keys`` directory holding the public keys of ``signers``."""
    directory.mkdir(parents=True, exist_ok=True)
    for signer in signers:
        (directory / signer.trusted_file).write_bytes(signer.public)
    return directory


def commit(repo: GitRepo, message: str, signer: Signer | None = None) -> str:
    """Commit one new file, signed by ``signer`` (unsigned when None); return the sha."""
    repo.write(f"{message.replace(' ', '-')}.txt", f"{message}\n")
    repo.git("add", "--all")
    sign = (*signer.config, "commit", "-S") if signer else ("commit",)
    with _signing_env(repo, signer):
        repo.git(*sign, "--quiet", "--no-verify", "-m", message)
    return repo.head()


def tag(repo: GitRepo, name: str, signer: Signer, ref: str = "HEAD") -> None:
    """A signed annotated tag ``name`` on ``ref``."""
    with _signing_env(repo, signer):
        repo.git(*signer.config, "tag", "-s", "-m", f"release {name}", name, ref)


@contextmanager
def _signing_env(repo: GitRepo, signer: Signer | None) -> Iterator[None]:
    """Give ``repo``'s git the signer's ``GNUPGHOME`` for one call."""
    extra = signer.env if signer else {}
    repo.env.update(extra)
    try:
        yield
    finally:
        for key in extra:
            repo.env.pop(key, None)


def tamper(repo: GitRepo, sha: str, new_message: str) -> str:
    """The same commit with its signature header kept but another message: a forged object."""
    raw = repo.git("cat-file", "commit", sha)
    head, _, _message = raw.partition("\n\n")
    forged = f"{head}\n\n{new_message}\n".encode()
    return repo.git("hash-object", "-t", "commit", "-w", "--stdin", stdin=forged).strip()
