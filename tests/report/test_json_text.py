"""``dumps_indented`` is ``json.dumps(value, indent=2)`` byte for byte, whatever it is given:
the ``--output json`` document programs parse must not change by a single space."""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from faas_gitops.models import DeployStatus, Outcome, Status
from faas_gitops.report import render, to_json_document
from faas_gitops.report.json_text import dumps_indented
from tests.report.report_builders import (
    PRODUCTION_IN_SYNC,
    STAGING_DEPLOYED,
    make_result,
)


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


VALUES: dict[str, Any] = {
    "empty containers at every depth": {"a": {}, "b": [], "c": [[], {}, [[]], {"d": {}}]},
    "scalars of every kind": [None, True, False, 0, -7, 2**70, 1.5, -0.0, 1e300, "", "x"],
    "floats json spells its own way": [float("nan"), float("inf"), -float("inf")],
    "text that must be escaped": ["é ü", "\u2028\u2029", "\x00\x1f\t\n", '"\\/', "\U0001f600"],
    "flat and nested side by side": {"flat": {"k": 1, "l": None}, "deep": {"m": [1, {"n": 2}]}},
    "tuples are lists": {"t": (1, (2, 3), ()), "u": ({"v": (4,)},)},
    "enums are their values": {"s": Colour.RED, "i": Level.HIGH, Colour.RED: [Level.HIGH]},
    "keys that are not strings": {"flat": {1: "a", 2.5: "b", None: "c", False: "d"}},
    "keys that are not strings in a nested dict": {1: {"a": [1]}, "b": 2},
    "a scalar alone": "just text",
    "a deep list": [[[[[["bottom"]]]]]],
}


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
@pytest.mark.parametrize("indent", [2, 4])
def test_the_text_is_exactly_json_dumps_with_that_indent(value: Any, indent: int) -> None:
    assert dumps_indented(value, indent) == json.dumps(value, indent=indent)


def test_what_json_refuses_is_refused_the_same_way() -> None:
    circular: list[Any] = []
    circular.append(circular)

    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"a": [object()]})
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(circular)


def test_the_rendered_sync_document_is_the_standard_librarys_indented_json() -> None:
    chat = Outcome(
        "chat-moderation", Status.UNCHANGED, package_id="pkg-chat", revision_name="v1.4.0",
        deployments=(STAGING_DEPLOYED, PRODUCTION_IN_SYNC),
    )  # fmt: skip
    broken = Outcome("broken", Status.FAILED, error="bad\x1b[31m manifest ü")
    result = make_result(chat, broken, fatal_error=None)

    text = render(result, "json", show_diff=False)

    assert text == json.dumps(to_json_document(result), indent=2) + "\n"
    assert DeployStatus.IN_SYNC.value in text
