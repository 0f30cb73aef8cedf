"""The collector settings of a whole ``faas-gitops`` process (``faas_gitops.process``)."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator

import pytest

from faas_gitops import process


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """The test process's own collector settings, put back after the test changes them."""
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector_restored")
def test_start_collects_young_objects_less_often_and_keeps_the_older_ratios() -> None:
    gc.set_threshold(700, 10, 10)

    process.start()

    assert gc.get_threshold() == (process.YOUNG_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("collector_restored")
def test_finish_returns_the_exit_code_with_every_live_object_out_of_the_collectors_reach() -> None:
    kept = [object()]

    assert process.finish(3) == 3
    assert gc.get_freeze_count() > 0
    assert not any(found is kept for found in gc.get_objects())


@pytest.mark.slow
def test_the_program_sets_the_collector_and_main_called_in_process_does_not() -> None:
    probe = "import faas_gitops.cli\nfaas_gitops.cli.main(['--version'])\n"
    # --version exits through argparse inside main: the thresholds it ran under are printed
    # by an atexit handler, for main called in-process and for the program.
    at_exit = "import atexit, gc; atexit.register(lambda: print(gc.get_threshold()[0]))\n"
    in_process = subprocess.run(
        [sys.executable, "-c", at_exit + probe], capture_output=True, text=True, check=False
    )
    program = subprocess.run(
        [sys.executable, "-c", at_exit + "import runpy, sys\nsys.argv = ['faas-gitops', "
         "'--version']\nrunpy.run_module('faas_gitops.cli', run_name='__main__')\n"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert in_process.stdout.splitlines()[-1] == "700"
    assert program.stdout.splitlines()[-1] == str(process.YOUNG_THRESHOLD)
