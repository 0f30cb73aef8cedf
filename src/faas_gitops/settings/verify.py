"""The ``verify`` group: which commits and tags must be signed, and by whose keys.

The policy and the keys come only from the runner (flags, env twins, a mounted directory),
never from the repository being verified. The settings only hold the two values:
``source.verify.verifier_for`` loads and checks the keys (the command line does so right after
parsing, so a missing directory, an empty one or a file that is no key is exit 2 at start,
before any git or API work). The settings stay below the git code: ``--help`` pays for none of
it, and nothing here imports upward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import ConfigDict

from faas_gitops.options import Opt
from faas_gitops.settings.base import Group

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


__all__ = ["VerifyModeName", "VerifySettings"]
