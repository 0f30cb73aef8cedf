"""The package.yaml schema: what is accepted, and the one line a person sees when it is not."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from faas_gitops.errors import ManifestError
from faas_gitops.models import FUNCTION_TYPES, FunctionSpec
from faas_gitops.settings import LimitSettings
from faas_gitops.source.manifest import (
    FunctionManifest,
    PackageManifest,
    normalise_code_path,
    parse_manifest,
)
from faas_gitops.source.package_reader import build_package
from faas_gitops.source.yaml_loader import StrictSafeLoader, load_yaml
from tests.harness import SAMPLE_REPO

FILE = "chat/package.yaml"
DEFAULT_LIMITS = LimitSettings()

GOOD = b"""\
packageId: 550e8400-e29b-41d4-a716-446655440000
name: chat-moderation
description: Chat moderation functions
functions:
  - name: Profanity Filter
    type: BEFORE_PUBLISH
    file: profanity-filter.js
    config:
      inputChannel: chat.*
      since: 2024-01-01
  - name: Audit Log
    type: AFTER_PUBLISH
    file: ./lib/../audit-log.js
    language: JAVASCRIPT
    sortOrder: 7
"""


def manifest_with(function_yaml: str, top: str = "packageId: p-1\n") -> bytes:
    """A manifest whose only function is ``function_yaml`` (a flow mapping body)."""
    return f"{top}functions:\n  - {{{function_yaml}}}\n".encode()


def error_of(data: bytes, *, limits: LimitSettings = DEFAULT_LIMITS) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(data, FILE, limits=limits)
    message = str(caught.value)
    first, *others = message.split("\n")
    more = re.search(r"\(and (\d+) more problems?\)$", first)
    # One line per problem: the first names the file, each further one is indented under it.
    assert len(others) == (int(more.group(1)) if more else 0), "one line per problem"
    assert all(line.startswith("  ") and line.strip() for line in others)
    assert message.startswith(f"{FILE}: ")
    return caught.value


# -- accepted --------------------------------------------------------------------------------


def test_a_complete_manifest_parses_with_defaults_and_normalised_paths() -> None:
    manifest = parse_manifest(GOOD, FILE)

    assert manifest.package_id == "550e8400-e29b-41d4-a716-446655440000"
    assert manifest.name == "chat-moderation"
    assert manifest.description == "Chat moderation functions"
    first, second = manifest.functions
    assert first == FunctionManifest.model_validate(
        {
            "name": "Profanity Filter",
            "type": "BEFORE_PUBLISH",
            "file": "profanity-filter.js",
            "config": {"inputChannel": "chat.*", "since": "2024-01-01"},
        }
    )
    assert first.language == "JAVASCRIPT"
    assert first.sort_order is None
    assert second.file == "audit-log.js"
    assert second.sort_order == 7


def test_dates_in_config_stay_strings_so_they_can_be_sent_as_json() -> None:
    manifest = parse_manifest(GOOD, FILE)
    assert manifest.functions[0].config["since"] == "2024-01-01"


def test_a_name_alone_identifies_the_package() -> None:
    manifest = parse_manifest(
        manifest_with("name: a, type: ON_REQUEST, file: a.js", top="name: tracker\n"), FILE
    )
    assert manifest.package_id is None
    assert manifest.name == "tracker"


def test_any_package_id_without_whitespace_is_accepted_not_only_uuids() -> None:
    manifest = parse_manifest(manifest_with("name: a, type: ON_REQUEST, file: a.js"), FILE)
    assert manifest.package_id == "p-1"


def test_a_utf8_byte_order_mark_before_the_manifest_is_ignored() -> None:
    assert parse_manifest(b"\xef\xbb\xbf" + GOOD, FILE).name == "chat-moderation"


@pytest.mark.parametrize("function_type", FUNCTION_TYPES)
def test_every_documented_function_type_is_accepted(function_type: str) -> None:
    data = manifest_with(f"name: a, type: {function_type}, file: a.js")
    assert parse_manifest(data, FILE).functions[0].type == function_type


def test_every_sample_repository_manifest_parses() -> None:
    manifests = sorted(SAMPLE_REPO.rglob("package.yaml"))
    assert len(manifests) >= 3
    for path in manifests:
        relative = path.relative_to(SAMPLE_REPO).as_posix()
        manifest = parse_manifest(path.read_bytes(), relative)
        for function in manifest.functions:
            assert (path.parent / function.file).is_file(), f"{relative}: {function.file}"


# -- refused: one line naming the file and the field ------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        pytest.param(
            b"packageId: p\nfunctons: []\n", "functons", "did you mean 'functions'?", id="typo"
        ),
        pytest.param(
            b"packageid: p\nfunctions: []\n", "packageid", "did you mean 'packageId'?", id="case"
        ),
        pytest.param(
            manifest_with("name: a, tpye: ON_REQUEST, file: a.js"),
            "functions[0].tpye",
            "did you mean 'type'?",
            id="function-typo",
        ),
        pytest.param(
            b"packageId: p\nzzz: 1\nfunctions: []\n",
            "zzz",
            "unknown key; valid keys are packageId, name",
            id="unknown-no-suggestion",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, sortOrder: x"),
            "functions[0].sortOrder",
            "must be an integer, not a string",
            id="sortOrder-string",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, sortOrder: true"),
            "functions[0].sortOrder",
            "must be an integer, not a boolean",
            id="sortOrder-bool",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, sortOrder: 99999999999"),
            "functions[0].sortOrder",
            "out of range",
            id="sortOrder-huge",
        ),
        pytest.param(
            b"packageId: p\nfunctions: {a: 1}\n",
            "functions",
            "must be a list, not a mapping",
            id="functions-mapping",
        ),
        pytest.param(
            b"packageId: p\nfunctions: [hello]\n",
            "functions[0]",
            "must be a mapping, not a string",
            id="function-scalar",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js", top="packageId: 12\n"),
            "packageId",
            "must be a string, not an integer (quote it)",
            id="packageId-int",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js", top="packageId: a b\n"),
            "packageId",
            "'a b' is not a package id",
            id="packageId-space",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js", top="packageId: ''\n"),
            "packageId",
            "'' is not a package id",
            id="packageId-empty",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js", top="description: d\n"),
            "packageId",
            "give packageId",
            id="neither-id-nor-name",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js", top="name: ' x'\n"),
            "name",
            "whitespace",
            id="name-padded",
        ),
        pytest.param(
            manifest_with("name: a, type: BEFORE_PUBLSH, file: a.js"),
            "functions[0].type",
            "'BEFORE_PUBLSH' is not a function type; did you mean 'BEFORE_PUBLISH'?",
            id="type-typo",
        ),
        pytest.param(
            manifest_with("name: a, type: on-request, file: a.js"),
            "functions[0].type",
            "did you mean 'ON_REQUEST'?",
            id="type-lowercase",
        ),
        pytest.param(
            manifest_with("name: a, type: NOPE, file: a.js"),
            "functions[0].type",
            "use one of BEFORE_PUBLISH",
            id="type-unknown",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, language: TYPESCRIPT"),
            "functions[0].language",
            "the only language is JAVASCRIPT",
            id="language",
        ),
        pytest.param(
            b"packageId: p\nfunctions: []\n",
            "functions",
            "is empty; a package needs at least one function",
            id="empty-functions",
        ),
        pytest.param(
            b"packageId: p\n",
            "functions",
            "missing; list the package's functions",
            id="missing-functions",
        ),
        pytest.param(
            manifest_with("name: a, file: a.js"),
            "functions[0].type",
            "missing; give a function type",
            id="missing-type",
        ),
        pytest.param(
            b"packageId: p\nfunctions:\n"
            b"  - {name: Same, type: ON_REQUEST, file: a.js}\n"
            b"  - {name: Other, type: ON_REQUEST, file: b.js}\n"
            b"  - {name: Same, type: ON_INTERVAL, file: c.js}\n",
            "functions[2].name",
            "'Same' is already the name of functions[0]; function names must be unique",
            id="duplicate-function-names",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: ../x.js"),
            "functions[0].file",
            "'../x.js' leaves the package directory",
            id="file-dotdot",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: lib/../../x.js"),
            "functions[0].file",
            "leaves the package directory",
            id="file-dotdot-later",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: /etc/passwd"),
            "functions[0].file",
            "is absolute",
            id="file-absolute",
        ),
        pytest.param(
            manifest_with(r"name: a, type: ON_REQUEST, file: 'lib\x.js'"),
            "functions[0].file",
            "uses backslashes",
            id="file-backslash",
        ),
        pytest.param(
            manifest_with('name: a, type: ON_REQUEST, file: "a\\0.js"'),
            "functions[0].file",
            "contains a NUL character",
            id="file-nul",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: ''"),
            "functions[0].file",
            "must name a code file",
            id="file-empty",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: lib/.."),
            "functions[0].file",
            "does not name a file",
            id="file-dot",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, config: [1]"),
            "functions[0].config",
            "must be a mapping, not a list",
            id="config-list",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, config: {x: [1, .nan]}"),
            "functions[0].config.x[1]",
            "must be a finite number",
            id="config-nan",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, config: {x: {1: 2}}"),
            "functions[0].config.x[1]",
            "keys in config must be strings",
            id="config-int-key-nested",
        ),
        pytest.param(
            manifest_with("name: a, type: ON_REQUEST, file: a.js, config: {1: 2}"),
            "functions[0].config",
            "key 1 must be a string",
            id="config-int-key",
        ),
        pytest.param(b"1: x\n", "1", "keys must be strings", id="top-int-key"),
    ],
)
def test_an_invalid_manifest_fails_with_one_line_naming_the_field(
    data: bytes, field: str, fragment: str
) -> None:
    error = error_of(data)
    assert error.file == FILE
    assert error.field == field
    assert fragment in error.message


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(b"functions: [\n", "invalid YAML at line 2, column 1", id="malformed"),
        pytest.param(b"a: b: c\n", "invalid YAML at line 1, column 5", id="mapping-in-scalar"),
        pytest.param(
            b"packageId: &id p\nname: *id\n", "anchors ('&name') are not allowed", id="anchor"
        ),
        pytest.param(b"packageId: *id\n", "invalid YAML at line 1", id="undefined-alias"),
        pytest.param(b"<<: {packageId: p}\n", "merge keys ('<<') are not allowed", id="merge"),
        pytest.param(
            b"packageId: a\npackageId: b\n",
            "line 2, column 1: duplicate key 'packageId'",
            id="duplicate-key",
        ),
        pytest.param(b"a: 1\n---\nb: 2\n", "but found another document", id="two-documents"),
        pytest.param(b"[" * 200, "nested deeper than 64 levels", id="deep"),
        pytest.param(
            b"a: !!python/object:os.system x\n",
            "column 4: explicit tags ('!!python/object:os.system') are not allowed",
            id="python-tag",
        ),
        pytest.param(b"a: !!timestamp 2024-13-45\n", "('!!timestamp')", id="bad-timestamp"),
        pytest.param(b"a: !!binary aGk=\n", "('!!binary')", id="binary"),
        pytest.param(b"a: !!bool maybe\n", "('!!bool')", id="bool-tag"),
        pytest.param(b"a: !local x\n", "('!local')", id="local-tag"),
        pytest.param(b"a: \x01\n", "invalid YAML", id="control-character"),
        pytest.param(b"name: caf\xe9\n", "is not valid UTF-8 (byte 9)", id="latin-1"),
        pytest.param(b"\xef\xbb\xbfname: \xff\n", "(byte 9)", id="bom-offset"),
        pytest.param(b"", "is empty", id="empty"),
        pytest.param(b"# only a comment\n", "is empty", id="comment-only"),
        pytest.param(b"- a\n- b\n", "top level must be a mapping", id="list"),
        pytest.param(b"just text\n", "not a string", id="scalar"),
    ],
)
def test_unreadable_yaml_fails_with_one_line_naming_the_file(data: bytes, fragment: str) -> None:
    error = error_of(data)
    assert error.field is None
    assert fragment in error.message


def test_an_alias_bomb_is_refused_before_anything_is_expanded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    error = error_of("\n".join(lines).encode())
    assert "anchors ('&name') are not allowed" in error.message


@pytest.mark.parametrize("loader", [StrictSafeLoader, None], ids=["pure-python", "libyaml"])
def test_both_yaml_loaders_refuse_the_same_constructs(
    loader: type[StrictSafeLoader] | None,
) -> None:
    for text, fragment in [
        ("a: &x 1", "anchors"),
        ("a: [*x]", "alias"),
        ("<<: {a: 1}", "merge keys"),
        ("a: 1\na: 2", "duplicate key"),
        ("[" * 100, "nested deeper"),
    ]:
        with pytest.raises(Exception, match=fragment):
            load_yaml(text, loader=loader)
    assert load_yaml("d: 2024-01-01\nn: 1", loader=loader) == {"d": "2024-01-01", "n": 1}


def test_explicit_string_tags_are_allowed() -> None:
    data = manifest_with(
        "name: !!str 123, type: ON_REQUEST, file: a.js", top="packageId: !!str 7\n"
    )
    manifest = parse_manifest(data, FILE)
    assert (manifest.package_id, manifest.functions[0].name) == ("7", "123")


def test_config_that_json_cannot_carry_is_refused_even_when_built_in_python() -> None:
    with pytest.raises(ValidationError) as caught:
        FunctionManifest.model_validate(
            {"name": "a", "type": "ON_REQUEST", "file": "a.js", "config": {"x": [{1}]}}
        )
    error = caught.value.errors()[0]
    assert error["ctx"]["field"] == "config.x[0]"
    assert "a set cannot be sent as JSON" in error["msg"]


def test_a_manifest_over_the_size_limit_is_refused_before_parsing() -> None:
    error = error_of(GOOD + b"#" * 100, limits=LimitSettings(max_manifest_bytes=len(GOOD) + 10))
    assert "over the" in error.message
    assert f"{len(GOOD) + 100} bytes" in error.message


def test_an_unknown_key_is_reported_before_the_missing_key_it_hides() -> None:
    error = error_of(b"packageId: p\nfunction: []\n")
    assert error.field == "function"
    assert error.message == (
        "unknown key; did you mean 'functions'? (and 1 more problem)\n"
        "  functions: missing; list the package's functions (name, type, file)"
    )


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("a.js", "a.js"), ("./a.js", "a.js"), ("lib//x.js", "lib/x.js"), ("lib/../a.js", "a.js")],
)
def test_code_paths_are_normalised_lexically(raw: str, normalised: str) -> None:
    assert normalise_code_path(raw) == normalised


# -- build_package ---------------------------------------------------------------------------


def reader(files: dict[str, bytes], calls: list[str] | None = None) -> Callable[[str], bytes]:
    def read_file(path: str) -> bytes:
        if calls is not None:
            calls.append(path)
        if path not in files:
            raise ManifestError("", None, f"{path!r} does not exist in commit abc; add it")
        return files[path]

    return read_file


def test_build_package_reads_code_keeps_order_and_defaults_sort_order_to_position() -> None:
    manifest = parse_manifest(GOOD, FILE)
    calls: list[str] = []
    files = {"profanity-filter.js": b"\xef\xbb\xbfexport default 1;\r\n", "audit-log.js": b"x"}

    package = build_package(
        manifest,
        path="chat",
        manifest_file=FILE,
        read_file=reader(files, calls),
        tree_id="t1",
    )

    assert calls == ["profanity-filter.js", "audit-log.js"]
    assert package.path == "chat"
    assert package.tree_id == "t1"
    assert package.label == "550e8400-e29b-41d4-a716-446655440000"
    assert package.functions == (
        FunctionSpec(
            name="Profanity Filter",
            type="BEFORE_PUBLISH",
            code="export default 1;\r\n",
            sort_order=0,
            config={"inputChannel": "chat.*", "since": "2024-01-01"},
        ),
        FunctionSpec(name="Audit Log", type="AFTER_PUBLISH", code="x", sort_order=7),
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"a\x00b", "'audit-log.js' looks binary (it contains a NUL byte)"),
        (b"caf\xe9", "'audit-log.js' is not valid UTF-8 (byte 3)"),
        (b"x" * 11, "'audit-log.js' is 11 bytes, over the 10-byte limit"),
    ],
)
def test_unusable_code_fails_the_package_naming_the_manifest_field(
    content: bytes, fragment: str
) -> None:
    manifest = parse_manifest(GOOD, FILE)
    files = {"profanity-filter.js": b"ok", "audit-log.js": content}
    with pytest.raises(ManifestError) as caught:
        build_package(
            manifest,
            path="chat",
            manifest_file=FILE,
            read_file=reader(files),
            limits=LimitSettings(max_code_bytes=10),
        )
    assert caught.value.file == FILE
    assert caught.value.field == "functions[1].file"
    assert fragment in caught.value.message


def test_a_read_file_error_is_reattributed_to_the_field_that_named_the_file() -> None:
    manifest = parse_manifest(GOOD, FILE)
    with pytest.raises(ManifestError) as caught:
        build_package(
            manifest,
            path="chat",
            manifest_file=FILE,
            read_file=reader({"profanity-filter.js": b"ok"}),
        )
    assert str(caught.value) == (
        "chat/package.yaml: functions[1].file: 'audit-log.js' does not exist in commit abc; add it"
    )


def test_package_manifest_is_frozen_and_strict() -> None:
    manifest = parse_manifest(GOOD, FILE)
    assert isinstance(manifest, PackageManifest)
    with pytest.raises(ValueError, match="frozen"):
        manifest.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "package_id",
    ["../../packages", "abc?size=1&x=", "a/b", "p%2F", "x" * 65, "caf\u00e9", "a_b", "a.b"],
)
def test_a_package_id_that_could_leave_its_url_path_is_refused_in_one_line(
    package_id: str,
) -> None:
    top = f"packageId: {json.dumps(package_id)}\n"
    error = error_of(manifest_with("name: a, type: ON_REQUEST, file: a.js", top=top))
    assert error.field == "packageId"
    assert error.message.startswith(f"{package_id!r} is not a package id; ")
    assert "1 to 64 letters, digits and dashes" in error.message


@pytest.mark.parametrize(
    "package_id", ["550e8400-e29b-41d4-a716-446655440000", "p", "A-9", "x" * 64]
)
def test_a_package_id_of_letters_digits_and_dashes_is_accepted(package_id: str) -> None:
    top = f"packageId: {package_id}\n"
    parsed = parse_manifest(manifest_with("name: a, type: ON_REQUEST, file: a.js", top=top), FILE)
    assert parsed.package_id == package_id


def test_every_problem_of_a_manifest_is_shown_one_per_line() -> None:
    error = error_of(
        b"packageId: p\nfunctions:\n  - {name: a, type: NOPE, file: a.js, sortOrder: x}\n"
        b"  - {type: ON_REQUEST, file: b.js}\n"
    )
    lines = str(error).split("\n")
    assert lines[0].endswith("(and 2 more problems)")
    fields = [error.field, *(line.split(":")[0].strip() for line in lines[1:])]
    assert sorted(str(field) for field in fields) == [
        "functions[0].sortOrder",
        "functions[0].type",
        "functions[1].name",
    ]


TARGETS = "name: a, type: ON_REQUEST, file: a.js"


@pytest.mark.parametrize(
    ("extra", "environments", "pins"),
    [
        pytest.param("", None, (), id="neither"),
        pytest.param("environments: [staging]\n", ("staging",), (), id="one-environment"),
        pytest.param(
            "environments: [staging, qa]\npin: {production: v1.4.0, qa: v2}\n",
            ("staging", "qa"),
            (("production", "v1.4.0"), ("qa", "v2")),
            id="pins-sorted-by-environment",
        ),
        pytest.param("pin: {}\n", None, (), id="empty-pin"),
    ],
)
def test_environments_and_pins_are_carried_into_the_desired_package(
    extra: str, environments: tuple[str, ...] | None, pins: tuple[tuple[str, str], ...]
) -> None:
    parsed = parse_manifest(manifest_with(TARGETS, top=f"packageId: p\n{extra}"), FILE)
    package = build_package(
        parsed, path="chat", manifest_file=FILE, read_file=lambda _relative: b"code"
    )
    assert package.environments == environments
    assert package.pins == pins


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        pytest.param("environments: staging\n", "environments", "must be a list, not a string",
                     id="environments-scalar"),
        pytest.param("environments: []\n", "environments", "is empty", id="environments-empty"),
        pytest.param("environments: ['']\n", "environments[0]", "must not be empty",
                     id="environment-name-empty"),
        pytest.param("environments: [qa, qa]\n", "environments[1]", "'qa' is listed twice",
                     id="environment-twice"),
        pytest.param("environments: [1]\n", "environments[0]", "must be a string, not an integer",
                     id="environment-int"),
        pytest.param("pin: [production]\n", "pin", "must be a mapping, not a list",
                     id="pin-list"),
        pytest.param("pin: {production: ''}\n", "pin.production", "a revision name must not be",
                     id="pin-empty-revision"),
        pytest.param("pin: {production: 1}\n", "pin.production", "must be a string, not an",
                     id="pin-int-revision"),
        pytest.param("pin: {'': v1}\n", "pin", "an environment name must not be empty",
                     id="pin-empty-environment"),
        pytest.param("pins: {production: v1}\n", "pins", "did you mean 'pin'?", id="pins-typo"),
        pytest.param("environment: [qa]\n", "environment", "did you mean 'environments'?",
                     id="environment-typo"),
    ],
)  # fmt: skip
def test_bad_environments_or_pins_fail_the_manifest_in_one_line(
    extra: str, field: str, fragment: str
) -> None:
    error = error_of(manifest_with(TARGETS, top=f"packageId: p\n{extra}"))
    assert error.field == field
    assert fragment in error.message
