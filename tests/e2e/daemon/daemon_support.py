"""What daemon tests share: the daemon subprocess handle, bounded waits, a clean environment.

The fixture that uses these, ``start_daemon``, is in this folder's ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from faas_gitops.state import Ledger, LedgerEntry

#: Every wait is bounded; none of them is an assertion on timing.
DEADLINE_S = 15.0


def wait_until(check: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class DaemonProcess:
    """A running ``faas-gitops`` daemon subprocess and what it wrote."""

    process: subprocess.Popen[bytes]
    log_file: Path
    out_file: Path
    state_dir: Path
    url: str = ""
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=5))

    # -- what it said ------------------------------------------------------------------
    def log_text(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def events(self, name: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """JSON log events, optionally only those called ``name`` with these field values."""
        found = []
        for line in self.log_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a plain line (a warning from a library) is not an event
            if not isinstance(event, dict):
                continue
            if name is not None and event.get("event") != name:
                continue
            if all(event.get(key) == value for key, value in fields.items()):
                found.append(event)
        return found

    def ledger(self) -> list[LedgerEntry]:
        if not (self.state_dir / "ledger.sqlite3").exists():
            return []
        with Ledger(self.state_dir) as ledger:
            return ledger.history(limit=1000)

    # -- HTTP --------------------------------------------------------------------------
    def get(self, path: str) -> httpx.Response:
        return self._http.get(self.url + path)

    def post(self, path: str, body: bytes = b"{}", headers: dict[str, str] | None = None) -> Any:
        return self._http.post(self.url + path, content=body, headers=headers or {})

    def ready(self) -> bool:
        return self.get("/readyz").status_code == 200

    def wait_ready(self) -> None:
        wait_until(self.ready, "/readyz to answer 200")

    def metrics(self) -> dict[str, float]:
        """Samples of /metrics as ``name{label="value",...}`` -> value (labels sorted)."""
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(self.get("/metrics").text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return samples

    # -- lifecycle ---------------------------------------------------------------------
    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait_exit(self, timeout: float = DEADLINE_S) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the daemon did not exit within {timeout:.0f} s:\n{self.log_text()}"
            ) from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE_S)
        self._http.close()


StartDaemon = Callable[..., DaemonProcess]


def daemon_env(home: Path, api_key: str) -> dict[str, str]:
    """A clean environment: no FAAS_* settings from the developer's shell, no git config."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FAAS_", "GIT_")) and key not in {"XDG_STATE_HOME"}
    }
    env.update(
        {
            "FAAS_API_KEY": api_key,
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


#: Debian's Chromium, which CI installs; the status page tests drive it headless.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
