"""Broken repositories at the CLI: each fails with one clear line and the documented exit code,
never a traceback, and the healthy package beside it still syncs.

Unit-level manifest cases live in ``tests/source/test_manifest.py`` and ``test_source.py``; here
every case is a real git commit run through ``faas-gitops --sync-once`` in-process, so what is
checked is what a person sees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from faas_gitops import cli
from faas_gitops.emulator.server import RunningEmulator
from tests.e2e.reliability.reliability_support import (
    KEY,
    emulator_for,
    manifest,
    package_files,
    package_id,
)
from tests.gitrepo import GitRepo

EXIT_FAILED = 1
EXIT_USAGE = 2
BROKEN_ID = package_id("broken")
LAUGHS = "\n".join(
    ["packageId: " + BROKEN_ID, 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["functions:", "  - {name: Main, type: BEFORE_PUBLISH, file: main.js}", ""]
)


@dataclass(frozen=True)
class Case:
    """A broken package beside a healthy one; ``expect`` must all appear in its error."""

    id: str
    files: dict[str, str | bytes]
    expect: tuple[str, ...]
    args: tuple[str, ...] = ()
    symlinks: dict[str, str] = field(default_factory=dict)
    broken: str = "broken"
    healthy: tuple[str, ...] = ("healthy",)


def broken(text: str, **extra: str | bytes) -> dict[str, str | bytes]:
    return {
        "broken/package.yaml": text,
        **{f"broken/{k.replace('_', '.')}": v for k, v in extra.items()},
    }


def functions(body: str) -> str:
    return f"packageId: {BROKEN_ID}\nfunctions:\n{body}"


FN = "  - name: Main\n    type: BEFORE_PUBLISH\n    file: main.js\n"
JS = "export default (request) => request.ok();\n"

CASES = [
    Case("malformed-yaml", broken("packageId: x\nfunctions: [\n  - name: Main\n"),
         ("broken/package.yaml: invalid YAML",)),
    Case("billion-laughs", broken(LAUGHS, main_js=JS),
         ("broken/package.yaml", "anchors ('&name') are not allowed")),
    Case("manifest-over-64-KiB", broken(manifest(BROKEN_ID) + "#" + "x" * 66_000, main_js=JS),
         ("broken/package.yaml", "65536-byte manifest limit")),
    Case("unknown-key", broken(f"packageId: {BROKEN_ID}\nfuntions:\n{FN}", main_js=JS),
         ("broken/package.yaml: funtions: unknown key; did you mean 'functions'?",)),
    Case("wrong-type", broken(functions(FN + "    sortOrder: first\n"), main_js=JS),
         ("broken/package.yaml: functions[0].sortOrder",)),
    Case("functions-not-a-list", broken(f"packageId: {BROKEN_ID}\nfunctions: main.js\n"),
         ("broken/package.yaml: functions",)),
    Case("invalid-function-type", broken(functions(FN.replace("BEFORE_PUBLISH", "BEFORE_PUBLSH")),
                                         main_js=JS),
         ("broken/package.yaml: functions[0].type", "'BEFORE_PUBLSH' is not a function type")),
    Case("empty-function-list", broken(f"packageId: {BROKEN_ID}\nfunctions: []\n"),
         ("broken/package.yaml: functions: is empty",)),
    Case("duplicate-function-names", broken(functions(FN + FN), main_js=JS),
         ("broken/package.yaml: functions[1].name",)),
    Case("duplicate-yaml-key", broken(f"packageId: {BROKEN_ID}\npackageId: other\nfunctions:\n{FN}",
                                      main_js=JS),
         ("broken/package.yaml", "duplicate key 'packageId'")),
    Case("explicit-yaml-tag", broken(functions(FN + "    config: !!python/object:os.system {}\n"),
                                     main_js=JS),
         ("broken/package.yaml", "explicit tags")),
    Case("missing-file", broken(functions(FN)),
         ("broken/package.yaml: functions[0].file", "'main.js' does not exist in commit")),
    Case("file-climbs-out", broken(functions(FN.replace("main.js", "../healthy/main.js"))),
         ("broken/package.yaml: functions[0].file", "../healthy/main.js")),
    Case("absolute-file", broken(functions(FN.replace("main.js", "/etc/passwd"))),
         ("broken/package.yaml: functions[0].file", "is absolute")),
    Case("symlink-file-pointing-outside", broken(functions(FN)),
         ("broken/package.yaml: functions[0].file", "symbolic link"),
         symlinks={"broken/main.js": "../../../../../../etc/passwd"}),
    Case("symlinked-directory-pointing-outside",
         broken(functions(FN.replace("main.js", "lib/main.js"))),
         ("broken/package.yaml: functions[0].file", "symbolic link"),
         symlinks={"broken/lib": "../healthy"}),
    Case("manifest-is-a-symlink", {"broken/main.js": JS},
         ("broken/package.yaml", "symbolic link"),
         symlinks={"broken/package.yaml": "../healthy/package.yaml"}),
    Case("non-utf8-code", broken(functions(FN), main_js=b"// caf\xe9\nexport default 1;\n"),
         ("broken/package.yaml: functions[0].file", "UTF-8")),
    Case("binary-code", broken(functions(FN), main_js=b"\x7fELF\x02\x01\x01\x00" + bytes(64)),
         ("broken/package.yaml: functions[0].file", "binary")),
    Case("code-over-default-512-KiB",
         broken(functions(FN), main_js="// " + "x" * (512 * 1024) + "\n"),
         ("broken/package.yaml: functions[0].file", "over the 524288-byte limit")),
    Case("code-over-a-small-max-code-bytes", broken(functions(FN), main_js="//" + "y" * 300),
         ("broken/package.yaml: functions[0].file", "over the 200-byte limit for function code"),
         args=("--max-code-bytes", "200")),
    Case("nested-package",
         {"healthy/inner/package.yaml": manifest(package_id("inner")), "healthy/inner/main.js": JS},
         ("healthy/inner/package.yaml", "package inside package 'healthy'"),
         broken="healthy/inner"),
    Case("package-id-the-api-does-not-know", broken(functions(FN), main_js=JS),
         ("broken/package.yaml", f"packageId {BROKEN_ID} does not exist for this API key")),
]  # fmt: skip


@pytest.fixture
def healthy_api() -> Iterator[RunningEmulator]:
    with emulator_for(["healthy"]) as running:  # "broken" deliberately unknown to the API
        running.store.add_package("inner", "", package_id("inner"))
        yield running


RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def sync_repo(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    healthy_api: RunningEmulator,
) -> RunCli:
    """``faas-gitops --sync-once`` in-process against ``emulator``; returns (code, out, err)."""
    monkeypatch.setenv("FAAS_API_KEY", KEY)
    for name in ("FAAS_API_KEY_FILE", "FAAS_API_URL", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def run(git_repo: Path, *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(
            [
                "--sync-once",
                "--repo", str(git_repo),
                "--api-url", healthy_api.url,
                "--state-dir", str(tmp_path / "state"),
                "--log-format", "json",
                "--output", "json",
                *args,
            ]
        )  # fmt: skip
        out, err = capsys.readouterr()
        return code, out, err

    return run


def events(stderr: str, name: str) -> list[dict[str, Any]]:
    found = []
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == name:
            found.append(event)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_broken_package_fails_alone_with_one_line_naming_file_and_field(
    case: Case, git_repo: GitRepo, sync_repo: RunCli, healthy_api: RunningEmulator
) -> None:
    git_repo.write_many(dict(package_files("healthy")))
    git_repo.write_many(dict(case.files))
    for link, target in case.symlinks.items():
        git_repo.symlink(link, target)
    git_repo.commit("a healthy package and a broken one")

    code, out, err = sync_repo(git_repo.root, *case.args)

    assert code == EXIT_FAILED, err
    assert "Traceback" not in err
    assert "faas-gitops: error:" not in err  # a package failure is not a run failure
    packages = {p["path"]: p for p in json.loads(out)["packages"]}
    assert set(packages) == {*case.healthy, case.broken}
    for healthy in case.healthy:
        assert packages[healthy]["status"] == "created", packages[healthy]
    failed = packages[case.broken]
    assert failed["status"] == "failed"
    error = failed["error"]
    # One line per problem: the first names file and field, any further ones are indented.
    assert all(line.startswith("  ") for line in error.split("\n")[1:])
    for expected in case.expect:
        assert expected in error
    logged = [e for e in events(err, "package.failed") if e.get("path") == case.broken]
    assert [e["error"] for e in logged] == [error]
    created_for = [(r.body or {})["packageId"] for r in healthy_api.requests if r.method == "POST"]
    assert created_for == [package_id(name) for name in case.healthy]


@dataclass(frozen=True)
class RunCase:
    id: str
    files: Mapping[str, str | bytes]
    args: tuple[str, ...]
    expect: str


RUN_CASES = [
    RunCase("more-packages-than-max-packages",
            {**package_files("healthy"), **package_files("other")},
            ("--max-packages", "1"), "more than 1 packages (--max-packages)"),
    RunCase("more-bytes-than-max-total-bytes",
            {**package_files("healthy"), "healthy/main.js": "// " + "z" * 5000 + "\n"},
            ("--max-total-bytes", "4096"), "more than 4096 bytes (--max-total-bytes)"),
    RunCase("a-ref-that-does-not-exist", package_files("healthy"), ("--ref", "no-such-branch"),
            "--ref no-such-branch: not found"),
    RunCase("a-path-that-does-not-exist", package_files("healthy"), ("--path", "nowhere"),
            "--path nowhere: no such directory in commit"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", RUN_CASES, ids=[case.id for case in RUN_CASES])
def test_a_repository_wide_problem_exits_2_with_one_error_line_and_writes_nothing(
    case: RunCase, git_repo: GitRepo, sync_repo: RunCli, healthy_api: RunningEmulator
) -> None:
    git_repo.write_many(dict(case.files))
    git_repo.commit("packages")

    code, out, err = sync_repo(git_repo.root, *case.args)

    assert code == EXIT_USAGE, err
    assert "Traceback" not in err
    assert out == ""
    errors = [line for line in err.splitlines() if line.startswith("faas-gitops: error:")]
    assert len(errors) == 1, err
    assert case.expect in errors[0]
    assert [r for r in healthy_api.requests if r.method == "POST"] == []


def test_an_empty_repository_exits_2_saying_it_has_no_commits(
    git_repo: GitRepo, sync_repo: RunCli, healthy_api: RunningEmulator
) -> None:
    code, out, err = sync_repo(git_repo.root)

    assert code == EXIT_USAGE
    assert out == ""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("faas-gitops: error:")]
    assert len(errors) == 1
    assert "repository has no commits" in errors[0]
    assert healthy_api.requests == []


@pytest.mark.slow
def test_a_commit_without_any_package_exits_0_and_syncs_nothing(
    git_repo: GitRepo, sync_repo: RunCli, healthy_api: RunningEmulator
) -> None:
    git_repo.write("README.md", "no packages here\n").commit("docs only")

    code, out, err = sync_repo(git_repo.root)

    assert code == 0, err
    assert json.loads(out)["packages"] == []
    # Only the probe: the key and URL are proven even when no package is there to ask about.
    assert [(r.method, r.path, r.query) for r in healthy_api.requests] == [
        ("GET", "/v2/faas/packages", {"page": "0", "size": "1"})
    ]


@pytest.mark.slow
def test_every_broken_package_of_one_commit_fails_alone_while_the_healthy_one_syncs(
    git_repo: GitRepo, sync_repo: RunCli, healthy_api: RunningEmulator
) -> None:
    """All single-package cases in one commit: none of them stops or confuses another."""
    git_repo.write_many(dict(package_files("healthy")))
    expected: dict[str, tuple[str, ...]] = {}
    for case in CASES:
        if case.args or case.broken != "broken":
            continue
        directory = f"bad-{case.id}"
        for path, content in case.files.items():
            text = (
                content.replace("../healthy", "../../healthy")
                if isinstance(content, str)
                else content
            )
            git_repo.write(path.replace("broken/", f"{directory}/", 1), text)
        for link, target in case.symlinks.items():
            git_repo.symlink(link.replace("broken/", f"{directory}/", 1), target)
        expected[directory] = tuple(e.replace("broken/", f"{directory}/") for e in case.expect)
    git_repo.commit("one commit, many broken packages")

    code, out, err = sync_repo(git_repo.root)

    assert code == EXIT_FAILED, err
    assert "Traceback" not in err
    packages = {p["path"]: p for p in json.loads(out)["packages"]}
    assert packages.pop("healthy")["status"] == "created"
    assert set(packages) == set(expected)
    for directory, fragments in expected.items():
        assert packages[directory]["status"] == "failed"
        for fragment in fragments:
            assert fragment in packages[directory]["error"]
