"""Result lines at the end of a run (``reconcile/outcomes.py``): a debug line the level filter
would drop is skipped before it is built, and written as before when debug is on."""

from __future__ import annotations

import io
import json

import pytest

from faas_gitops import logs
from faas_gitops.models import Outcome, Status
from faas_gitops.reconcile.outcomes import debug_logged, log_outcome

pytestmark = pytest.mark.usefixtures("restored_logging")

UNCHANGED = Outcome("chat", Status.UNCHANGED, package_id="pkg-chat", revision_name="v1")
CREATED = Outcome("chat", Status.CREATED, package_id="pkg-chat", revision_name="v2")


def logged(level: str, *outcomes: Outcome) -> list[dict[str, object]]:
    out = io.StringIO()
    logs.configure(level, "json", out)
    debug = debug_logged()
    for outcome in outcomes:
        log_outcome(outcome, debug=debug)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_at_info_an_unchanged_package_has_no_line_and_a_created_one_has_its_line() -> None:
    assert [line["event"] for line in logged("info", UNCHANGED, CREATED)] == ["package.created"]


def test_at_debug_an_unchanged_package_has_its_debug_line_with_every_field() -> None:
    (line,) = logged("debug", UNCHANGED)

    assert line["event"] == "package.unchanged"
    assert line["level"] == "debug"
    assert line["package_id"] == "pkg-chat"
    assert line["revision_name"] == "v1"


def test_debug_logged_follows_the_configured_level() -> None:
    logs.configure("debug", "json", io.StringIO())
    assert debug_logged()
    logs.configure("warning", "json", io.StringIO())
    assert not debug_logged()
