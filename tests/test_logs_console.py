"""What reaches stderr: short calm lines on a terminal, escaped values, no floods, no secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from faas_gitops import logs

pytestmark = pytest.mark.usefixtures("restored_logging")

HOSTILE = "evil\nforged line\x1b[31m|x"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_console_info_lines_keep_the_event_the_path_and_two_key_fields() -> None:
    out = io.StringIO()
    logs.configure("info", "console", out)
    structlog.contextvars.bind_contextvars(commit="a" * 40, trigger="sync-once")

    structlog.get_logger().info(
        "revision.created",
        path="chat-moderation",
        package_id="550e8400-e29b-41d4-a716-446655440000",
        revision_name="v1.1.0",
        revision_id="r" * 36,
        correlation_id="c" * 36,
        description="d" * 300,
    )

    (line,) = _lines(out)
    assert "revision.created" in line
    assert "path=chat-moderation" in line
    assert "revision_name=v1.1.0" in line
    assert "revision_id=" in line
    for noise in ("commit=", "trigger=", "package_id=", "correlation_id=", "description="):
        assert noise not in line
    assert len(line) < 160  # it was ~250 with every bound field


def test_console_warnings_keep_every_field() -> None:
    out = io.StringIO()
    logs.configure("info", "console", out)

    structlog.get_logger().warning("cache.unusable", path="p", error="locked", attempt=3)

    assert all(f in _lines(out)[0] for f in ("path=p", "error=locked", "attempt=3"))


def test_verbose_shows_debug_events_with_every_field() -> None:
    out = io.StringIO()
    logs.configure("info", "console", out, verbose=True)

    structlog.get_logger().debug("remote.fetched", url="u", a=1, b=2, c=3)

    (line,) = _lines(out)
    assert all(f in line for f in ("url=u", "a=1", "b=2", "c=3"))


def test_quiet_shows_only_warnings_and_errors() -> None:
    out = io.StringIO()
    logs.configure("info", "console", out, quiet=True)
    log = structlog.get_logger()

    log.info("sync.finished", created=1)
    log.warning("cache.write_failed", error="disk full")
    log.error("sync.failed", error="boom")

    assert [line.split()[3] for line in _lines(out)] == ["cache.write_failed", "sync.failed"]


def test_console_values_have_control_characters_escaped() -> None:
    out = io.StringIO()
    logs.configure("info", "console", out)

    structlog.get_logger().warning("package.skipped", path=HOSTILE, error="bad\rname")

    (line,) = _lines(out)
    assert "\x1b" not in out.getvalue()
    assert "path='evil\\nforged line\\x1b[31m|x'" in line
    assert "bad\\rname" in line


def test_json_logs_keep_the_raw_value_for_programs() -> None:
    out = io.StringIO()
    logs.configure("info", "json", out)

    structlog.get_logger().warning("package.skipped", path=HOSTILE)

    (line,) = _lines(out)
    assert json.loads(line)["path"] == HOSTILE


def test_registered_secrets_never_reach_the_stream() -> None:
    out = io.StringIO()
    logs.configure("info", "json", out)
    logs.register_secret("sk-very-secret-key")

    structlog.get_logger().error("api.failed", error="401 for key sk-very-secret-key")

    assert "sk-very-secret-key" not in out.getvalue()
    assert logs.REDACTED in out.getvalue()


def test_identical_errors_beyond_the_limit_become_one_suppressed_line() -> None:
    out = io.StringIO()
    logs.configure("info", "json", out, clock=FakeClock())
    log = structlog.get_logger()

    for _ in range(8):
        log.error("api.unreachable", error="connection refused to 127.0.0.1:9")
    log.info("sync.finished", failed=40)

    events = [json.loads(line) for line in _lines(out)]
    assert [e["event"] for e in events] == ["api.unreachable"] * 5 + [
        "log.suppressed",
        "sync.finished",
    ]
    assert events[5]["count"] == 3
    assert events[5]["suppressed_event"] == "api.unreachable"
    assert events[5]["error"] == "connection refused to 127.0.0.1:9"


def test_a_different_error_text_is_a_different_repeat() -> None:
    out = io.StringIO()
    logs.configure("info", "json", out, clock=FakeClock(), repeat_limit=2)
    log = structlog.get_logger()

    for n in range(4):
        log.error("package.failed", error=f"problem {n}")

    assert len(_lines(out)) == 4


def test_the_suppressed_count_is_written_when_the_window_ends() -> None:
    clock = FakeClock()
    out = io.StringIO()
    logs.configure("info", "json", out, clock=clock, repeat_limit=2, repeat_window_s=10)
    log = structlog.get_logger()

    for _ in range(5):
        log.error("http.accept_failed", error="EMFILE")
    assert len(_lines(out)) == 2
    clock.now += 11
    log.error("http.accept_failed", error="EMFILE")  # a new window: shown again

    events = [json.loads(line) for line in _lines(out)]
    assert [(e["event"], e.get("count")) for e in events] == [
        ("http.accept_failed", None),
        ("http.accept_failed", None),
        ("log.suppressed", 3),
        ("http.accept_failed", None),
    ]


def test_pending_suppressed_counts_are_flushed_on_demand() -> None:
    out = io.StringIO()
    logs.configure("info", "json", out, clock=FakeClock(), repeat_limit=1)
    for _ in range(3):
        structlog.get_logger().warning("w", error="same")

    logs.flush_suppressed()

    assert json.loads(_lines(out)[-1])["count"] == 2


def _accept() -> None:
    raise OSError(24, "Too many open files (hunter2-webhook-secret)")


@pytest.mark.slow
def test_stdlib_errors_go_through_the_same_limits_and_redaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    logs.configure("info", "json", out, clock=FakeClock(), repeat_limit=2)
    logs.register_secret("hunter2-webhook-secret")
    uvicorn = logging.getLogger("uvicorn.error")
    # An in-process uvicorn started by an earlier test may have left this logger quiet; the
    # daemon's own uvicorn (log_config=None) leaves it propagating, which is what is tested.
    monkeypatch.setattr(uvicorn, "propagate", True)
    monkeypatch.setattr(uvicorn, "disabled", False)
    monkeypatch.setattr(uvicorn, "handlers", [])
    monkeypatch.setattr(uvicorn, "level", logging.NOTSET)

    for _ in range(4):
        try:
            _accept()
        except OSError:
            uvicorn.exception("Exception in ASGI application")
    logs.flush_suppressed()

    events = [json.loads(line) for line in _lines(out)]
    assert [e["event"] for e in events] == ["uvicorn.error", "uvicorn.error", "log.suppressed"]
    assert "Too many open files" in events[0]["exception"]
    assert "hunter2-webhook-secret" not in out.getvalue()
