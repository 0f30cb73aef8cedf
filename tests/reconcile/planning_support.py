"""What the planner's tables build from: functions, remote revisions, a desired package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faas_gitops.content import STAMP_PREFIX, content_digest
from faas_gitops.models import DesiredPackage, FunctionSpec, RemoteRevision

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SHA = "0123456789abcdef0123456789abcdef01234567"


def fn(name: str = "f", **overrides: object) -> FunctionSpec:
    fields: dict[str, object] = {
        "name": name,
        "type": "BEFORE_PUBLISH",
        "code": "export default (r) => r.ok();",
        "language": "JAVASCRIPT",
        "sort_order": 0,
        "config": {"inputChannel": "chat.*"},
    }
    fields.update(overrides)
    return FunctionSpec(**fields)  # type: ignore[arg-type]


def rev(
    name: str,
    minutes: int,
    functions: tuple[FunctionSpec, ...] = (),
    *,
    stamp: tuple[FunctionSpec, ...] | None = None,
) -> RemoteRevision:
    """A remote revision created ``minutes`` after T0; ``stamp``: the content its description
    vouches for (none without)."""
    return RemoteRevision(
        id=f"id-{name}",
        package_id="p",
        name=name,
        created=T0 + timedelta(minutes=minutes),
        description=f"{STAMP_PREFIX}{content_digest(stamp)}" if stamp is not None else None,
        functions=functions,
    )


def package(*functions: FunctionSpec) -> DesiredPackage:
    return DesiredPackage(
        path="chat", package_id="p", name=None, description=None, functions=functions
    )
