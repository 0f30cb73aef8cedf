"""Inputs an attacker or a flaky network controls, through the real CLI and the emulator.

``--create-packages`` under a lost or 5xx answer, a directory name with control characters,
and a ``packageId`` made to escape ``/v2/faas``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.emulator.problems import ApiProblem
from faas_gitops.emulator.store import EmulatorStore
from tests.e2e.hardening.hardening_support import SyncCli, by_path, document
from tests.gitrepo import GitRepo
from tests.harness import API_KEY, SAMPLE_REPO, sample_repo

pytestmark = pytest.mark.slow

FRESH = "fresh-package"
MANIFEST = "name: {name}\nfunctions:\n  - name: Hello\n    type: ON_REQUEST\n    file: hello.js\n"
HOSTILE = "evil\nforged|row\x1b[31mred"


def with_package(repo: GitRepo, directory: str, manifest: str) -> GitRepo:
    repo.write(f"{directory}/package.yaml", manifest)
    repo.write(f"{directory}/hello.js", "export default (request, response) => response.send();\n")
    repo.commit(f"Add {directory!r}")
    return repo


class FailingFirstPackageCreate(EmulatorStore):
    """Answers the next ``failures`` package creates with a 503 before storing anything."""

    failures = 0

    def add_package(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise ApiProblem(503, "FAAS-500", "Service unavailable (forced before storing)")
        return super().add_package(name, *args, **kwargs)


def package_creates(records: list[Any]) -> int:
    return sum(1 for r in records if r.method == "POST" and r.path == "/v2/faas/packages")


def test_a_package_create_whose_answer_is_lost_is_adopted_by_name_not_created_twice(
    tmp_path: Path, hardened_cli: SyncCli
) -> None:
    repo = with_package(sample_repo(tmp_path / "repo"), FRESH, MANIFEST.format(name=FRESH))
    config = EmulatorConfig(api_key=API_KEY, fault_drop_after_commit=1.0)
    with serve_in_thread(config) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        run = hardened_cli(emulator, repo, "--output", "json", "--create-packages")
        assert run.code == 0, run.stderr
        fresh = by_path(run)[FRESH]
        assert fresh["status"] == "adopted"
        assert [p["name"] for p in emulator.store.packages()].count(FRESH) == 1
        assert package_creates(emulator.requests) == 1
        assert len(emulator.store.revisions(fresh["packageId"])) == 1


def test_a_5xx_package_create_that_stored_nothing_is_retried_and_creates_it_once(
    tmp_path: Path, hardened_cli: SyncCli
) -> None:
    repo = with_package(sample_repo(tmp_path / "repo"), FRESH, MANIFEST.format(name=FRESH))
    store = FailingFirstPackageCreate()
    store.seed_from(SAMPLE_REPO)
    store.failures = 1
    with serve_in_thread(EmulatorConfig(api_key=API_KEY), store) as emulator:
        run = hardened_cli(emulator, repo, "--output", "json", "--create-packages")
        assert run.code == 0, run.stderr
        fresh = by_path(run)[FRESH]
        assert fresh["status"] == "created"
        assert [p["name"] for p in store.packages()].count(FRESH) == 1
        assert package_creates(emulator.requests) == 2  # the 503, then the create
        creates = [
            r for r in emulator.requests if r.method == "POST" and r.path.endswith("/packages")
        ]
        assert [r.status for r in creates] == [503, emulator.config.create_status]
        assert "gave up" not in run.stderr


def test_control_characters_in_a_directory_name_are_escaped_in_every_human_output(
    tmp_path: Path, hardened_cli: SyncCli
) -> None:
    with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        evil = emulator.store.add_package("evil")
        manifest = f"packageId: {evil['id']}\n" + MANIFEST.format(name="evil")
        repo = with_package(sample_repo(tmp_path / "repo"), HOSTILE, manifest)
        escaped = "evil\\nforged|row\\x1b[31mred"

        text = hardened_cli(emulator, repo, "--output", "text", "--full-sync", log_format="console")
        assert text.code == 0, text.stderr
        for stream in (text.stdout, text.stderr):
            assert "\x1b" not in stream
            assert "forged|row" not in stream.replace(escaped, "").replace("\\|", "|")
        assert escaped in text.stdout
        assert not [line for line in text.stdout.splitlines() if line.startswith("forged")]
        assert "\\nforged" in text.stderr  # the console log names the path, escaped

        markdown = hardened_cli(emulator, repo, "--output", "markdown", "--full-sync")
        assert markdown.code == 0, markdown.stderr
        assert "\x1b" not in markdown.stdout
        rows = [line for line in markdown.stdout.splitlines() if "evil" in line]
        assert len(rows) == 1, markdown.stdout
        # unchanged, it is one code span in the line of unchanged packages, not a row of its own
        assert f"`{escaped}`" in rows[0].split(", ")

        raw = hardened_cli(emulator, repo, "--output", "json", "--full-sync")
        assert HOSTILE in {p["path"] for p in document(raw)["packages"]}
        assert json.loads(raw.stdout)  # still one JSON document


@pytest.mark.parametrize(
    ("package_id", "directory"), [("../../packages", "escape"), ("abc?size=1&x=", "inject")]
)
def test_a_package_id_that_is_not_an_id_fails_in_one_line_and_never_leaves_v2_faas(
    package_id: str, directory: str, tmp_path: Path, hardened_cli: SyncCli
) -> None:
    manifest = f"packageId: {json.dumps(package_id)}\n" + MANIFEST.format(name=directory)
    repo = with_package(sample_repo(tmp_path / "repo"), directory, manifest)
    with serve_in_thread(EmulatorConfig(api_key=API_KEY)) as emulator:
        emulator.store.seed_from(SAMPLE_REPO)
        run = hardened_cli(emulator, repo, "--output", "json", "--full-sync")
        assert run.code == 1
        error = by_path(run)[directory]["error"]
        assert f"{directory}/package.yaml" in error
        assert "packageId" in error
        assert "\n" not in error
        others = {p: o["status"] for p, o in by_path(run).items() if p != directory}
        assert set(others.values()) == {"created"}
        assert emulator.requests
        assert all(r.path.startswith("/v2/faas/") for r in emulator.requests)
        # Only the run's probe asks for a page of one, and only of the package list.
        assert all(
            r.path == "/v2/faas/packages"
            for r in emulator.requests
            if "size" in r.query and r.query["size"] == "1"
        )
