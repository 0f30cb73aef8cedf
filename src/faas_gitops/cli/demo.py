"""``faas-gitops demo``: the whole product in a few seconds, with nothing to set up.

It starts the emulator on loopback, makes a throw-away git repository from ``sample-repo/``,
syncs it (deploying every package to staging), edits a function, commits and tags ``v1.1.0``,
shows the dry-run plan, syncs again (staging rolls over), promotes what runs on staging to
production and prints the history with correlation IDs. Everything it creates lives in a
temporary directory that is removed at the end; nothing is left running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from pydantic import ConfigDict

from faas_gitops import logs
from faas_gitops.cli.promote import PromoteOptions, promote_once
from faas_gitops.emulator import EmulatorConfig, serve_in_thread
from faas_gitops.options import CommandOptions, Opt, Part, add_options, parse
from faas_gitops.reconcile.run import sync_once
from faas_gitops.report import render, render_history
from faas_gitops.settings import (
    ApiSettings,
    DeploySettings,
    GitSettings,
    LogLevel,
    LogSettings,
    Settings,
)
from faas_gitops.state import Ledger

_SOURCE_SAMPLE = Path(__file__).resolve().parents[3] / "sample-repo"  # src/faas_gitops/cli/
EDITED_FILE = "chat-moderation/profanity-filter.js"


class DemoOptions(CommandOptions):
    """The demo's flags (no environment twins: a demo ignores a CI runner's variables)."""

    model_config = ConfigDict(title="demo")

    sample_repo: Annotated[str | None, Opt("--sample-repo", "packages to start from", "DIR")] = None
    log_level: Annotated[
        LogLevel, Opt("--log-level", "log level of the demo's own logs (stderr)")
    ] = "warning"


#: Every option of ``demo``, for completion.
PARTS: tuple[Part, ...] = (Part(DemoOptions),)


def find_sample_repo(explicit: str | None) -> Path | None:
    """``--sample-repo``, else ``./sample-repo``, else the one beside this source tree."""
    candidates = [Path(explicit)] if explicit else [Path("sample-repo"), _SOURCE_SAMPLE]
    return next((c for c in candidates if (c / "chat-moderation").is_dir()), None)


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "faas-gitops demo",
        "GIT_AUTHOR_EMAIL": "demo@example.invalid",
        "GIT_COMMITTER_NAME": "faas-gitops demo",
        "GIT_COMMITTER_EMAIL": "demo@example.invalid",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def _step(title: str) -> None:
    sys.stdout.write(f"\n=== {title}\n")
    sys.stdout.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faas-gitops demo",
        description="Run faas-gitops end to end against the embedded emulator, in seconds.",
    )
    add_options(parser, DemoOptions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(build_parser(), DemoOptions, sys.argv[1:] if argv is None else argv)
    logs.configure(args.log_level, "console")
    sample = find_sample_repo(args.sample_repo)
    if sample is None:
        sys.stderr.write(
            "faas-gitops: error: sample-repo/ not found; run from the project checkout or pass "
            "--sample-repo DIR\n"
        )
        return 2
    key = "demo-" + secrets.token_hex(16)
    logs.register_secret(key)
    with tempfile.TemporaryDirectory(prefix="faas-gitops-demo-") as tmp:
        return asyncio.run(_run(sample, Path(tmp), key))


async def _run(sample: Path, tmp: Path, key: str) -> int:
    repo = tmp / "repo"
    shutil.copytree(sample, repo, ignore=shutil.ignore_patterns("README.md"))
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", "Import the sample packages")
    _git(repo, "tag", "v1.0.0")

    config = EmulatorConfig(api_key=key, deploy_delay_ms=20, max_running_deployments=10)
    with serve_in_thread(config) as emulator:
        emulator.store.seed_from(repo)
        settings = Settings(
            git=GitSettings(repo=str(repo)),
            api=ApiSettings(url=emulator.url, key=key),
            log=LogSettings(level="warning"),
            state_dir=tmp / "state",
            # Syncs act on staging only, so production gets exactly what is promoted (a real
            # repository lets its v* tags deploy production; see faas-gitops.yaml).
            deploy=DeploySettings(environments=("staging",)),
        )
        sys.stdout.write(
            f"FaaS API emulator on {emulator.url}; git repository {repo}\n"
            f"(the same as: faas-gitops --sync-once --repo {repo} --api-url {emulator.url})\n"
        )
        _step("1. first sync: every package gets a revision named after the tag, on staging")
        first = await sync_once(settings)
        sys.stdout.write(render(first, "text", show_diff=False))

        _step(f"2. edit {EDITED_FILE}, commit, tag v1.1.0")
        edited = repo / EDITED_FILE
        edited.write_text(
            edited.read_text().replace('"heck"]', '"heck", "drat"]')
            if '"heck"]' in edited.read_text()
            else edited.read_text() + "\n// v1.1.0: stricter filter\n"
        )
        _git(repo, "commit", "--quiet", "-am", "Filter one more word")
        _git(repo, "tag", "v1.1.0")
        sys.stdout.write("git commit -am 'Filter one more word' && git tag v1.1.0\n")

        _step("3. dry run (what a pull request would show): nothing is written")
        plan = await sync_once(settings.model_copy(update={"dry_run": True}))
        sys.stdout.write(render(plan, "text", show_diff=True))

        _step("4. sync again: one new revision v1.1.0, rolled over on staging")
        second = await sync_once(settings)
        sys.stdout.write(render(second, "text", show_diff=False))

        _step("5. faas-gitops promote --from staging --to production: what runs on staging")
        promoted = await promote_once(
            settings.model_copy(update={"deploy": DeploySettings()}),
            PromoteOptions(source="staging", target="production"),
        )
        sys.stdout.write(render(promoted, "text", show_diff=False))

        _step("6. faas-gitops history: every sync with the API's correlation IDs")
        with Ledger.open_readonly(settings.state_dir) as ledger:
            sys.stdout.write(render_history(ledger.history(limit=20), "text"))
        posts = sum(1 for r in emulator.requests if r.method == "POST")
        sys.stdout.write(
            f"\n{len(emulator.requests)} API requests, {posts} of them creates. "
            "Done; the temporary repository and the emulator are gone.\n"
        )
    ok = first.ok and second.ok and promoted.ok and second.summary["created"] == 1
    return 0 if ok else 1
