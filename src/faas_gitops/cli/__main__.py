"""``python -m faas_gitops.cli``: the same command as the installed ``faas-gitops``."""

from faas_gitops import process

process.start()  # before the CLI's imports: they are most of a start-up's allocations

from faas_gitops.cli import main  # noqa: E402 - after the collector is set

raise SystemExit(process.finish(main()))
