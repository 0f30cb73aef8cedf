"""``python -m faas_gitops.emulator``: the same as ``faas-gitops emulator``."""

from __future__ import annotations

import sys

from faas_gitops.emulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
