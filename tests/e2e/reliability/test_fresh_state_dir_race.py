"""Eight ``--sync-once`` processes opening one state dir that does not exist yet, all at once.

They race to create the directory, the ledger and the caches, and then to create the same
revisions. SQLite's "database is locked" must be waited out, never taken for corruption (a file
moved aside while others hold it open loses their writes), so none may warn about it; and the
API sees exactly one revision per package, created (answered) for exactly one of them.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.reliability.journal_support import history, server_revisions
from tests.e2e.reliability.reliability_support import (
    clean_env,
    cli_argv,
    emulator_for,
    exit_codes,
    many_packages,
    package_names,
    reaped,
)
from tests.gitrepo import GitRepo

PACKAGES = 12
PROCESSES = 8


@pytest.mark.slow
def test_eight_processes_share_one_fresh_state_dir_without_lock_warnings_or_duplicates(
    tmp_path: Path,
) -> None:
    names = package_names(PACKAGES)
    state = tmp_path / "state"
    env = clean_env(tmp_path / "home")
    repo = GitRepo(tmp_path / "repo")
    repo.bulk_commit(many_packages(PACKAGES), "first")
    cwd = tmp_path
    with emulator_for(names, seed=31, latency_ms=5, latency_jitter_ms=5) as emulator:
        argv = cli_argv(
            "--sync-once", "--repo", str(repo.root), "--api-url", emulator.url,
            "--state-dir", str(state), "--concurrency", "4", "--log-format", "json",
            "--output", "json",
        )  # fmt: skip
        with reaped() as processes:
            for number in range(PROCESSES):
                with (
                    (tmp_path / f"{number}.out").open("wb") as out,
                    (tmp_path / f"{number}.err").open("wb") as err,
                ):
                    process = subprocess.Popen(
                        argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd
                    )
                processes.append(process)
            codes = exit_codes(processes)
        revisions = server_revisions(emulator, names)

    for number, code in enumerate(codes):
        log = (tmp_path / f"{number}.err").read_text(errors="replace")
        assert code == 0, f"process {number} exited {code}:\n{log}"
        assert "locked" not in log.lower(), f"process {number}:\n{log}"
        assert "unusable" not in log.lower(), f"process {number}:\n{log}"
        assert "Traceback" not in log, f"process {number}:\n{log}"
    assert all(len(ids) == 1 for ids in revisions.values()), revisions

    documents = [json.loads((tmp_path / f"{n}.out").read_text()) for n in range(PROCESSES)]
    claims = Counter(
        p["revisionId"] for d in documents for p in d["packages"] if p["status"] == "created"
    )
    # Every create was answered to exactly one process: each revision is claimed exactly once.
    assert claims == Counter({ids[0]: 1 for ids in revisions.values()})
    assert sum(d["summary"]["created"] for d in documents) == PACKAGES

    entries = history(state, env, tmp_path)
    assert len(entries) == PROCESSES * PACKAGES, "a process's rows are missing from the ledger"
    created = Counter(e["revisionId"] for e in entries if e["status"] == "created")
    assert created == claims
