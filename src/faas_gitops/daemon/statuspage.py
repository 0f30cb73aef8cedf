"""The status page (``GET /``), the package pages (``GET /packages/<path>``) and their JSON twin
(``GET /api/status``), rendered on the server; the parts live in ``daemon.page``.

One HTML document with its CSS and a few lines of JS inline: no build step, no CDN, no web
fonts, so it works offline and under a strict Content-Security-Policy (``default-src 'none'``;
the one ``<style>`` and ``<script>`` carry a per-response nonce). The script reads
``/api/status`` every few seconds and, when it changed, fetches ``GET /?part=main`` (the
``<main>`` element alone, parsed inert in a ``<template>``) and swaps it in place, keeping the
scroll position; one renderer (this server) draws every view, so the live page and a reload
never disagree. It never posts anything: the page only reads. Every value that came from git
or the API (paths, names, errors) is HTML-escaped, and no value holds a secret: the snapshot
carries no API key, webhook secret or API URL.

``GET /api/status`` returns ``snapshot_document()`` (camelCase; fields only ever added)::

    {
      "commit": "<sha of the last sync>" | null,  "commitLink": "<--commit-url>" | null,
      "ref": "main",                              # a name; "HEAD" only when none is known
      "seenCommit": "<newest commit resolved>" | null,
      "waiting": {"commit", "commitLink", "reason", "since"} | null,
      "lastSync": {"at", "ok": true | false | null, "error": "<one line>" | null},
      "ready": true | false,  "readyReason": "ok" | "<why not>",
      "consecutiveFailures": 0,  "failingSince": "<ISO 8601>" | null,  "syncing": false,
      "environments": ["production", ...],
      "environmentDetails": [{"name", "keysetId", "frozen", "frozenNote", "frozenSince",
                              "lastActed"}],
      "packages": [{"path", "pageUrl", "name", "packageId", "revisionName", "revisionId",
                    "status", "syncedAt", "commit", "commitLink", "correlationId", "error",
                    "deployments": [{"environment", "keysetId", "status", "revisionName",
                                     "revisionId", "deploymentId", "previousDeploymentId",
                                     "correlationId", "error", "running", "note", "pinned",
                                     "state": "in sync|out of sync|deploying|failed|frozen|
                                               held|pinned|orphaned",
                                     "since": "<ISO 8601>" | null,
                                     "pendingTo": "<revision>" | null}]}],
      "syncs": [{"kind": "sync" | "failed-tick", "id", "commit", "commitLink", "ref",
                 "trigger", "dryRun", "at", "startedAt", "finishedAt",
                 "counts": {"created": 0, "unchanged": 4, "failed": 0, "total": 4, ...},
                 "deploymentCounts": {"deployed": 1, "in-sync": 3, ...},
                 "fatalError"}]                 # newest first, at most 50
    }
"""

from __future__ import annotations

from faas_gitops.daemon.page.document import SYNCS_SHOWN, snapshot_document
from faas_gitops.daemon.page.model import StatusProvider, StatusSnapshot
from faas_gitops.daemon.page.package import PackagePage, PackageProvider, render_package_page
from faas_gitops.daemon.page.render import render_main
from faas_gitops.daemon.page.shell import (
    REFRESH_S,
    content_security_policy,
    new_nonce,
    render_page,
)

__all__ = [
    "REFRESH_S",
    "SYNCS_SHOWN",
    "PackagePage",
    "PackageProvider",
    "StatusProvider",
    "StatusSnapshot",
    "content_security_policy",
    "new_nonce",
    "render_main",
    "render_package_page",
    "render_page",
    "snapshot_document",
]
