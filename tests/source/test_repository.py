"""The Repository API the sync core uses: cheap refs, one package at a time, limits, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from faas_gitops.errors import SourceError
from faas_gitops.models import DesiredPackage, PackageFailure, PackageRef
from faas_gitops.settings import GitSettings, LimitSettings
from faas_gitops.source import Repository
from tests.gitrepo import GitRepo

pytestmark = pytest.mark.usefixtures("unfiltered_logs")


def manifest(package_id: str, *extra: str) -> str:
    return (
        f"packageId: {package_id}\n"
        + "".join(f"{line}\n" for line in extra)
        + "functions:\n  - {name: f, type: ON_REQUEST, file: f.js}\n"
    )


def add(git_repo: GitRepo, path: str, package_id: str, code: str = "export default 1;\n") -> None:
    git_repo.write(f"{path}/package.yaml", manifest(package_id))
    git_repo.write(f"{path}/f.js", code)


def test_package_refs_list_path_and_tree_id_without_reading_a_file(git_repo: GitRepo) -> None:
    add(git_repo, "chat", "p-1")
    add(git_repo, "pkgs/auth", "p-2")
    git_repo.write("pkgs/auth/README.md", "docs\n")
    sha = git_repo.commit()

    with Repository(git_repo.root) as repository:
        refs = repository.package_refs(sha)
        assert repository.blobs_read == 0

    chat_size = len(manifest("p-1")) + len("export default 1;\n")
    auth_size = len(manifest("p-2")) + len("export default 1;\n") + len("docs\n")
    assert refs == [
        PackageRef("chat", git_repo.tree_id("chat"), sha, size=chat_size),
        PackageRef("pkgs/auth", git_repo.tree_id("pkgs/auth"), sha, size=auth_size),
    ]


def test_read_package_reads_one_package_from_the_commit_not_the_working_tree(
    git_repo: GitRepo,
) -> None:
    add(git_repo, "chat", "p-1")
    add(git_repo, "other", "p-2")
    git_repo.write(
        "chat/package.yaml", manifest("p-1", "environments: [staging]", "pin: {prod: v1}")
    )
    sha = git_repo.commit()
    (git_repo.root / "chat" / "f.js").write_text("edited, not committed\n")

    with Repository(git_repo.root) as repository:
        chat = repository.package_refs(sha)[0]
        package = repository.read_package(chat)
        assert repository.blobs_read == 2  # the manifest and f.js of chat, nothing of other

    assert isinstance(package, DesiredPackage)
    assert package.functions[0].code == "export default 1;\n"
    assert package.environments == ("staging",)
    assert package.pins == (("prod", "v1"),)
    assert package.tree_id == chat.tree_id


def test_a_nested_package_fails_with_its_outer_package_named(git_repo: GitRepo) -> None:
    add(git_repo, "outer", "p-1")
    add(git_repo, "outer/inner", "p-2")
    sha = git_repo.commit()
    with Repository(git_repo.root) as repository:
        outer, inner = repository.package_refs(sha)
        result = repository.read_package(inner)
    assert inner.nested_in == "outer"
    assert inner.size == 0  # its bytes are counted in the outer package
    assert isinstance(result, PackageFailure)
    assert "package inside package 'outer'" in result.error
    assert outer.size > 0


def test_max_total_bytes_counts_every_package_s_files_on_every_sync(git_repo: GitRepo) -> None:
    limits = LimitSettings(max_total_bytes=300)
    add(git_repo, "a", "p-1", code="x" * 100)
    first = git_repo.commit()
    add(git_repo, "b", "p-2", code="y" * 150)
    second = git_repo.commit()

    with Repository(git_repo.root) as repository:
        assert len(repository.package_refs(first, limits=limits)) == 1
        # "a" is unchanged and would not be read again, yet its bytes still count.
        with pytest.raises(SourceError, match=r"more than 300 bytes \(--max-total-bytes\)"):
            repository.package_refs(second, limits=limits)
        with pytest.raises(SourceError, match="--max-total-bytes"):
            repository.package_refs(second, limits=limits)  # warm: same answer
        assert len(repository.package_refs(second, limits=limits, check_total=False)) == 2


def test_max_packages_is_checked_while_listing(git_repo: GitRepo) -> None:
    for index in range(3):
        add(git_repo, f"p{index}", f"p-{index}")
    sha = git_repo.commit()
    with Repository(git_repo.root) as repository, pytest.raises(SourceError, match="more than 2"):
        repository.package_refs(sha, limits=LimitSettings(max_packages=2))


def test_a_submodule_holding_a_package_is_skipped_with_one_warning(git_repo: GitRepo) -> None:
    add(git_repo, "inside", "p-9")
    with_package = git_repo.commit("the submodule's commit, also present here")
    git_repo.remove("inside")
    git_repo.write("README.md", "x\n")
    without_package = git_repo.commit("a commit without a package")
    add(git_repo, "chat", "p-1")
    git_repo.submodule_entry("vendor/pkg", with_package)
    git_repo.submodule_entry("vendor/plain", without_package)
    git_repo.submodule_entry("vendor/absent", "1" * 40)
    sha = git_repo.commit()

    with Repository(git_repo.root) as repository, capture_logs() as logs:
        refs = repository.package_refs(sha)
        repository.package_refs(sha)  # the daemon's next sync does not repeat it

    assert [ref.path for ref in refs] == ["chat"]
    warned = [(e["directory"], e["reason"]) for e in logs if e["event"] == "submodule_skipped"]
    assert sorted(directory for directory, _ in warned) == ["vendor/absent", "vendor/pkg"]
    assert all("is a git submodule" in reason for _, reason in warned)
    assert all(e["log_level"] == "warning" for e in logs if e["event"] == "submodule_skipped")


def test_a_symlinked_package_directory_is_skipped_with_one_warning(git_repo: GitRepo) -> None:
    add(git_repo, "real", "p-1")
    git_repo.symlink("alias", "real")
    git_repo.symlink("dangling", "nowhere")
    git_repo.write("docs/x.md", "x\n")
    git_repo.symlink("docs-link", "docs")
    sha = git_repo.commit()

    with Repository(git_repo.root) as repository, capture_logs() as logs:
        refs = repository.package_refs(sha)

    assert [ref.path for ref in refs] == ["real"]
    warned = [e for e in logs if e["event"] == "package_symlink_skipped"]
    assert [(e["directory"], e["log_level"]) for e in warned] == [("alias", "warning")]
    assert "symbolic link to the package directory 'real'" in warned[0]["reason"]


def test_open_follows_a_swapped_git_sync_link_on_fetch(tmp_path: Path) -> None:
    one, two = GitRepo(tmp_path / "one"), GitRepo(tmp_path / "two")
    add(one, "chat", "p-1")
    first = one.commit("in one")
    add(two, "chat", "p-2")
    second = two.commit("in two")
    link = tmp_path / "link"
    link.symlink_to(one.root)

    with Repository.open(GitSettings(repo=str(link)), tmp_path / "state") as repository:
        assert repository.resolve().sha == first
        tmp = tmp_path / "link.tmp"
        tmp.symlink_to(two.root)
        tmp.rename(link)
        repository.fetch()
        assert repository.resolve().sha == second
        assert repository.git_dirs() == ((two.root / ".git").resolve(),)


# -- the synced ref by name ---------------------------------------------------------------------


def named(repository: Repository, ref: str = "HEAD") -> tuple[str, str]:
    commit = repository.resolve(ref)
    return commit.name, commit.ref


@pytest.fixture
def tagged(git_repo: GitRepo) -> tuple[GitRepo, str, str]:
    """``main`` with two commits; the first tagged v1.2 (annotated) and v1.10, the tip bare."""
    add(git_repo, "chat", "p-1")
    first = git_repo.commit("first")
    git_repo.tag("v1.2", message="release").tag("v1.10")
    add(git_repo, "chat", "p-1", code="export default 2;\n")
    tip = git_repo.commit("second")
    return git_repo, first, tip


def test_head_on_a_branch_is_named_by_the_branch_never_head(
    tagged: tuple[GitRepo, str, str],
) -> None:
    git_repo, _, _ = tagged
    with Repository(git_repo.root) as repository:
        assert named(repository) == ("main", "main")
        assert named(repository, "refs/heads/main") == ("main", "main")


def test_a_ref_given_by_name_is_named_so(tagged: tuple[GitRepo, str, str]) -> None:
    git_repo, _, _ = tagged
    git_repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    with Repository(git_repo.root) as repository:
        assert named(repository, "v1.2") == ("v1.2", "v1.2")  # annotated, peeled to its commit
        assert named(repository, "origin/main") == ("origin/main", "origin/main")


def test_a_detached_head_is_named_by_the_highest_tag_at_its_commit(
    tagged: tuple[GitRepo, str, str],
) -> None:
    git_repo, first, _ = tagged
    git_repo.git("checkout", "--quiet", "--detach", first)
    with Repository(git_repo.root) as repository:
        assert named(repository) == ("v1.10", "v1.10")


def test_a_detached_head_without_a_tag_is_the_short_commit(
    tagged: tuple[GitRepo, str, str],
) -> None:
    git_repo, _, tip = tagged
    git_repo.git("checkout", "--quiet", "--detach", tip)
    with Repository(git_repo.root) as repository:
        assert named(repository) == ("", tip[:12])
        assert named(repository, tip) == ("", tip[:12])
        assert named(repository, "main~1") == ("v1.10", "v1.10")  # a sha-like ref: its tag


def test_a_mirror_is_named_by_the_remote_default_branch(
    tagged: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    git_repo, _, _ = tagged
    mirror = tmp_path / "mirror.git"
    git_repo.git("clone", "--quiet", "--mirror", str(git_repo.root), str(mirror))
    with Repository(mirror) as repository:
        assert repository.is_bare
        assert named(repository) == ("main", "main")
