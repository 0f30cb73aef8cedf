"""The public keys the runner trusts to sign commits and tags, read from ``--trusted-keys DIR``.

Trust belongs to the runner, never to the repository being verified (Flux keeps its keys in a
Secret for the same reason), so the keys come from one directory the runner mounts: ``*.asc``
files hold OpenPGP public keys (armored, as ``gpg --armor --export`` writes them) and
``*.sshpub`` files hold SSH public keys, one per line in ``authorized_keys`` form. Other files
are ignored, so a Kubernetes ConfigMap mount (with its ``..data`` links) or a README next to the
keys does no harm.

Everything is checked once, when the keys are loaded (at start, before any request): a file
that is not what its name says is a ``ConfigError`` naming the flag, the file and the cure, so a
typo never turns into "every commit is refused" an hour later. The loaded value keeps the key
material as read, so what is verified later is exactly what was checked here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from faas_gitops.errors import ConfigError

FLAG = "--trusted-keys"
#: A key file larger than this is not a key file (an armored RSA-4096 key is ~3 KiB).
MAX_KEY_FILE_BYTES = 1024 * 1024
PROGRAM_TIMEOUT_S = 60.0
# SSH public key types ssh-keygen -Y verify accepts (DSA is gone from OpenSSH).
SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
_INSTALL = {"gpg": "gnupg", "ssh-keygen": "openssh-client"}
_USE = {
    "gpg": "OpenPGP signatures (*.asc keys)",
    "ssh-keygen": "SSH signatures (*.sshpub keys)",
}


def find_program(name: str) -> str:
    """The absolute path of ``gpg`` or ``ssh-keygen``; a missing one is one ConfigError line.

    The path is resolved once so the import of the keys and git's verification run the same
    binary, and a later change of ``PATH`` cannot swap it.
    """
    path = shutil.which(name)
    if path is None:
        raise ConfigError(
            f"--verify-signatures: checking {_USE.get(name, name)} needs {name}, which is not "
            f"installed; install {_INSTALL.get(name, name)} (e.g. apt-get install "
            f"{_INSTALL.get(name, name)})"
        )
    return path


def gnupg_home(parent: Path) -> Path:
    """A fresh, private ``GNUPGHOME`` under ``parent`` that never starts a gpg-agent.

    ``no-autostart`` matters: importing or verifying would otherwise leave an agent process
    behind for every temporary home (one per verification in a daemon).
    """
    home = parent / "gnupg"
    home.mkdir(mode=0o700)
    (home / "gpg.conf").write_text("no-autostart\n", encoding="utf-8")
    return home


def shown(text: str) -> str:
    """A file name safe for a one-line message: control characters become ``?``."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


@dataclass(frozen=True, slots=True)
class OpenPgpKey:
    """One trusted OpenPGP primary key: its fingerprint (40 upper-case hex) and where it came
    from; ``data`` is the whole file as read (imported again for every verification)."""

    file: Path
    fingerprint: str
    user_id: str
    data: bytes = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SshKey:
    """One trusted SSH public key: its type, base64 blob and ``SHA256:`` fingerprint."""

    file: Path
    line: int
    key_type: str
    blob: str = field(repr=False)
    fingerprint: str

    def allowed_signer(self) -> str:
        """Its line in git's ``gpg.ssh.allowedSignersFile``: any signer name, git's namespace."""
        return f'* namespaces="git" {self.key_type} {self.blob}'


@dataclass(frozen=True, slots=True)
class TrustedKeys:
    """Every key of ``--trusted-keys DIR``; never empty (``load`` refuses a directory without
    a usable key, because verifying against no key refuses every commit)."""

    directory: Path
    openpgp: tuple[OpenPgpKey, ...]
    ssh: tuple[SshKey, ...]

    @classmethod
    def load(cls, directory: Path) -> TrustedKeys:
        """Read and check ``*.asc`` and ``*.sshpub`` in ``directory`` (other files ignored)."""
        where = f"{FLAG} {shown(str(directory))}"
        try:
            entries = sorted(directory.iterdir())
        except FileNotFoundError:
            raise ConfigError(
                f"{where}: no such directory; create it and put the trusted public keys in it "
                "(*.asc for OpenPGP, *.sshpub for SSH)"
            ) from None
        except NotADirectoryError:
            raise ConfigError(
                f"{where}: not a directory; name the directory that holds the *.asc and "
                "*.sshpub keys"
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot be read ({exc.strerror or exc}); let this process read it"
            ) from None
        asc = [p for p in entries if p.suffix == ".asc" and _is_file(p)]
        sshpub = [p for p in entries if p.suffix == ".sshpub" and _is_file(p)]
        openpgp = _load_openpgp(where, asc) if asc else ()
        ssh = tuple(key for path in sshpub for key in _load_ssh_file(where, path))
        if not openpgp and not ssh:
            raise ConfigError(
                f"{where}: holds no trusted key (no *.asc or *.sshpub key in it); add the public "
                "keys whose signatures you trust"
            )
        return cls(directory=directory, openpgp=openpgp, ssh=ssh)

    @property
    def fingerprints(self) -> frozenset[str]:
        """Every trusted fingerprint: OpenPGP 40-hex and SSH ``SHA256:...``."""
        return frozenset([k.fingerprint for k in self.openpgp] + [k.fingerprint for k in self.ssh])

    def trusts(self, fingerprint: str) -> bool:
        """Whether ``fingerprint`` (any case for OpenPGP hex) names a trusted key."""
        if fingerprint.startswith("SHA256:"):
            return fingerprint in {k.fingerprint for k in self.ssh}
        return fingerprint.upper() in {k.fingerprint for k in self.openpgp}


def _is_file(path: Path) -> bool:
    """A regular file (a symlink to one counts: ConfigMap mounts link every key)."""
    return not path.name.startswith(".") and path.is_file()


def _read(where: str, path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE_BYTES:
            raise ConfigError(
                f"{where}: {shown(path.name)}: {size} bytes is too large for a key file; "
                "keep only public keys in the directory"
            )
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{where}: {shown(path.name)}: cannot be read ({exc.strerror or exc}); let this "
            "process read it"
        ) from None


# -- OpenPGP ---------------------------------------------------------------------------------


def _load_openpgp(where: str, paths: list[Path]) -> tuple[OpenPgpKey, ...]:
    """List each ``.asc`` file's keys with gpg (``show-only``: nothing kept) in a throw-away
    home, so a file gpg cannot read fails here, at start."""
    gpg = find_program("gpg")
    keys: list[OpenPgpKey] = []
    with tempfile.TemporaryDirectory(prefix="faas-gitops-keys-") as tmp:
        home = gnupg_home(Path(tmp))
        for path in paths:
            data = _read(where, path)
            keys.extend(_list_openpgp(where, gpg, home, path, data))
    return tuple(keys)


def _list_openpgp(where: str, gpg: str, home: Path, path: Path, data: bytes) -> list[OpenPgpKey]:
    name = shown(path.name)
    cure = f"export the public key with: gpg --armor --export KEYID > {name}"
    try:
        done = subprocess.run(
            [
                gpg,
                "--homedir",
                str(home),
                "--batch",
                "--no-tty",
                "--with-colons",
                "--import-options",
                "show-only",
                "--import",
            ],
            input=data,
            capture_output=True,
            timeout=PROGRAM_TIMEOUT_S,
            check=False,
            env=_gpg_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"{where}: {name}: gpg could not read it ({exc}); {cure}") from None
    records = [line.split(":") for line in done.stdout.decode("utf-8", "replace").splitlines()]
    if any(record[0] in {"sec", "ssb"} for record in records):
        raise ConfigError(f"{where}: {name}: holds a private key, never put one here; {cure}")
    keys: list[OpenPgpKey] = []
    primary = False
    for record in records:
        if record[0] == "pub":
            primary = True
        elif record[0] == "fpr" and primary and len(record) > 9 and record[9]:
            keys.append(OpenPgpKey(path, record[9].upper(), "", data))
            primary = False
        elif record[0] == "uid" and keys and not keys[-1].user_id and len(record) > 9:
            last = keys[-1]
            keys[-1] = OpenPgpKey(last.file, last.fingerprint, shown(record[9]), last.data)
    if done.returncode != 0 or not keys:
        raise ConfigError(f"{where}: {name}: not an OpenPGP public key gpg can import; {cure}")
    return keys


def _gpg_env() -> dict[str, str]:
    """The environment for gpg: the caller's, minus a ``GNUPGHOME`` (``--homedir`` decides)."""
    env = {k: v for k, v in os.environ.items() if k != "GNUPGHOME"}
    env["LC_ALL"] = "C"
    return env


# -- SSH -------------------------------------------------------------------------------------


def _load_ssh_file(where: str, path: Path) -> list[SshKey]:
    data = _read(where, path)
    name = shown(path.name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{where}: {name}: not text; put SSH public keys in it, one per line"
        ) from None
    if "PRIVATE KEY-----" in text:
        raise ConfigError(
            f"{where}: {name}: holds a private key, never put one here; copy the public key "
            "(the .pub file) instead"
        )
    keys: list[SshKey] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key = parse_ssh_public_key(line)
        if key is None:
            raise ConfigError(
                f"{where}: {name} line {number}: not an SSH public key; put one per line as in "
                "authorized_keys (ssh-ed25519 AAAA... comment), or remove the line"
            )
        key_type, blob, fingerprint = key
        keys.append(SshKey(path, number, key_type, blob, fingerprint))
    return keys


def parse_ssh_public_key(line: str) -> tuple[str, str, str] | None:
    """``(type, base64 blob, SHA256 fingerprint)`` of an ``authorized_keys`` line, or None.

    Leading options and a trailing comment are allowed. The blob must decode and be well
    formed (length-prefixed fields, the first one repeating the type), which is what
    ``ssh-keygen -l`` checks, without running it once per line.
    """
    tokens = line.split()
    for index, token in enumerate(tokens[:-1]):
        if token in SSH_KEY_TYPES:
            blob = tokens[index + 1]
            try:
                raw = base64.b64decode(blob, validate=True)
            except (binascii.Error, ValueError):
                return None
            if not _well_formed(raw, token):
                return None
            digest = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
            return token, blob, f"SHA256:{digest}"
    return None


def _well_formed(raw: bytes, key_type: str) -> bool:
    fields: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            return False
        size = int.from_bytes(raw[offset : offset + 4], "big")
        offset += 4
        if offset + size > len(raw):
            return False
        fields.append(raw[offset : offset + size])
        offset += size
    return len(fields) >= 2 and fields[0] == key_type.encode() and all(fields[1:])


__all__ = [
    "FLAG",
    "OpenPgpKey",
    "SshKey",
    "TrustedKeys",
    "find_program",
    "gnupg_home",
    "parse_ssh_public_key",
]
