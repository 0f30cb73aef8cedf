"""Fuzzing the manifest parser: whatever the bytes, the answer is a manifest or one error line.

A crash here (KeyError, RecursionError, a pydantic error leaking out) would fail a whole sync
instead of one package, so the property is simply "nothing but ``ManifestError``".
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faas_gitops.errors import ManifestError
from faas_gitops.models import FUNCTION_TYPES, DesiredPackage
from faas_gitops.source.manifest import PackageManifest, parse_manifest
from faas_gitops.source.package_reader import build_package
from faas_gitops.source.yaml_loader import STRICT_LOADER, load_yaml

FILE = "fuzz/package.yaml"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOP_KEYS = ["packageId", "name", "description", "functions", "functons", "packageid"]
FUNCTION_KEYS = ["name", "type", "file", "language", "sortOrder", "config", "typ"]
YAML_TOKENS = [
    "packageId: ", "name: ", "functions:", "\n", "  ", "- ", "{", "}", "[", "]", ", ", ": ",
    "&a ", "*a", "<<: ", "!!binary ", "!!python/object:x ", "!!set ", "!!timestamp ", "'", '"',
    "#", "---", "...", "? ", "|", ">", "%YAML 1.1\n", "\t", "\ufeff", "\x00", "é", "2024-13-99",
    "0x1F", ".nan", "~", "yes", "1e999", "ON_REQUEST", "x.js", "../x.js", "/abs", "\\",
    "!!bool ", "!!int ", "!!float ", "!!str ", "!local ", "!<tag:x> ", "!!omap ",
]  # fmt: skip


def assert_one_line(error: ManifestError) -> None:
    """One line per problem: the first names the file, each further one is indented."""
    assert error.file == FILE
    assert str(error).startswith(f"{FILE}: ")
    first, *others = str(error).split("\n")
    more = re.search(r"\(and (\d+) more problems?\)$", first)
    assert len(others) == (int(more.group(1)) if more else 0)
    assert all(line.startswith("  ") and line.strip() for line in others)


def assert_manifest_or_error(data: bytes) -> None:
    result: PackageManifest | ManifestError
    try:
        result = parse_manifest(data, FILE)
    except ManifestError as error:
        result = error
    if isinstance(result, ManifestError):
        assert_one_line(result)
    else:
        assert isinstance(result, PackageManifest)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_give_a_manifest_or_a_manifest_error(data: bytes) -> None:
    assert_manifest_or_error(data)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.sampled_from(YAML_TOKENS) | st.text(max_size=8), max_size=60))
def test_yaml_ish_token_soup_gives_a_manifest_or_a_manifest_error(tokens: list[str]) -> None:
    assert_manifest_or_error("".join(tokens).encode("utf-8", "surrogatepass"))


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from([*FUNCTION_TYPES, "JAVASCRIPT", "a.js", "../a.js", "", " x"])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(), children, max_size=4)
    ),
    max_leaves=20,
)
functions = st.lists(
    st.dictionaries(
        st.sampled_from(FUNCTION_KEYS),
        scalars | values,
        max_size=len(FUNCTION_KEYS),
    ),
    max_size=4,
)
documents = st.dictionaries(
    st.sampled_from(TOP_KEYS),
    st.one_of(scalars, functions, values),
    max_size=len(TOP_KEYS),
)


@pytest.mark.slow
@FUZZ
@given(documents | values)
def test_structured_documents_give_a_manifest_or_a_manifest_error(document: Any) -> None:
    assert_manifest_or_error(yaml.safe_dump(document, allow_unicode=True).encode())


@pytest.mark.slow
@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {"name": st.text(min_size=1, max_size=5), "type": st.sampled_from(FUNCTION_TYPES)},
            optional={
                "sortOrder": st.integers(min_value=-(2**40), max_value=2**40),
                "config": values,
            },
        ),
        min_size=1,
        max_size=4,
    ),
    st.binary(max_size=64),
)
def test_nearly_valid_manifests_and_random_code_build_or_fail_with_a_manifest_error(
    entries: list[dict[str, Any]], code: bytes
) -> None:
    document = {
        "packageId": "p-1",
        "functions": [{**entry, "file": f"f{index}.js"} for index, entry in enumerate(entries)],
    }
    result: DesiredPackage | ManifestError
    try:
        manifest = parse_manifest(yaml.safe_dump(document).encode(), FILE)
        result = build_package(
            manifest, path="fuzz", manifest_file=FILE, read_file=lambda _path: code
        )
    except ManifestError as error:
        result = error
    if isinstance(result, ManifestError):
        assert_one_line(result)
    else:
        assert [f.name for f in result.functions] == [e["name"] for e in entries]


def _outcome(text: str, loader: Any) -> tuple[str, Any]:
    try:
        return ("value", load_yaml(text, loader=loader))
    except Exception as exc:  # noqa: BLE001 - the kind and message are what is compared
        return (type(exc).__name__, str(exc))


@pytest.mark.slow
@FUZZ
@given(st.lists(st.sampled_from(YAML_TOKENS + TOP_KEYS + FUNCTION_KEYS), max_size=40))
def test_the_c_composed_fast_path_loads_and_refuses_exactly_like_the_strict_composer(
    tokens: list[str],
) -> None:
    """``load_yaml`` composes shallow, anchor-free text in libyaml; the answer (value, or the
    kind and message of the error) must be the strict composer's for any text at all."""
    text = "".join(tokens).replace("\x00", "")
    assert _outcome(text, None) == _outcome(text, STRICT_LOADER)


@pytest.mark.slow
@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=20,
    )
)
def test_documents_dumped_by_pyyaml_load_the_same_on_both_paths(value: Any) -> None:
    text = yaml.safe_dump(value)
    assert _outcome(text, None) == _outcome(text, STRICT_LOADER)
