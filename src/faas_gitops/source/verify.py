"""Deploy only what the runner's keys signed: ``--verify-signatures`` and ``--trusted-keys``.

In a GitOps setup git is the trust root: whoever can push can put code on every keyset. With
verification on, the synced commit (``head``), the synced annotated tag (``tag``) or both
(``tag-and-head``) must carry a good signature by a key in ``--trusted-keys DIR`` (see
``verify_keys``). git's own ``verify-commit``/``verify-tag`` decide (see ``verify_git``); the
policy and the keys come only from the runner, never from the repository.

``SignatureVerifier.verify`` is blocking (it runs git, gpg, ssh-keygen): the sync calls it in
its git thread, before the first write and before any revision is read from the API. The answer
is a frozen ``Verification`` whose ``line()`` is what the CLI prints and whose signers are what
history records.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from faas_gitops.errors import ConfigError, SourceError
from faas_gitops.settings import VerifySettings
from faas_gitops.source.verify_git import (
    Sandbox,
    clean_env,
    read_result,
    run_git,
    signature_format,
)
from faas_gitops.source.verify_keys import FLAG, TrustedKeys, find_program, shown

MODE_FLAG = "--verify-signatures"
_FORMATS = {"x509": "an X.509 certificate", "openpgp": "an OpenPGP key", "ssh": "an SSH key"}
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


class VerifyMode(StrEnum):
    """What must be signed: nothing, the synced commit, the synced tag, or both."""

    OFF = "off"
    HEAD = "head"
    TAG = "tag"
    TAG_AND_HEAD = "tag-and-head"

    @property
    def checks_head(self) -> bool:
        return self in (VerifyMode.HEAD, VerifyMode.TAG_AND_HEAD)

    @property
    def checks_tag(self) -> bool:
        return self in (VerifyMode.TAG, VerifyMode.TAG_AND_HEAD)


class Failure(StrEnum):
    """Why a verification failed, for metrics and notifications (``reason`` has the words)."""

    NO_SIGNATURE = "no-signature"
    UNTRUSTED_KEY = "untrusted-key"
    BAD_SIGNATURE = "bad-signature"
    INVALID_KEY = "invalid-key"
    LIGHTWEIGHT_TAG = "lightweight-tag"
    NO_TAG = "no-tag"
    TAG_MOVED = "tag-moved"


@dataclass(frozen=True, slots=True)
class Signer:
    """One good signature: on what (``commit`` or ``tag``), its format and its key."""

    subject: str
    fmt: str
    fingerprint: str

    def __str__(self) -> str:
        return f"{self.subject} signed by {self.fmt} key {self.fingerprint}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of one verification: ok when ``failure`` is None.

    ``signers`` are the good signatures found, in the order checked (the commit's first);
    when not ok, ``subject`` names what failed (``commit 1a2b3c4d5e6f``, ``tag v1.2``),
    ``reason`` says why in words and ``advice`` what to do.
    """

    mode: VerifyMode
    commit: str
    tag: str | None = None
    signers: tuple[Signer, ...] = ()
    failure: Failure | None = None
    subject: str | None = None
    reason: str | None = None
    advice: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def fingerprint(self) -> str | None:
        """The first signer's key fingerprint (the commit's, else the tag's), for history."""
        return self.signers[0].fingerprint if self.signers else None

    def line(self) -> str:
        """The one line for people: what was checked, under which mode, and the verdict."""
        policy = f"({MODE_FLAG} {self.mode})"
        if self.failure is not None:
            tail = f"; {self.advice}" if self.advice else ""
            return f"{self.subject} {policy}: {self.reason}{tail}"
        what = f"tag {shown(self.tag)} of commit" if self.tag and self.mode.checks_tag else "commit"
        if not self.signers:
            return f"{what} {self.commit[:12]} {policy}: not verified"
        return f"{what} {self.commit[:12]} {policy}: " + ", ".join(str(s) for s in self.signers)


class SignatureVerifier:
    """Checks commits and tags against the runner's trusted keys under one mode.

    Construct it at start (it resolves git, gpg and ssh-keygen, so a missing program is a
    ``ConfigError`` before any request); ``verify`` may then be called for every sync.
    """

    def __init__(self, keys: TrustedKeys, mode: VerifyMode) -> None:
        self.keys = keys
        self.mode = mode
        self._git = shutil.which("git") or "git"
        # A program is required for the formats the runner trusts; without keys of a format
        # its signatures are untrusted anyway, so a missing program there is no error.
        self._gpg = find_program("gpg") if keys.openpgp else shutil.which("gpg")
        self._ssh = find_program("ssh-keygen") if keys.ssh else shutil.which("ssh-keygen")

    @classmethod
    def configure(cls, mode: VerifyMode, trusted_keys: Path | None) -> SignatureVerifier | None:
        """The verifier the flags ask for; None when ``mode`` is off. Call it at start."""
        if mode is VerifyMode.OFF:
            return None
        if trusted_keys is None:
            raise ConfigError(
                f"{MODE_FLAG} {mode} needs {FLAG} DIR, the directory of trusted public keys "
                f"(*.asc, *.sshpub); set it, or use {MODE_FLAG} off"
            )
        return cls(TrustedKeys.load(trusted_keys), mode)

    def verify(self, repo_dir: Path, commit_sha: str, tag: str | None = None) -> Verification:
        """Check ``commit_sha`` (and ``tag``, the synced tag's name) in the repository at
        ``repo_dir`` (a working tree or a bare mirror). Blocking; never raises for a bad
        signature (that is a ``Verification`` that is not ok), only ``SourceError`` when git
        cannot read the repository and ``ConfigError`` when the keys cannot be set up."""
        if not _SHA.match(commit_sha):
            raise SourceError(f"{commit_sha!r} is not a full commit id; cannot verify it")
        base = Verification(self.mode, commit_sha, tag.removeprefix("refs/tags/") if tag else None)
        if self.mode is VerifyMode.OFF:
            return base
        with Sandbox(self.keys, git=self._git, gpg=self._gpg, ssh=self._ssh) as sandbox:
            signers: list[Signer] = []
            if self.mode.checks_head:
                head = self._commit(sandbox, repo_dir, base)
                if isinstance(head, Verification):
                    return head
                signers.append(head)
            if self.mode.checks_tag:
                signed = self._tag(sandbox, repo_dir, base)
                if isinstance(signed, Verification):
                    return signed
                signers.append(signed)
        return dataclasses.replace(base, signers=tuple(signers))

    # -- the commit ------------------------------------------------------------------------

    def _commit(
        self, sandbox: Sandbox, repo_dir: Path, base: Verification
    ) -> Signer | Verification:
        subject = f"commit {base.commit[:12]}"
        raw = _cat(sandbox, repo_dir, "commit", base.commit)
        header = "gpgsig-sha256 " if len(base.commit) == 64 else "gpgsig "
        fix = "sign it (git commit -S, or git commit --amend -S) with a trusted key"
        signature = _signature_header(raw, header)
        what = (subject, "commit", base.commit)
        return self._signed(sandbox, repo_dir, base, what, signature=signature, fix=fix)

    # -- the tag ---------------------------------------------------------------------------

    def _tag(self, sandbox: Sandbox, repo_dir: Path, base: Verification) -> Signer | Verification:
        name = (base.tag or "").removeprefix("refs/tags/")
        subject = f"tag {shown(name)}"
        fix = f"sign it: git tag -s -f {shown(name)} {base.commit[:12]}"
        if not name or name.startswith("-") or not name.isprintable() or " " in name:
            return self._failed(
                base,
                f"commit {base.commit[:12]}",
                Failure.NO_TAG,
                "the synced ref is not a tag",
                f"set --ref to a signed annotated tag, or use {MODE_FLAG} head",
            )
        found = sandbox.git(repo_dir, "rev-parse", "--verify", "--quiet", f"refs/tags/{name}")
        obj = found.stdout.decode("ascii", "replace").strip()
        if found.returncode != 0 or not _SHA.match(obj):
            return self._failed(
                base,
                subject,
                Failure.NO_TAG,
                "no such tag",
                "fetch the tags, or set --ref to a signed annotated tag",
            )
        kind = (
            sandbox.git(repo_dir, "cat-file", "-t", obj).stdout.decode("ascii", "replace").strip()
        )
        if kind != "tag":
            return self._failed(base, subject, Failure.LIGHTWEIGHT_TAG, "is a lightweight tag", fix)
        peeled = sandbox.git(repo_dir, "rev-parse", "--verify", "--quiet", f"{obj}^{{commit}}")
        target = peeled.stdout.decode("ascii", "replace").strip()
        if target != base.commit:
            return self._failed(
                base,
                subject,
                Failure.TAG_MOVED,
                f"points at {target[:12] or 'no commit'}, not the synced commit {base.commit[:12]}",
                "sync again",
            )
        lines = _cat(sandbox, repo_dir, "tag", obj).split("\n")
        signature = lines[lines.index("") + 1 :] if "" in lines else []
        what = (subject, "tag", obj)
        return self._signed(sandbox, repo_dir, base, what, signature=signature, fix=fix)

    # -- shared ----------------------------------------------------------------------------

    def _signed(
        self,
        sandbox: Sandbox,
        repo_dir: Path,
        base: Verification,
        what: tuple[str, str, str],
        *,
        signature: list[str],
        fix: str,
    ) -> Signer | Verification:
        """Judge the ``signature`` lines of one object, ``what`` = (subject, ``commit`` or
        ``tag``, its id): git verifies it unless its program is missing; none at all fails
        with ``fix``, how to sign it."""
        subject, kind, obj = what
        fmt = signature_format(signature)
        if fmt is None:
            return self._failed(base, subject, Failure.NO_SIGNATURE, "no signature", fix)
        done = None if self._missing(fmt) else sandbox.git(repo_dir, f"verify-{kind}", "--raw", obj)
        return self._judge(base, subject, kind, fmt, done)

    def _missing(self, fmt: str) -> bool:
        """No program for this format (so no trusted key of it either): untrusted, unrun."""
        return (
            fmt == "x509"
            or (fmt == "openpgp" and not self._gpg)
            or (fmt == "ssh" and not self._ssh)
        )

    def _judge(
        self,
        base: Verification,
        subject: str,
        what: str,
        fmt: str,
        done: subprocess.CompletedProcess[bytes] | None,
    ) -> Signer | Verification:
        """A ``Signer`` when git showed a good signature by a trusted key, else the failure."""
        trust = f"add its public key to {FLAG} or sign with a trusted key"
        if done is None:
            return self._failed(
                base,
                subject,
                Failure.UNTRUSTED_KEY,
                f"signed with {_FORMATS[fmt]}, and no such key is trusted",
                trust,
            )
        checked = read_result(fmt, done, self.keys)
        if checked.fingerprint is not None:
            return Signer(what, checked.fmt, checked.fingerprint)
        key = f" {checked.key}" if checked.key else ""
        if checked.problem == "untrusted":
            return self._failed(
                base, subject, Failure.UNTRUSTED_KEY, f"signed by an untrusted key{key}", trust
            )
        if checked.problem == "invalid-key":
            return self._failed(
                base,
                subject,
                Failure.INVALID_KEY,
                f"signed by an expired or revoked key{key}",
                "sign it again with a valid trusted key",
            )
        return self._failed(
            base,
            subject,
            Failure.BAD_SIGNATURE,
            "bad signature",
            "its content does not match its signature (changed after signing); do not deploy "
            "it, find out who changed it",
        )

    @staticmethod
    def _failed(
        base: Verification, subject: str, failure: Failure, reason: str, advice: str
    ) -> Verification:
        return Verification(base.mode, base.commit, base.tag, (), failure, subject, reason, advice)


def _cat(sandbox: Sandbox, repo_dir: Path, kind: str, obj: str) -> str:
    done = sandbox.git(repo_dir, "cat-file", kind, obj)
    if done.returncode != 0:
        raise SourceError(
            f"{kind} {obj[:12]}: git cannot read it in {shown(str(repo_dir))}; fetch it or "
            "check the repository"
        )
    return done.stdout.decode("utf-8", "replace")


def _signature_header(raw: str, header: str) -> list[str]:
    """The value of a commit's ``gpgsig`` header (continuation lines start with a space)."""
    lines: list[str] = []
    inside = False
    for line in raw.split("\n"):
        if line == "":
            break
        if line.startswith(header):
            inside = True
            lines.append(line.removeprefix(header))
        elif inside and line.startswith(" "):
            lines.append(line[1:])
        else:
            inside = False
    return lines


def tag_of(repo_dir: Path, ref: str | None) -> str | None:
    """The tag ``ref`` (a ``--ref`` value) names in ``repo_dir``, or None for a branch, a sha
    or HEAD: what ``verify`` takes as ``tag`` in the tag modes. git's own order decides
    (a tag wins over a branch of the same name, as in ``rev-parse``)."""
    if not ref or ref.startswith("-") or not ref.isprintable():
        return None
    git = shutil.which("git") or "git"
    done = run_git(
        git,
        repo_dir,
        ["rev-parse", "--symbolic-full-name", "--verify", "--quiet", ref],
        clean_env(),
    )
    full = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0 or not full.startswith("refs/tags/"):
        return None
    return full.removeprefix("refs/tags/")


def verifier_for(settings: VerifySettings) -> SignatureVerifier | None:
    """The verifier ``--verify-signatures``/``--trusted-keys`` ask for (None when off): the keys
    loaded and checked, a ``ConfigError`` (exit 2) when they are unusable."""
    return SignatureVerifier.configure(VerifyMode(settings.mode), settings.trusted_keys)


__all__ = [
    "MODE_FLAG",
    "Failure",
    "SignatureVerifier",
    "Signer",
    "TrustedKeys",
    "Verification",
    "VerifyMode",
    "tag_of",
    "verifier_for",
]
