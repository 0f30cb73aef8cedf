"""The git edge, against real repositories built in tmp_path: refs, tags, trees, cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from faas_gitops.errors import SourceError
from faas_gitops.models import CommitInfo, DesiredPackage, PackageFailure
from faas_gitops.settings import LimitSettings
from faas_gitops.source import Repository, sort_tags, version_key
from faas_gitops.source.limits import DEFAULT_LIMITS, SizeLimits
from tests.gitrepo import GitRepo, isolated_git_env


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """GitPython's own git calls must not see the developer's git config either."""
    for key, value in isolated_git_env(tmp_path / "home").items():
        monkeypatch.setenv(key, value)


def manifest(package_id: str = "p-1", *, files: tuple[str, ...] = ("main.js",)) -> str:
    functions = "".join(
        f"  - name: F{index}\n    type: BEFORE_PUBLISH\n    file: {file}\n"
        for index, file in enumerate(files)
    )
    return f"packageId: {package_id}\nfunctions:\n{functions}"


def add_package(
    git_repo: GitRepo, path: str, package_id: str, *, files: tuple[str, ...] = ("main.js",)
) -> GitRepo:
    git_repo.write(f"{path}/package.yaml", manifest(package_id, files=files))
    for file in files:
        git_repo.write(f"{path}/{file}", f"export default (request) => request.ok(); // {path}\n")
    return git_repo


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything read from one commit: valid packages and the ones that failed to load."""

    commit: CommitInfo
    packages: tuple[DesiredPackage, ...]
    failures: tuple[PackageFailure, ...] = ()


def read_all(
    source: Repository, commit: CommitInfo, path: str = "", limits: SizeLimits = DEFAULT_LIMITS
) -> DesiredState:
    """Every package of the commit, the way a full sync reads them: refs, then each package."""
    items = [source.read_package(ref, limits) for ref in source.package_refs(commit, path, limits)]
    return DesiredState(
        commit=commit,
        packages=tuple(item for item in items if isinstance(item, DesiredPackage)),
        failures=tuple(item for item in items if isinstance(item, PackageFailure)),
    )


def read(
    git_repo: GitRepo, ref: str = "HEAD", path: str = "", limits: SizeLimits = DEFAULT_LIMITS
) -> DesiredState:
    with Repository(git_repo.root) as source:
        return read_all(source, source.resolve(ref), path, limits)


def paths(state: DesiredState) -> list[str]:
    return [package.path for package in state.packages]


def only_failure(state: DesiredState) -> PackageFailure:
    assert len(state.failures) == 1, state.failures
    return state.failures[0]


# -- reading packages ------------------------------------------------------------------------


def test_packages_are_read_from_the_commit_sorted_by_path_with_their_tree_ids(
    git_repo: GitRepo,
) -> None:
    add_package(git_repo, "zeta", "p-z")
    add_package(git_repo, "alpha", "p-a", files=("a.js", "lib/b.js"))
    add_package(git_repo, "group/beta", "p-b")
    git_repo.write("README.md", "not a package\n")
    git_repo.commit("three packages")

    state = read(git_repo)

    assert paths(state) == ["alpha", "group/beta", "zeta"]
    assert state.failures == ()
    alpha = state.packages[0]
    assert alpha.package_id == "p-a"
    assert alpha.tree_id == git_repo.tree_id("alpha")
    assert [(f.name, f.sort_order, f.code) for f in alpha.functions] == [
        ("F0", 0, "export default (request) => request.ok(); // alpha\n"),
        ("F1", 1, "export default (request) => request.ok(); // alpha\n"),
    ]
    assert state.commit.sha == git_repo.head()
    assert state.commit.subject == "three packages"


def test_a_package_at_the_repository_root_has_the_path_dot(git_repo: GitRepo) -> None:
    add_package(git_repo, ".", "root")
    git_repo.commit()
    state = read(git_repo)
    assert paths(state) == ["."]
    assert state.packages[0].tree_id == git_repo.tree_id("")


def test_only_the_commit_is_read_never_the_working_tree(git_repo: GitRepo) -> None:
    add_package(git_repo, "chat", "p-1")
    git_repo.commit()
    git_repo.write("chat/main.js", "uncommitted edit\n")
    add_package(git_repo, "draft", "p-2")
    (git_repo.root / "chat" / "package.yaml").unlink()

    state = read(git_repo)

    assert paths(state) == ["chat"]
    assert state.packages[0].functions[0].code.endswith("// chat\n")


def test_an_older_commit_can_be_read_by_its_sha(git_repo: GitRepo) -> None:
    add_package(git_repo, "chat", "p-1")
    first = git_repo.commit("first")
    add_package(git_repo, "more", "p-2")
    git_repo.commit("second")
    assert paths(read(git_repo, first)) == ["chat"]


def test_dot_directories_are_skipped_everywhere(git_repo: GitRepo) -> None:
    add_package(git_repo, "chat", "p-1")
    add_package(git_repo, ".github/actions/x", "hidden-1")
    add_package(git_repo, "chat/.drafts/next", "hidden-2")
    git_repo.commit()
    state = read(git_repo)
    assert paths(state) == ["chat"]
    assert state.failures == ()


def test_path_limits_the_read_to_one_directory(git_repo: GitRepo) -> None:
    add_package(git_repo, "functions/chat", "p-1")
    add_package(git_repo, "functions/hooks", "p-2")
    add_package(git_repo, "elsewhere", "p-3")
    git_repo.commit()
    assert paths(read(git_repo, path="functions")) == ["functions/chat", "functions/hooks"]
    assert paths(read(git_repo, path="./functions/")) == ["functions/chat", "functions/hooks"]
    assert paths(read(git_repo, path="functions/chat")) == ["functions/chat"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("nope", "--path nope: no such directory in commit "),
        ("functions/chat/main.js", "--path functions/chat/main.js: is not a directory"),
        ("../outside", "--path ../outside: must be a directory inside the repository"),
    ],
)
def test_a_path_that_is_not_a_directory_in_the_commit_fails_the_read(
    git_repo: GitRepo, path: str, message: str
) -> None:
    add_package(git_repo, "functions/chat", "p-1")
    git_repo.commit()
    with pytest.raises(SourceError, match="^" + message.replace(".", r"\.")):
        read(git_repo, path=path)


@pytest.mark.usefixtures("unfiltered_logs")
def test_a_misnamed_package_yml_is_ignored_with_a_warning(git_repo: GitRepo) -> None:
    git_repo.write("chat/package.yml", manifest())
    add_package(git_repo, "ok", "p-2")
    git_repo.commit()
    with capture_logs() as logs:
        state = read(git_repo)
    assert paths(state) == ["ok"]
    assert {"event": "manifest_misnamed", "path": "chat/package.yml"}.items() <= logs[0].items()


# -- one bad package fails alone -----------------------------------------------------------


def build_bad(git_repo: GitRepo, case: str) -> None:  # noqa: PLR0912 - one branch per case
    """Set up ``bad/`` in the way ``case`` names, next to a healthy ``good/`` package."""
    add_package(git_repo, "good", "p-good")
    if case == "missing-file":
        git_repo.write("bad/package.yaml", manifest("p-bad", files=("main.js", "missing.js")))
        git_repo.write("bad/main.js", "ok")
    elif case == "symlink-file":
        add_package(git_repo, "bad", "p-bad")
        git_repo.symlink("bad/main.js", "../good/main.js")
    elif case == "symlink-dir":
        add_package(git_repo, "bad", "p-bad", files=("lib/x.js",))
        git_repo.remove("bad/lib").symlink("bad/lib", "../good")
    elif case == "submodule":
        git_repo.write("bad/package.yaml", manifest("p-bad"))
        git_repo.submodule_entry("bad/main.js")
    elif case == "directory":
        git_repo.write("bad/package.yaml", manifest("p-bad"))
        git_repo.write("bad/main.js/inner.js", "x")
    elif case == "non-utf8":
        add_package(git_repo, "bad", "p-bad")
        git_repo.write("bad/main.js", b"// caf\xe9\n")
    elif case == "binary":
        add_package(git_repo, "bad", "p-bad")
        git_repo.write("bad/main.js", b"\x7fELF\x00\x01")
    elif case == "too-big":
        add_package(git_repo, "bad", "p-bad")
        git_repo.write("bad/main.js", "x" * 2000)
    elif case == "through-a-file":
        git_repo.write("bad/package.yaml", manifest("p-bad", files=("main.js/x.js",)))
        git_repo.write("bad/main.js", "x")
    elif case == "manifest-symlink":
        git_repo.write("bad/real.yaml", manifest("p-bad")).write("bad/main.js", "x")
        git_repo.symlink("bad/package.yaml", "real.yaml")
    elif case == "manifest-directory":
        git_repo.write("bad/package.yaml/x", "x")
    elif case == "manifest-too-big":
        git_repo.write("bad/package.yaml", manifest("p-bad") + "#" * 3000).write("bad/main.js", "x")
    elif case == "malformed":
        git_repo.write("bad/package.yaml", "functions: [\n")
    elif case == "alias":
        git_repo.write("bad/package.yaml", "packageId: &x p\nname: *x\n")
    elif case == "unknown-key":
        git_repo.write("bad/package.yaml", manifest("p-bad").replace("functions", "functons"))
    elif case == "nested":
        add_package(git_repo, "bad", "p-outer")
        add_package(git_repo, "bad/inner", "p-inner")
    else:  # pragma: no cover - a typo in the table below
        raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "failed", "error", "package_id"),
    [
        (
            "missing-file",
            "bad",
            "bad/package.yaml: functions[1].file: 'missing.js' does not exist in commit {short}; "
            "add it or fix the path",
            "p-bad",
        ),
        (
            "symlink-file",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' is a symbolic link; "
            "faas-gitops reads only regular files",
            "p-bad",
        ),
        (
            "symlink-dir",
            "bad",
            "bad/package.yaml: functions[0].file: 'lib' is a symbolic link; "
            "faas-gitops reads only regular files",
            "p-bad",
        ),
        (
            "submodule",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' is a submodule; "
            "faas-gitops reads only regular files",
            "p-bad",
        ),
        (
            "directory",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' is a directory; name a regular file",
            "p-bad",
        ),
        (
            "non-utf8",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' is not valid UTF-8 (byte 6); "
            "save it as UTF-8",
            "p-bad",
        ),
        (
            "binary",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' looks binary (it contains a NUL "
            "byte); function code must be UTF-8 text",
            "p-bad",
        ),
        (
            "too-big",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js' is 2000 bytes, over the 1024-byte "
            "limit for function code; shrink it (or raise --max-code-bytes)",
            "p-bad",
        ),
        (
            "through-a-file",
            "bad",
            "bad/package.yaml: functions[0].file: 'main.js/x.js' does not exist in commit "
            "{short}; add it or fix the path",
            "p-bad",
        ),
        (
            "manifest-symlink",
            "bad",
            "bad/package.yaml: is a symbolic link; faas-gitops reads only regular files",
            None,
        ),
        (
            "manifest-directory",
            "bad",
            "bad/package.yaml: is a directory; name a regular file",
            None,
        ),
        (
            "manifest-too-big",
            "bad",
            "bad/package.yaml: is {manifest_size} bytes, over the 2048-byte manifest limit; "
            "a manifest only lists functions, keep code in the files it names",
            None,
        ),
        (
            "malformed",
            "bad",
            "bad/package.yaml: invalid YAML at line 2, column 1: while parsing a flow node; "
            "did not find expected node content",
            None,
        ),
        (
            "alias",
            "bad",
            "bad/package.yaml: invalid YAML at line 1, column 12: anchors ('&name') are not "
            "allowed in manifests",
            None,
        ),
        (
            "unknown-key",
            "bad",
            "bad/package.yaml: functons: unknown key; did you mean 'functions'? "
            "(and 1 more problem)\n  functions: missing; list the package's functions "
            "(name, type, file)",
            None,
        ),
        (
            "nested",
            "bad/inner",
            "bad/inner/package.yaml: package inside package 'bad'; move it out or remove its "
            "package.yaml",
            "p-inner",
        ),
    ],
)
def test_a_bad_package_fails_alone_with_one_line_naming_file_and_field(
    git_repo: GitRepo, case: str, failed: str, error: str, package_id: str | None
) -> None:
    build_bad(git_repo, case)
    sha = git_repo.commit(case)

    state = read(git_repo, limits=LimitSettings(max_code_bytes=1024, max_manifest_bytes=2048))

    failure = only_failure(state)
    assert failure == PackageFailure(
        path=failed,
        error=error.format(short=sha[:12], manifest_size=len(manifest("p-bad")) + 3000),
        package_id=package_id,
    )
    expected = ["bad", "good"] if case == "nested" else ["good"]
    assert paths(state) == expected


def test_a_nested_package_with_a_bad_manifest_reports_the_nesting_first(git_repo: GitRepo) -> None:
    add_package(git_repo, "outer", "p-outer")
    git_repo.write("outer/inner/package.yaml", "not: [valid\n")
    git_repo.commit()
    failure = only_failure(read(git_repo))
    assert failure.error == (
        "outer/inner/package.yaml: package inside package 'outer'; "
        "move it out or remove its package.yaml"
    )


def test_a_root_package_makes_every_other_package_nested(git_repo: GitRepo) -> None:
    add_package(git_repo, ".", "root")
    add_package(git_repo, "chat", "p-chat")
    git_repo.commit()
    state = read(git_repo)
    assert paths(state) == ["."]
    assert only_failure(state).error.startswith("chat/package.yaml: package inside package '.'")


# -- repository-wide limits ------------------------------------------------------------------


def test_more_packages_than_max_packages_fails_the_whole_read(git_repo: GitRepo) -> None:
    for index in range(3):
        add_package(git_repo, f"p{index}", f"id-{index}")
    git_repo.commit()
    with pytest.raises(SourceError, match=r"more than 2 packages \(--max-packages\)"):
        read(git_repo, limits=LimitSettings(max_packages=2))


def test_more_bytes_than_max_total_bytes_fails_the_whole_read(git_repo: GitRepo) -> None:
    for index in range(3):
        add_package(git_repo, f"p{index}", f"id-{index}")
    git_repo.commit()
    with pytest.raises(SourceError, match=r"more than 200 bytes \(--max-total-bytes\)"):
        read(git_repo, limits=LimitSettings(max_total_bytes=200))


# -- refs and tags ---------------------------------------------------------------------------


def test_tags_on_the_commit_are_listed_highest_version_first(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "1")
    first = git_repo.commit("first")
    git_repo.tag("v0.1.0")
    git_repo.write("a.txt", "2")
    git_repo.commit("release")
    git_repo.tag("v1.9.0").tag("v1.10.0", message="annotated").tag("v1.10.0-rc1")
    git_repo.tag("v1.2.0", message="annotated too").tag("nightly")

    with Repository(git_repo.root) as source:
        assert source.resolve().tags == ("v1.10.0", "v1.10.0-rc1", "v1.9.0", "v1.2.0", "nightly")
        assert source.resolve("v1.10.0").tags == source.resolve().tags
        assert source.resolve(first).tags == ("v0.1.0",)
        assert source.resolve(first[:7]).sha == first


def test_an_untagged_commit_has_no_tags(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "1")
    git_repo.commit()
    git_repo.tag("v1.0.0")
    git_repo.write("a.txt", "2")
    git_repo.commit()
    with Repository(git_repo.root) as source:
        assert source.resolve().tags == ()


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["v1.9.0", "v1.10.0"], ["v1.10.0", "v1.9.0"]),
        (["v1.0.0-rc1", "v1.0.0", "v1.0.0-beta"], ["v1.0.0", "v1.0.0-rc1", "v1.0.0-beta"]),
        (["1.0", "1.0.1", "1.0.0"], ["1.0.1", "1.0.0", "1.0"]),
        (["release-2", "release-10", "release-9"], ["release-10", "release-9", "release-2"]),
        (["latest", "v2", "stable", "v10"], ["v10", "v2", "stable", "latest"]),
    ],
)
def test_tags_sort_as_versions_not_as_text(tags: list[str], expected: list[str]) -> None:
    assert list(sort_tags(tags)) == expected


def test_version_key_compares_digit_runs_as_numbers() -> None:
    assert version_key("v1.10.0") > version_key("v1.9.0")
    assert version_key("v2") > version_key("v1.99")


def test_an_unknown_ref_is_a_source_error_naming_it(git_repo: GitRepo) -> None:
    git_repo.write("a.txt", "1")
    git_repo.commit()
    with Repository(git_repo.root) as source:
        for ref in ("no-such-branch", "--all", "HEAD~5"):
            with pytest.raises(SourceError, match=f"^--ref {ref}: not found in "):
                source.resolve(ref)


def test_a_bulk_commit_fixture_is_read_like_any_other(git_repo: GitRepo) -> None:
    git_repo.bulk_commit({"chat/package.yaml": manifest().encode(), "chat/main.js": b"x"})
    git_repo.bulk_commit({"hooks/package.yaml": manifest().encode(), "hooks/main.js": b"y"})
    state = read(git_repo)
    assert paths(state) == ["hooks"]
    assert state.packages[0].functions[0].code == "y"


def test_an_empty_repository_says_it_has_no_commits(git_repo: GitRepo) -> None:
    with Repository(git_repo.root) as source, pytest.raises(SourceError, match="has no commits"):
        source.resolve()


@pytest.mark.parametrize("kind", ["plain-directory", "missing", "a-file"])
def test_something_that_is_not_a_repository_is_a_source_error(
    tmp_path: Path, git_repo: GitRepo, kind: str
) -> None:
    git_repo.write("sub/a.txt", "1")
    git_repo.commit()
    target = {
        "plain-directory": tmp_path,
        "missing": tmp_path / "missing",
        "a-file": git_repo.root / "sub" / "a.txt",
    }[kind]
    with pytest.raises(SourceError, match=f"^--repo {target}: "):
        Repository(target)


def test_a_directory_inside_a_worktree_opens_the_repository_root_as_git_does(
    git_repo: GitRepo,
) -> None:
    add_package(git_repo, "packages/chat", "p-1")
    add_package(git_repo, "other", "p-2")
    git_repo.commit()

    with Repository(git_repo.root / "packages" / "chat") as source:
        whole = read_all(source, source.resolve())
        below = read_all(source, source.resolve(), "packages")

    assert [p.path for p in whole.packages] == ["other", "packages/chat"]
    assert [p.path for p in below.packages] == ["packages/chat"]


def test_a_bare_repository_can_be_read(tmp_path: Path, git_repo: GitRepo) -> None:
    add_package(git_repo, "chat", "p-1")
    git_repo.commit()
    git_repo.tag("v1.0.0", message="first")
    bare = tmp_path / "bare.git"
    git_repo.git("clone", "--quiet", "--bare", str(git_repo.root), str(bare))
    with Repository(bare) as source:
        commit = source.resolve()
        assert commit.tags == ("v1.0.0",)
        assert [p.path for p in read_all(source, commit).packages] == ["chat"]


# -- performance -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_thousand_packages_are_read_in_well_under_a_second_and_a_half_of_cpu(
    git_repo: GitRepo,
) -> None:
    code = "// a line of function code, padded to a realistic length ...........\n" * 58
    files: dict[str, bytes] = {}
    for index in range(1000):
        root = f"packages/p{index:04d}"
        files[f"{root}/package.yaml"] = manifest(
            f"id-{index}", files=("a.js", "b.js", "c.js")
        ).encode()
        for name in ("a.js", "b.js", "c.js"):
            files[f"{root}/{name}"] = f"{code}// {index} {name}\n".encode()
    git_repo.bulk_commit(files, "a thousand packages")

    with Repository(git_repo.root) as source:
        commit = source.resolve()
        state = read_all(source, commit)

    assert len(state.packages) == 1000
    assert state.failures == ()
    assert len(state.packages[0].functions[0].code) > 4000
