"""The API phase's practical floor: the same requests from a client that does nothing else.

    python -m benchmarks.bare_client URL KEY PACKAGES CONCURRENCY

Lists the revisions of each synthetic package (the requests a cold equal sync makes, without
its probe) with a plain ``httpx.AsyncClient`` configured as faas-gitops configures its own
(headers, a pool the size of the concurrency, at most that many requests in flight), reading
each answer and nothing more: no git, no parsing, no planning, no ledger. ``benchmarks.sync``
runs it in its own process next to ``cold-equal``, so both pay the same emulator, loopback and
machine; what the reconciler's API phase costs above this is its own work per request.
Prints one JSON document: its own wall time (first request to last answer) and CPU time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from benchmarks.synthetic import package_id
from faas_gitops.api import DEFAULT_API_VERSION


async def list_every_package(url: str, key: str, packages: int, concurrency: int) -> float:
    slots = asyncio.Semaphore(concurrency)
    headers = {"Authorization": key, "PubNub-Version": DEFAULT_API_VERSION}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

        async def one(index: int) -> None:
            path = f"/v2/faas/packages/{package_id(index)}/package-revisions"
            async with slots:
                (await client.get(path)).raise_for_status()

        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for index in range(packages):
                group.create_task(one(index))
        return time.monotonic() - started


def main(argv: list[str]) -> int:
    url, key, packages, concurrency = argv[0], argv[1], int(argv[2]), int(argv[3])
    cpu = time.process_time()
    wall = asyncio.run(list_every_package(url, key, packages, concurrency))
    print(json.dumps({"wall_s": wall, "cpu_s": time.process_time() - cpu}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
