"""A synthetic monorepo of N packages for benchmarks and the request-count tests.

Every package ``pkg-NNNN`` has a fixed ``packageId`` (a UUID derived from its index), F
functions of about B bytes of JavaScript each, and a ``package.yaml`` naming them. A package's
content depends on its index and a per-package *version*, so "change package 7" is "bump its
version" and every other directory keeps its git tree id.

The repository is written with ``git fast-import`` (one process, no working tree, no index), so
1,000 packages x 3 functions commit in well under a second.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # the URL namespace
_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z; commits are one minute apart
_TYPES = ("BEFORE_PUBLISH", "AFTER_PUBLISH", "ON_REQUEST", "AFTER_PRESENCE", "BEFORE_SIGNAL")


def package_path(index: int) -> str:
    return f"pkg-{index:04d}"


def package_id(index: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"faas-gitops-benchmark/{index}"))


def function_code(index: int, function: int, version: int, code_bytes: int) -> str:
    """About ``code_bytes`` of plausible JavaScript, distinct per package, function, version."""
    head = (
        f"// package {index} function {function} version {version}\n"
        f"export default (request) => {{\n"
        f"  const tag = 'p{index}-f{function}-v{version}';\n"
    )
    line = "  request.message.trace = (request.message.trace || []).concat([tag]);\n"
    tail = "  return request.ok();\n};\n"
    body = line * max(0, (code_bytes - len(head) - len(tail)) // len(line))
    return head + body + tail


def package_files(
    index: int, *, functions: int, code_bytes: int, version: int = 0
) -> dict[str, bytes]:
    """The files of one package directory, keyed by repository path."""
    directory = package_path(index)
    manifest = [
        f"packageId: {package_id(index)}",
        f"description: Synthetic package {index}",
        "functions:",
    ]
    files: dict[str, bytes] = {}
    for number in range(functions):
        name = f"fn-{number}.js"
        manifest += [
            f"  - name: Function {number}",
            f"    type: {_TYPES[number % len(_TYPES)]}",
            f"    file: {name}",
            "    config:",
            f"      channel: pkg-{index}.fn-{number}",
        ]
        files[f"{directory}/{name}"] = function_code(index, number, version, code_bytes).encode()
    files[f"{directory}/package.yaml"] = ("\n".join(manifest) + "\n").encode()
    return files


@dataclass(slots=True)
class SyntheticRepo:
    """A git repository of ``packages`` synthetic packages; ``commit`` writes the next state."""

    root: Path
    packages: int
    functions: int = 3
    code_bytes: int = 4096
    versions: dict[int, int] = field(default_factory=dict)
    commits: int = 0
    extra: dict[str, bytes] = field(default_factory=dict)  # more files (``faas-gitops.yaml``)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--bare")

    @property
    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        return {
            **base,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
        }

    def git(self, *args: str, stdin: bytes | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=self.env,
            input=stdin,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode()

    def files(self) -> dict[str, bytes]:
        files: dict[str, bytes] = dict(self.extra)
        for index in range(self.packages):
            version = self.versions.get(index, 0)
            files.update(
                package_files(
                    index, functions=self.functions, code_bytes=self.code_bytes, version=version
                )
            )
        return files

    def change(self, indexes: list[int]) -> None:
        for index in indexes:
            self.versions[index] = self.versions.get(index, 0) + 1

    def commit(self, message: str = "synthetic packages") -> str:
        """Commit the current state of every package (its tree is exactly these files)."""
        self.commits += 1
        when = f"{_EPOCH + 60 * self.commits} +0000"
        who = "Benchmark <benchmark@example.com>"
        chunks = [
            b"commit refs/heads/main\n",
            f"author {who} {when}\ncommitter {who} {when}\n".encode(),
            f"data {len(message.encode())}\n{message}\n".encode(),
        ]
        if self.commits > 1:
            chunks.append(b"from refs/heads/main^0\n")
        chunks.append(b"deleteall\n")
        for path, data in self.files().items():
            chunks.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")
        self.git("fast-import", "--quiet", stdin=b"".join(chunks))
        if self.commits == 1:
            self.git("symbolic-ref", "HEAD", "refs/heads/main")
        return self.head()

    def tag(self, name: str) -> None:
        """A lightweight tag on ``main``'s tip."""
        self.git("tag", name, "refs/heads/main")

    def head(self) -> str:
        return self.git("rev-parse", "refs/heads/main").strip()


def seed_packages(store: Any, packages: int) -> None:
    """Create the remote packages (no revisions) in an emulator store."""
    for index in range(packages):
        store.add_package(f"synthetic-{index:04d}", package_id=package_id(index))


def endpoint_of(method: str, path: str) -> str:
    """``GET /v2/faas/packages/<uuid>/package-revisions`` -> ``GET .../packages/{id}/...``."""
    parts = path.rstrip("/").split("/")
    # /v2/faas/<collection>/<id>/<sub>: everything after the collection alternates id, name.
    for position in range(4, len(parts), 2):
        parts[position] = "{id}"
    return f"{method} {'/'.join(parts)}"


def count_by_endpoint(records: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        key = endpoint_of(record.method, record.path)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def summary_counts(document: Mapping[str, Any]) -> dict[str, int]:
    summary = document.get("summary")
    return dict(summary) if isinstance(summary, Mapping) else {}
