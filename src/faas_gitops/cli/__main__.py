"""``python -m faas_gitops.cli``: the same command as the installed ``faas-gitops``."""

from faas_gitops.cli import main

raise SystemExit(main())
