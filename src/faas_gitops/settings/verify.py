"""The ``verify`` group: which commits and tags must be signed, and by whose keys.

The policy and the keys come only from the runner (flags, env twins, a mounted directory),
never from the repository being verified. The keys are loaded and checked when the settings
are built, so a missing directory, an empty one or a file that is no key is exit 2 at start,
before any git or API work; the sync builds its own verifier from the same values
(``verifier``). The verification code is imported only then: ``--help`` pays for none of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import ConfigDict, model_validator

from faas_gitops.options import Opt
from faas_gitops.settings.base import Group

if TYPE_CHECKING:
    from faas_gitops.source.verify import SignatureVerifier

#: ``source.verify.VerifyMode``'s values, spelled here so the settings import no git code.
VerifyModeName = Literal["off", "head", "tag", "tag-and-head"]


class VerifySettings(Group):
    """``--verify-signatures`` and ``--trusted-keys``; off by default."""

    model_config = ConfigDict(title="verify")

    mode: Annotated[
        VerifyModeName,
        Opt(
            "--verify-signatures",
            "sync only what keys of --trusted-keys signed: the synced commit (head), its signed "
            "annotated tag (tag) or both (tag-and-head); a refused commit writes nothing (exit 2)",
            "MODE",
            env="FAAS_GITOPS_VERIFY_SIGNATURES",
        ),
    ] = "off"
    trusted_keys: Annotated[
        Path | None,
        Opt(
            "--trusted-keys",
            "directory of trusted public keys: *.asc (OpenPGP, armored) and *.sshpub (SSH, "
            "authorized_keys lines); other files are ignored",
            "DIR",
            env="FAAS_GITOPS_TRUSTED_KEYS",
        ),
    ] = None

    @model_validator(mode="after")
    def _usable_keys(self) -> VerifySettings:
        """Load the keys once here (``ConfigError``, exit 2, when unusable); nothing is kept."""
        self.verifier()
        return self

    def verifier(self) -> SignatureVerifier | None:
        """The verifier these settings ask for (None when off); loads and checks the keys."""
        if self.mode == "off":
            return None
        from faas_gitops.source.verify import SignatureVerifier, VerifyMode  # noqa: PLC0415

        return SignatureVerifier.configure(VerifyMode(self.mode), self.trusted_keys)


__all__ = ["VerifyModeName", "VerifySettings"]
