"""Every secret file (API key, webhook and notification secrets, GitHub token) read one way.

Secrets come from files, not flags: a flag or a variable shows in ``ps``, shell history and pod
specs. The rule (the README's): the file holds the secret on one line; one trailing newline
(``\\n`` or ``\\r\\n``, as ``echo`` or an editor leaves it) is not part of it, and nothing else is
taken away. Whatever else makes the secret doubtful (an empty file, a second line, spaces around
it) is refused with one line naming the flag and the file, never the content: a key that
silently lost or kept a character would fail later as a puzzling 401 or a bad signature.
"""

from __future__ import annotations

from pathlib import Path

from faas_gitops.errors import ConfigError


def read_secret_file(path: str | Path, flag: str) -> str:
    """The secret ``path`` holds, registered for redaction; ``ConfigError`` naming ``flag``.

    ``flag`` is what a person typed (``--api-key-file``), so the error says what to fix.
    """
    where = f"{flag} {path}"
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"{where} is a directory, not a file") from None
    except PermissionError:
        raise ConfigError(f"{where} cannot be read: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror or 'I/O error'}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text") from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise ConfigError(f"{where} is empty")
    if "\n" in secret or "\r" in secret:
        raise ConfigError(f"{where} has more than one line; it must hold only the secret")
    if secret != secret.strip():
        raise ConfigError(
            f"{where} has spaces around the secret; remove them (one trailing newline is fine)"
        )
    from faas_gitops import logs  # noqa: PLC0415 - structlog only once a secret is read

    logs.register_secret(secret)
    return secret


__all__ = ["read_secret_file"]
