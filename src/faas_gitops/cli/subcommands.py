"""The subcommand table: name -> ``module:function``, imported only when that name is run.

Lazy on purpose: ``--sync-once`` must not pay for uvicorn, starlette or the emulator. To add a
subcommand, add a row and write ``main(argv: list[str]) -> int`` in the named module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from faas_gitops.cli.common import EXIT_USAGE, fail

SUBCOMMANDS: dict[str, str] = {
    "history": "faas_gitops.cli.history:main",
    "emulator": "faas_gitops.emulator.cli:main",
    "demo": "faas_gitops.cli.demo:main",
    "completion": "faas_gitops.cli.completion:main",
    "status": "faas_gitops.cli.status:main",
    "promote": "faas_gitops.cli.promote:main",
    "rollback": "faas_gitops.cli.rollback:main",
}


def run_subcommand(name: str, args: list[str]) -> int:
    module_name, _, function = SUBCOMMANDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return fail(f"'{name}' is not available in this version of faas-gitops", EXIT_USAGE)
    entry: Callable[[list[str]], int] = getattr(module, function)
    return entry(args)
