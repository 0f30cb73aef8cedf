"""The pipelined ``cat-file`` reader against real repositories: one round trip per batch, with
the same answers (and refusals) as reading one object at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from faas_gitops.errors import SourceError
from faas_gitops.source import Repository
from faas_gitops.source.batch import MAX_BATCH, CatFileBatch
from tests.gitrepo import GitRepo


def blob_ids(repo: GitRepo, *paths: str) -> list[bytes]:
    return [bytes.fromhex(repo.git("rev-parse", f"HEAD:{path}").strip()) for path in paths]


def test_a_batch_answers_every_object_in_order_and_only_measures_those_over_the_limit(
    tmp_path: Path,
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("small.js", "export default 1;\n").write("big.js", "x" * 5000).commit()
    small, big = blob_ids(repo, "small.js", "big.js")
    batch = CatFileBatch(repo.root / ".git")
    try:
        answers = dict(batch.fetch([small, big, small], limit=1000))
        # The conversation is still in step after draining the big one: ask again.
        again = dict(batch.fetch([big], limit=10_000))
    finally:
        batch.close()

    assert list(answers) == [small, big]  # duplicates asked once
    assert answers[small].data == b"export default 1;\n"
    assert (answers[big].size, answers[big].data) == (5000, None)
    assert again[big].data == b"x" * 5000


@pytest.mark.slow
def test_more_objects_than_one_pipe_holds_are_split_into_batches(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    count = MAX_BATCH + 10
    repo.bulk_commit({f"f{index}.js": f"// {index}\n".encode() for index in range(count)})
    shas = blob_ids(repo, *(f"f{index}.js" for index in range(count)))
    batch = CatFileBatch(repo.root / ".git")
    try:
        answers = dict(batch.fetch(shas, limit=100))
    finally:
        batch.close()
    assert [answers[sha].data for sha in shas] == [f"// {i}\n".encode() for i in range(count)]


def test_a_missing_object_is_a_source_error_naming_fsck(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("a.js", "1").commit()
    batch = CatFileBatch(repo.root / ".git")
    try:
        with pytest.raises(SourceError, match="git fsck"):
            list(batch.fetch([b"\x01" * 20, *blob_ids(repo, "a.js")], limit=100))
    finally:
        batch.close()


def test_a_chunk_of_packages_reads_like_one_package_at_a_time(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    for index in range(5):
        repo.write(
            f"p{index}/package.yaml",
            f"name: p{index}\nfunctions:\n  - {{name: f, type: BEFORE_PUBLISH, file: f.js}}\n",
        )
        repo.write(f"p{index}/f.js", f"export default {index};\n")
    repo.write(
        "bad/package.yaml",
        "name: bad\nfunctions:\n  - {name: f, type: BEFORE_PUBLISH, file: no.js}\n",
    )
    repo.commit()
    with Repository(repo.root) as source:
        refs = source.package_refs(source.resolve("HEAD"))
        together = source.read_packages(refs)
    with Repository(repo.root) as source:
        refs = source.package_refs(source.resolve("HEAD"))
        one_by_one = [source.read_package(ref) for ref in refs]
    assert together == one_by_one
    assert "no.js" in str(together[0])  # "bad" sorts first and fails alone
