"""Run git's own signature checks with the runner's keys only, and read what git says.

Why git: "what git calls good is good" — the same code path a developer runs with
``git verify-commit`` decides, not a second implementation of OpenPGP or SSHSIG.

Why a sandbox: git asks gpg and ssh-keygen, and both would happily use whatever they find (the
runner's ``~/.gnupg`` keyring, the repository's ``gpg.ssh.allowedSignersFile``). Every call
here runs with a throw-away ``GNUPGHOME`` that holds only the trusted ``*.asc`` keys (with
ultimate owner trust, so git's trust check passes for those keys and only those), an allowed
signers file built from the ``*.sshpub`` keys, and every setting that picks a program or a key
list given with ``-c`` on the command line, which wins over the repository's own config.
``GIT_CONFIG_*`` variables and those that point git at another repository are removed from
the child's environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from faas_gitops.errors import ConfigError, SourceError
from faas_gitops.source.verify_keys import FLAG, TrustedKeys, gnupg_home, shown

GIT_TIMEOUT_S = 60.0
# Variables that would change which config or which repository git reads.
_DROPPED = ("GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GNUPGHOME")
_DROPPED_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")
_LOCATORS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
)
_SSH_GOOD = re.compile(
    r'^Good "git" signature (?:for .* )?with \S+ key (SHA256:[A-Za-z0-9+/]+)\s*$', re.MULTILINE
)
_HEX = re.compile(r"^[0-9A-Fa-f]{16,64}$")
# The armor lines git itself looks for (gpg-interface.c), by the format they announce.
_MARKERS = {
    "-----BEGIN PGP SIGNATURE-----": "openpgp",
    "-----BEGIN PGP MESSAGE-----": "openpgp",
    "-----BEGIN SSH SIGNATURE-----": "ssh",
    "-----BEGIN SIGNED MESSAGE-----": "x509",
}


@dataclass(frozen=True, slots=True)
class Checked:
    """What one ``verify-commit``/``verify-tag`` showed: a trusted signer, or why not.

    ``problem`` is one of ``untrusted``, ``bad``, ``invalid-key``; ``key`` the fingerprint
    (or OpenPGP key id) git named, when it named one.
    """

    fmt: str
    fingerprint: str | None = None
    problem: str | None = None
    key: str | None = None


class Sandbox:
    """A private temporary directory with the keyring, the signers file and git's command.

    Made for one verification and removed after it (``with Sandbox(...) as s:``), so nothing
    persists between syncs and a changed key directory is never half-applied.
    """

    def __init__(self, keys: TrustedKeys, *, git: str, gpg: str | None, ssh: str | None):
        self._keys = keys
        self._git = git
        self._gpg = gpg
        self._ssh = ssh
        self._tmp: Path | None = None

    def __enter__(self) -> Sandbox:
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix="faas-gitops-verify-"))
            self._tmp.chmod(0o700)
        except OSError as exc:
            raise ConfigError(_no_tmp(exc)) from None
        try:
            self._home = gnupg_home(self._tmp)
            self._signers = self._tmp / "allowed_signers"
            self._signers.write_text(
                "".join(f"{key.allowed_signer()}\n" for key in self._keys.ssh), encoding="utf-8"
            )
            self._revoked = self._tmp / "revoked_keys"
            self._revoked.write_bytes(b"")
            if self._keys.openpgp and self._gpg:
                self._import_openpgp(self._gpg)
        except OSError as exc:
            self.__exit__(None, None, None)
            raise ConfigError(_no_tmp(exc)) from None
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def _import_openpgp(self, gpg: str) -> None:
        """Import the trusted keys and give them ultimate owner trust (nothing else is in the
        keyring, so any key git finds here is one the runner trusts)."""
        assert self._tmp is not None  # noqa: S101 - only called from __enter__
        files: list[str] = []
        seen: set[Path] = set()
        for number, key in enumerate(self._keys.openpgp):
            if key.file in seen:
                continue
            seen.add(key.file)
            target = self._tmp / f"key-{number}.asc"
            target.write_bytes(key.data)
            files.append(str(target))
        trust = "".join(f"{key.fingerprint}:6:\n" for key in self._keys.openpgp).encode()
        base = [gpg, "--homedir", str(self._home), "--batch", "--no-tty"]
        # gpg's exit status is no guide here: it is 2 when it merely fails to reach a
        # gpg-agent (not needed for public keys; a long TMPDIR breaks the socket path), so
        # what counts is that every trusted key is in the keyring afterwards.
        self._gpg_run([*base, "--import", *files])
        self._gpg_run([*base, "--import-ownertrust"], trust)
        listed = self._gpg_run([*base, "--with-colons", "--list-keys"]).stdout.decode()
        found = {r.split(":")[9] for r in listed.splitlines() if r.startswith("fpr:")}
        if not {key.fingerprint for key in self._keys.openpgp} <= found:
            raise ConfigError(
                f"{FLAG} {shown(str(self._keys.directory))}: gpg could not import the trusted "
                "keys again; check that gpg works (gpg --version) and the key files are intact"
            )

    def _gpg_run(
        self, argv: list[str], data: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                argv, input=data, capture_output=True, timeout=GIT_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(
                f"{FLAG} {shown(str(self._keys.directory))}: gpg failed ({exc}); check that gpg "
                "works (gpg --version)"
            ) from None

    def env(self) -> dict[str, str]:
        """The child's environment: the runner's, minus config injection, plus our keyring."""
        return clean_env(GNUPGHOME=str(self._home))

    def git(self, repo_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
        """Run git in ``repo_dir`` with the verification settings forced on the command line."""
        gpg = self._gpg or "gpg"
        ssh = self._ssh or "ssh-keygen"
        forced = {
            "gpg.program": gpg,
            "gpg.openpgp.program": gpg,
            "gpg.ssh.program": ssh,
            "gpg.x509.program": "false",
            "gpg.ssh.allowedSignersFile": str(self._signers),
            "gpg.ssh.revocationFile": str(self._revoked),
            "gpg.minTrustLevel": "undefined",
        }
        config: list[str] = []
        for name, value in forced.items():
            config += ["-c", f"{name}={value}"]
        return run_git(self._git, repo_dir, list(args), self.env(), config)


def clean_env(**extra: str) -> dict[str, str]:
    """The runner's environment without what would inject git config, point git at another
    repository or pick a keyring; messages in English so they can be read."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and k not in _LOCATORS and not k.startswith(_DROPPED_PREFIXES)
    }
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", **extra})
    return env


def run_git(
    git: str,
    repo_dir: Path,
    args: list[str],
    env: dict[str, str],
    config: list[str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo_dir [-c k=v...] ARGS``; a hang or a missing git is one
    ``SourceError`` line (``ARGS[0]`` is the git command, named in it)."""
    command = args[0] if args else "git"
    try:
        return subprocess.run(
            [git, "-C", str(repo_dir), *(config or []), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise SourceError(
            f"git {command} in {shown(str(repo_dir))} took over {GIT_TIMEOUT_S:.0f}s; "
            "check the repository and the gpg/ssh-keygen installation"
        ) from None
    except OSError as exc:
        raise SourceError(f"git {command}: cannot run git ({exc}); install git") from None


def _no_tmp(exc: OSError) -> str:
    return (
        f"--verify-signatures: cannot write a temporary keyring in {tempfile.gettempdir()} "
        f"({exc.strerror or exc}); make it (or TMPDIR) writable"
    )


def signature_format(lines: list[str]) -> str | None:
    """``openpgp``, ``ssh`` or ``x509`` for the first armor line git would verify, else None."""
    for line in lines:
        fmt = _MARKERS.get(line.strip())
        if fmt is not None:
            return fmt
    return None


def read_result(fmt: str, done: subprocess.CompletedProcess[bytes], keys: TrustedKeys) -> Checked:
    """Turn git's ``--raw`` output (gpg status lines, ssh-keygen messages) into a ``Checked``.

    Success needs both git's exit 0 and a fingerprint of a trusted key in what it printed;
    anything unrecognised is a bad signature, never a pass. Nothing the signer chose (user
    ids, comments) is kept: only fingerprints and key ids, which are checked to be hex/base64.
    """
    text = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace")
    if fmt == "openpgp":
        return _read_gpg(text, done.returncode, keys)
    return _read_ssh(text, done.returncode, keys)


def _read_gpg(text: str, returncode: int, keys: TrustedKeys) -> Checked:
    status: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("[GNUPG:] "):
            word, *fields = line.removeprefix("[GNUPG:] ").split(" ")
            status.setdefault(word, fields)
    valid = status.get("VALIDSIG", [])
    primary = _hex(valid[9] if len(valid) > 9 else valid[0] if valid else "")
    errsig = status.get("ERRSIG", [])
    expired = status.get("EXPKEYSIG") or status.get("REVKEYSIG")
    if "GOODSIG" in status and primary and (returncode == 0 or not keys.trusts(primary)):
        if returncode == 0 and keys.trusts(primary):
            return Checked("openpgp", fingerprint=primary)
        return Checked("openpgp", problem="untrusted", key=primary)
    if "BADSIG" in status:
        return Checked("openpgp", problem="bad")
    if expired:
        return Checked("openpgp", problem="invalid-key", key=primary or _hex(expired[0]))
    if len(errsig) > 5 and errsig[5] == "9":  # 9: no public key for it
        fingerprint = _hex(errsig[6]) if len(errsig) > 6 else None
        return Checked("openpgp", problem="untrusted", key=fingerprint or _hex(errsig[0]))
    return Checked("openpgp", problem="bad")


def _read_ssh(text: str, returncode: int, keys: TrustedKeys) -> Checked:
    good = _SSH_GOOD.search(text)
    fingerprint = good.group(1) if good else None
    if returncode == 0 and fingerprint is not None:
        if keys.trusts(fingerprint):
            return Checked("ssh", fingerprint=fingerprint)
        return Checked("ssh", problem="untrusted", key=fingerprint)
    if "No principal matched" in text and fingerprint is not None:
        return Checked("ssh", problem="untrusted", key=fingerprint)
    return Checked("ssh", problem="bad")


def _hex(value: str) -> str | None:
    return value.upper() if _HEX.match(value) else None


__all__ = ["Checked", "Sandbox", "clean_env", "read_result", "run_git", "signature_format"]
