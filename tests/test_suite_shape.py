"""The suite's own shape: every test runs once, and every fixture name means one thing.

A fixture defined again in a deeper conftest or a test module silently shadows the shared one
for the tests below it (that is how the daemon's tests once ran twice, in two API modes their
own fixture file never asked for). So each fixture name is defined in exactly one place, and
no test id is collected twice. Both are read from pytest's own public output, from a fresh
process collecting the whole suite as CI does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import ROOT

pytestmark = pytest.mark.slow  # two collections of the whole suite

# ``--fixtures -v`` prints one line per definition: "name [scope] -- path:line".
DEFINITION = re.compile(r"^(?P<name>\w+)(?: \[\w+ scope\])? -- (?P<where>tests/\S+:\d+)$")


def pytest_output(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "tests"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    said = "\n".join(line for line in done.stdout.splitlines() if "::" not in line)
    assert done.returncode == 0, (
        f"pytest {' '.join(args)} exited {done.returncode}:\n{said[-3000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def collected() -> dict[str, str]:
    """The output of ``--collect-only -q`` and of ``--fixtures -v``, collected side by side."""
    runs = {"ids": ("--collect-only",), "fixtures": ("--fixtures", "-v")}
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {name: pool.submit(pytest_output, *args) for name, args in runs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_no_test_id_is_collected_twice(collected: dict[str, str]) -> None:
    ids = [line for line in collected["ids"].splitlines() if "::" in line]
    twice = sorted(test_id for test_id, count in Counter(ids).items() if count > 1)

    assert len(ids) > 1000, "the collection found (almost) no tests"
    assert twice == [], "collected more than once:\n" + "\n".join(twice)


def test_every_fixture_name_is_defined_in_one_place(collected: dict[str, str]) -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for line in collected["fixtures"].splitlines():
        if found := DEFINITION.match(line.strip()):
            places[found["name"]].append(found["where"])
    shadowed = {name: where for name, where in places.items() if len(where) > 1}

    assert {"emulator", "repo", "start_emulator", "run_cli"} <= places.keys()
    assert shadowed == {}, "fixture names defined in more than one place:\n" + "\n".join(
        f"{name}: {', '.join(where)}" for name, where in sorted(shadowed.items())
    )
