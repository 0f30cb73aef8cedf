"""Name rules shared by the command line and the files read from git.

One definition, so an environment that ``faas-gitops.yaml`` may define is exactly one that
``--environment`` may name. Kept free of imports from the rest of the package: ``settings``
and ``source.environments`` both import it, and neither may drag the other in.
"""

from __future__ import annotations

import re

#: An environment name: letters, digits, ``.``, ``_`` or ``-``, starting with a letter or digit
#: (so it can never look like a flag, and prints safely in logs, reports and metric labels).
ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
ENVIRONMENT_NAME_RULE = "an environment name is letters, digits, '.', '_' or '-'"

#: Who owns the keysets a repository deploys to (``owner:`` in faas-gitops.yaml).
OWNER_MAX = 48
OWNER = re.compile(rf"[A-Za-z0-9._/-]{{1,{OWNER_MAX}}}")
OWNER_RULE = f"an owner is 1 to {OWNER_MAX} letters, digits, '.', '_', '/' or '-'"


def is_environment_name(value: str) -> bool:
    """Whether ``value`` is a valid environment name (the whole string, no newline slips by)."""
    return ENVIRONMENT_NAME.fullmatch(value) is not None


def is_owner(value: str) -> bool:
    """Whether ``value`` is a valid owner (the whole string)."""
    return OWNER.fullmatch(value) is not None


__all__ = [
    "ENVIRONMENT_NAME",
    "ENVIRONMENT_NAME_RULE",
    "OWNER",
    "OWNER_MAX",
    "OWNER_RULE",
    "is_environment_name",
    "is_owner",
]
