"""What the Kubernetes manifests publish of the daemon's port: rendered with ``kubectl
kustomize``, no Service leaves the cluster, every Ingress routes exactly ``/hooks/sync`` (never
the status page, ``/api/status`` or ``/metrics``), and the example overlay puts the status page
behind its token, mounted where its variable points."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.shipped.kustomize import KUBERNETES, KUSTOMIZATIONS, render

EXAMPLE = KUBERNETES / "overlays" / "example"


def kinds(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: p.name)
def test_no_service_leaves_the_cluster_and_every_ingress_routes_only_the_webhook(
    directory: Path,
) -> None:
    docs = render(directory)
    for service in kinds(docs, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    for ingress in kinds(docs, "Ingress"):
        assert "defaultBackend" not in ingress["spec"]  # nothing unmatched reaches the daemon
        for rule in ingress["spec"]["rules"]:
            paths = rule["http"]["paths"]
            assert [(p["path"], p["pathType"]) for p in paths] == [("/hooks/sync", "Exact")]
            assert paths[0]["backend"]["service"] == {
                "name": "faas-gitops",
                "port": {"name": "http"},
            }
        assert ingress["spec"]["tls"], "the webhook's body and signature travel over TLS"


def test_the_example_overlay_publishes_the_webhook_over_tls_and_guards_the_status_page() -> None:
    docs = render(EXAMPLE)
    [ingress] = kinds(docs, "Ingress")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}

    env = {
        key: value
        for config_map in kinds(docs, "ConfigMap")
        if config_map["metadata"]["name"].startswith("faas-gitops-")
        for key, value in config_map["data"].items()
    }
    assert env["FAAS_GITOPS_WEBHOOK_SECRET_FILE"] == "/etc/faas-gitops/webhook-secret"
    assert env["FAAS_GITOPS_STATUS_TOKEN_FILE"] == "/etc/faas-gitops/status-token"
    [deployment] = kinds(docs, "Deployment")
    [secret_volume] = [
        volume for volume in deployment["spec"]["template"]["spec"]["volumes"] if "secret" in volume
    ]
    projected = {item["path"] for item in secret_volume["secret"]["items"]}
    assert {"api-key", "webhook-secret", "status-token"} <= projected
    [secret] = kinds(docs, "Secret")
    assert "status-token" in secret["data"]
