"""The check over every plan before writing is a pure step: new values out, inputs untouched."""

from __future__ import annotations

from faas_gitops.models import CommitInfo, DesiredPackage, FunctionSpec, Outcome, Status
from faas_gitops.reconcile import plan as planning
from faas_gitops.reconcile.checks import Planned, refuse_shared_targets
from faas_gitops.reconcile.remote import RemoteState

COMMIT = CommitInfo("a" * 40, "Two directories")
FUNCTION = FunctionSpec("f", "BEFORE_PUBLISH", "export default 1;")


def planned(path: str, package_id: str) -> Planned:
    desired = DesiredPackage(path, package_id, None, None, (FUNCTION,))
    plan = planning.plan_package(
        desired, remote_package_id=package_id, commit=COMMIT, revisions=(), latest_functions=None
    )
    return Planned(desired, RemoteState(package_id), plan)


def test_two_directories_aimed_at_one_package_are_refused_and_the_inputs_are_left_alone() -> None:
    plans = (planned("a", "p1"), planned("b", "p1"), planned("c", "p2"))
    known = {"d": Outcome("d", Status.UNCHANGED, package_id="p2")}

    checked = refuse_shared_targets(plans, known)

    assert checked.to_write == ()
    assert {o.path for o in checked.refused} == {"a", "b", "c", "d"}
    assert all(o.status is Status.FAILED for o in checked.refused)
    refused_d = next(o for o in checked.refused if o.path == "d")
    assert refused_d.package_id == "p2"
    assert "c, d" in (refused_d.error or "")
    assert known == {"d": Outcome("d", Status.UNCHANGED, package_id="p2")}


def test_directories_with_their_own_packages_are_all_written() -> None:
    plans = (planned("a", "p1"), planned("b", "p2"))

    checked = refuse_shared_targets(plans, {})

    assert checked == type(checked)(plans, ())
