"""The API phase's practical floor: the same requests from a client that does nothing else.

    python -m benchmarks.bare_client URL KEY PACKAGES CONCURRENCY [revisions|environments]

``revisions`` (the default) lists the revisions of each synthetic package (the requests a cold
equal sync makes, without its probe). ``environments`` makes the requests of a cold sync that
is in sync on two environments (issue 25): the probe, the package inventory (page after page),
and per package its revision list, then one deployment list per revision the list counts as
running. Both use a plain ``httpx.AsyncClient`` configured as faas-gitops configures its own
(headers, a pool the size of the concurrency, at most that many requests in flight), reading
each answer and nothing more (``environments`` parses the revision list's JSON to know which
revisions run): no git, no planning, no ledger. ``benchmarks.sync`` runs it in its own process
next to the reconciler, so both pay the same emulator, loopback and machine; what the
reconciler's API phase costs above this is its own work per request. Prints one JSON document:
its own wall time (first request to last answer), CPU time and requests made.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from benchmarks.synthetic import package_id
from faas_gitops.api import DEFAULT_API_VERSION

PAGE = 100
NEWEST_FIRST = {"sort": "createdDttm,DESC", "page": "0", "size": str(PAGE)}


async def run(url: str, key: str, packages: int, concurrency: int, mode: str) -> tuple[float, int]:
    slots = asyncio.Semaphore(concurrency)
    headers = {"Authorization": key, "PubNub-Version": DEFAULT_API_VERSION}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    made = 0
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as client:

        async def get(path: str, params: dict[str, str] | None = None) -> httpx.Response:
            nonlocal made
            async with slots:
                answer = await client.get(path, params=params)
            answer.raise_for_status()
            made += 1
            return answer

        async def revisions_only(index: int) -> None:
            await get(f"/v2/faas/packages/{package_id(index)}/package-revisions")

        async def with_deployments(index: int) -> None:
            path = f"/v2/faas/packages/{package_id(index)}/package-revisions"
            items = (await get(path, NEWEST_FIRST)).json()["data"]
            running = [i["id"] for i in items if i.get("packageDeploymentsRunning")]
            for revision in running:
                path = f"/v2/faas/package-revisions/{revision}/package-deployments"
                await get(path, {"page": "0", "size": str(PAGE)})

        async def inventory() -> None:
            for page in range(10_000):
                params = {"page": str(page), "size": str(PAGE)}
                if len((await get("/v2/faas/packages", params)).json()["data"]) < PAGE:
                    return

        started = time.monotonic()
        if mode == "environments":
            await get("/v2/faas/packages", {"page": "0", "size": "1"})  # the probe
        one = with_deployments if mode == "environments" else revisions_only
        async with asyncio.TaskGroup() as group:
            if mode == "environments":
                group.create_task(inventory())
            for index in range(packages):
                group.create_task(one(index))
        return time.monotonic() - started, made


def main(argv: list[str]) -> int:
    url, key, packages, concurrency = argv[0], argv[1], int(argv[2]), int(argv[3])
    mode = argv[4] if len(argv) > 4 else "revisions"
    cpu = time.process_time()
    wall, made = asyncio.run(run(url, key, packages, concurrency, mode))
    print(json.dumps({"wall_s": wall, "cpu_s": time.process_time() - cpu, "requests": made}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
