"""The daemon's Prometheus metrics, on a registry of its own.

A private ``CollectorRegistry`` (not prometheus-client's global one) means two daemons in one
process, as in tests, never clash over names, and ``/metrics`` shows exactly what is listed
here: no process or platform collectors that an operator did not ask for. Every labelled series
that is known in advance is created at start, so a dashboard sees ``0`` rather than nothing.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from faas_gitops.models import DeployStatus, Status, SyncResult

PREFIX = "faas_gitops"
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: A small sync takes well under a second; a 1,000-package first sync takes minutes.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
TRIGGER_REASONS = ("startup", "watch", "poll", "webhook", "resync", "retry")
WEBHOOK_RESULTS = ("accepted", "duplicate", "unauthorized", "too_large", "stopping")
DROP_REASONS = ("read_timeout", "connection_cap")
NOTIFY_TARGETS = ("webhook", "slack", "github")
NOTIFY_RESULTS = ("sent", "failed", "duplicate")
#: Deployment results after which the revision named runs there.
RUNS = (DeployStatus.DEPLOYED, DeployStatus.IN_SYNC)


class _Made:
    """Makes the metrics named ``faas_gitops_<name>`` on one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(f"{PREFIX}_{name}", documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, *labels: str) -> Gauge:
        return Gauge(f"{PREFIX}_{name}", documentation, labels, registry=self.registry)


class Metrics:
    """Every metric of the daemon; ``observe_api`` doubles as the API client's observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        made = _Made(registry)
        counter, gauge = made.counter, made.gauge
        self.syncs = counter("syncs", "Syncs run, by result", "result")
        self.sync_duration = Histogram(
            f"{PREFIX}_sync_duration_seconds",
            "Duration of a sync, fetch included",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.revisions_created = counter("revisions_created", "Package revisions created")
        self.api_requests = counter(
            "api_requests",
            "FaaS API requests (every attempt), by method and HTTP status ('error' for "
            "transport errors)",
            "method",
            "status",
        )
        self.api_retries = counter("api_retries", "FaaS API requests that were retries")
        self.last_success = gauge(
            "last_success_timestamp_seconds",
            "Unix time of the last sync in which every package succeeded",
        )
        self.packages_tracked = gauge("packages_tracked", "Packages in the last synced commit")
        self.packages_failing = gauge("packages_failing", "Packages that failed in the last sync")
        self.commit = Info(
            f"{PREFIX}_commit", "The commit (and ref) of the last sync", registry=registry
        )
        self.drift_corrections = counter(
            "drift_corrections",
            "Revisions created for a package that was already in sync at the same commit "
            "(someone changed it by hand)",
        )
        self.consecutive_failures = gauge(
            "consecutive_failures", "Failed syncs since the last success"
        )
        self.triggers = counter("triggers", "Triggers received, by reason", "reason")
        self.syncs_skipped = counter(
            "syncs_skipped", "Wake-ups that found the already synced commit and did nothing"
        )
        self.webhook_requests = counter(
            "webhook_requests", "POST /hooks/sync requests, by result", "result"
        )
        self.http_connections = gauge(
            "http_connections", "Connections open on the daemon's HTTP port"
        )
        self.http_connections_dropped = counter(
            "http_connections_dropped",
            "Connections the daemon closed: a request not read within the read timeout, or "
            "one over the connection cap",
            "reason",
        )
        self.notifications = counter(
            "notifications",
            "Notifications, by target kind and result (sent, failed after its retries, "
            "duplicate: already sent before, not sent again)",
            "target",
            "result",
        )
        for target in NOTIFY_TARGETS:
            for outcome in NOTIFY_RESULTS:
                self.notifications.labels(target=target, result=outcome)
        self.deployments = counter(
            "deployments",
            "Package x environment results of the deployment stage, by environment and result",
            "environment",
            "result",
        )
        self.deployed_revision = gauge(
            "deployed_revision_info",
            "1 for the revision each package runs on each environment (as of its last result)",
            "environment",
            "package",
            "revision",
        )
        self.deployments_failing = gauge(
            "deployments_failing", "Package x environment deployments that failed in the last sync"
        )
        self._running: dict[tuple[str, str], str] = {}  # (environment, path) -> revision name
        for reason in DROP_REASONS:
            self.http_connections_dropped.labels(reason=reason)
        for result in ("success", "failure"):
            self.syncs.labels(result=result)
        for reason in TRIGGER_REASONS:
            self.triggers.labels(reason=reason)
        for outcome in WEBHOOK_RESULTS:
            self.webhook_requests.labels(result=outcome)

    def observe_api(self, method: str, _endpoint: str, status: int | None, retry: bool) -> None:
        """An ``api.Observer``: called after every attempt the API client makes."""
        self.api_requests.labels(method=method, status=str(status) if status else "error").inc()
        if retry:
            self.api_retries.inc()

    def count_notification(self, target: str, result: str) -> None:
        """A notifier's ``on_result``: one delivery (or skipped duplicate) of one target."""
        self.notifications.labels(target=target, result=result).inc()

    def record_sync(
        self, result: SyncResult, *, duration: float, drift: int, failures: int
    ) -> None:
        """Count one finished sync (``failures``: consecutive failed syncs after this one)."""
        self.syncs.labels(result="success" if result.ok else "failure").inc()
        self.sync_duration.observe(duration)
        created = sum(1 for o in result.outcomes if o.status is Status.CREATED)
        self.revisions_created.inc(created)
        self.drift_corrections.inc(drift)
        self.packages_tracked.set(len(result.outcomes))
        self.packages_failing.set(sum(1 for o in result.outcomes if o.status is Status.FAILED))
        self.commit.info({"commit": result.commit, "ref": result.ref})
        self.consecutive_failures.set(failures)
        if result.ok:
            self.last_success.set(result.finished_at.timestamp())
        self.record_deployments(result)

    def record_deployments(self, result: SyncResult) -> None:
        """Count each deployment result; move the what-runs-where gauge to what now runs."""
        failing = 0
        for outcome in result.outcomes:
            for deployment in outcome.deployments:
                self.deployments.labels(
                    environment=deployment.environment, result=deployment.status.value
                ).inc()
                failing += deployment.status is DeployStatus.FAILED
                key = (deployment.environment, outcome.path)
                if deployment.status is DeployStatus.PRUNED:
                    self._set_running(key, None)
                elif deployment.status in RUNS and deployment.revision_name:
                    self._set_running(key, deployment.revision_name)
        self.deployments_failing.set(failing)

    def _set_running(self, key: tuple[str, str], revision: str | None) -> None:
        previous = self._running.pop(key, None)
        if previous is not None:
            self.deployed_revision.remove(key[0], key[1], previous)
        if revision is not None:
            self._running[key] = revision
            self.deployed_revision.labels(
                environment=key[0], package=key[1], revision=revision
            ).set(1)

    def record_error(self, *, duration: float, failures: int) -> None:
        """Count a sync that failed before it had a result (repository unreachable...)."""
        self.syncs.labels(result="failure").inc()
        self.sync_duration.observe(duration)
        self.consecutive_failures.set(failures)

    def render(self) -> bytes:
        return generate_latest(self.registry)
