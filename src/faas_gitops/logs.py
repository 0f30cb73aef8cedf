"""structlog set-up: logs go to stderr (stdout carries only results), JSON when not a TTY.

Four guards sit between an event and the terminal:

- redaction replaces every registered secret (API key, webhook secret) wherever it appears, as a
  last line of defence: the code never logs them on purpose, and this makes sure an exception
  message or a third-party string cannot carry one out either;
- a repeat limiter lets through the first few identical warnings/errors (same event, same error
  text) of a window and then one ``log.suppressed`` line with the count, so a wedged port cannot
  write a hundred megabytes of the same traceback;
- in console mode, info and debug events are cut to the event, the package path and one or two
  key fields (``--verbose`` shows everything), so a person sees the result table, not a wall;
- in console mode, control characters in every value are escaped (``printable``): a directory
  named with ``ESC[2J`` cannot clear the screen. JSON needs no such care: its encoder escapes.

Stdlib logging (uvicorn, asyncio) is bridged into the same chain at warning level and above.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"
_secrets: set[str] = set()

_OTHERS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
# C0, DEL, C1, the Unicode line/paragraph separators and the bidirectional overrides
# ("Trojan Source"): everything that can move the cursor, end a line or reorder what is shown.
_UNPRINTABLE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNPRINTABLE_KEEP_TAB = re.compile(f"[\x00-\x08\x0a-\x1f{_OTHERS}]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str, *, keep_tab: bool = False) -> str:
    r"""``text`` with every control character shown as an escape (``\n``, ``\x1b``, ``\x7f``).

    ``keep_tab`` leaves tabs alone, for code lines in diffs, where a tab is indentation.
    """
    pattern = _UNPRINTABLE_KEEP_TAB if keep_tab else _UNPRINTABLE
    return pattern.sub(_escape, text)


def register_secret(secret: str) -> None:
    """Never print this value; short strings are ignored, they would redact ordinary words."""
    if len(secret) >= 6:
        _secrets.add(secret)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, BaseException):
        return redact(f"{type(value).__name__}: {value}")
    return value


EventDict = MutableMapping[str, Any]


def _redact_processor(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    if _secrets:
        for key, value in list(event_dict.items()):
            event_dict[key] = _redact_value(value)
    return event_dict


def _drop_none(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    return {k: v for k, v in event_dict.items() if v is not None}


# --- console mode -------------------------------------------------------------------------------

#: Fields every event of a sync carries (bound context): noise on a terminal line.
_CONTEXT_FIELDS = frozenset({"commit", "trigger", "package_id", "correlation_id", "dry_run"})
#: The fields worth a place on a short line, best first; other events keep their first two.
_KEY_FIELDS = (
    "revision_name",
    "status",
    "created",
    "failed",
    "reason",
    "error",
    "call",
    "signal",
    "exit_code",
    "delay_s",
    "listen",
)
_KEEP = frozenset({"event", "level", "timestamp", "path", "exception"})
_MAX_VALUE = 80


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else None
    if text is not None and len(text) > _MAX_VALUE:
        return text[: _MAX_VALUE - 1] + "…"
    return value


def _brief(_logger: Any, method: str, event_dict: EventDict) -> EventDict:
    """Info and debug lines: the event, the path and at most two key fields, each kept short."""
    if event_dict.get("level", method) not in ("info", "debug"):
        return event_dict
    others = [k for k in event_dict if k not in _KEEP and k not in _CONTEXT_FIELDS]
    chosen = [k for k in _KEY_FIELDS if k in others][:2]
    chosen += [k for k in others if k not in chosen][: 2 - len(chosen)]
    return {
        key: _short(value) for key, value in event_dict.items() if key in _KEEP or key in chosen
    }


class _Shown(str):
    """An already escaped value: the console renderer quotes it but must not escape it again."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'" + self.replace("'", "\\'") + "'"


def _printable_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in ("exception", "stack"):  # a traceback keeps its lines, each made safe
            return "\n".join(printable(line, keep_tab=True) for line in value.split("\n"))
        return _Shown(printable(value))
    if isinstance(value, list | tuple):
        return [_printable_value(key, v) for v in value]
    if isinstance(value, dict):
        return {printable(str(k)): _printable_value(key, v) for k, v in value.items()}
    return value


def _printable_processor(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    return {key: _printable_value(key, value) for key, value in event_dict.items()}


# --- repeats ------------------------------------------------------------------------------------

_LOUD = frozenset({"warning", "error", "critical", "exception"})


def _repeat_key(event_dict: EventDict) -> tuple[str, str]:
    """Same event, same error text (a traceback's last line stands for the whole traceback)."""
    error = str(event_dict.get("error", ""))
    exception = str(event_dict.get("exception", "")).strip().rsplit("\n", 1)[-1]
    return str(event_dict.get("event", "")), f"{error}|{exception}"


class RepeatLimiter:
    """A processor that drops identical warnings/errors beyond ``limit`` per ``window_s``.

    What it dropped is written as one ``log.suppressed`` warning (the event, its error, the
    count) before the next different event, or before the first event after the window ended,
    or by ``flush()`` (at exit): there is no timer thread, so the reader sees the count where
    the repeats stopped. The window keeps running across that line: an error repeating between
    other events is still held to ``limit`` per window.
    """

    def __init__(
        self,
        tail: list[Any],
        write: Callable[[str], None],
        *,
        limit: int = 5,
        window_s: float = 10.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._tail, self._write = tail, write
        self._limit, self._window_s = limit, window_s
        self._clock = clock or time.monotonic
        # key -> [window start, events seen in the window, dropped and not yet reported]
        self._windows: dict[tuple[str, str], list[Any]] = {}
        self._sample: dict[tuple[str, str], EventDict] = {}

    def __call__(self, logger: Any, method: str, event_dict: EventDict) -> EventDict:
        now = self._clock()
        key = _repeat_key(event_dict) if event_dict.get("level", method) in _LOUD else None
        for other in list(self._windows):
            start, _seen, dropped = self._windows[other]
            expired = now - start >= self._window_s
            if dropped and (expired or other != key):
                self._report(other, dropped)
                self._windows[other][2] = 0
            if expired:
                del self._windows[other]
        if key is None:
            return event_dict
        window = self._windows.setdefault(key, [now, 0, 0])
        window[1] += 1
        if window[1] > self._limit:
            window[2] += 1
            self._sample[key] = event_dict
            raise structlog.DropEvent
        return event_dict

    def flush(self) -> None:
        for key, (_start, _seen, dropped) in list(self._windows.items()):
            if dropped:
                self._report(key, dropped)
        self._windows.clear()

    def _report(self, key: tuple[str, str], dropped: int) -> None:
        sample = self._sample.pop(key, {})
        line: Any = {
            "event": "log.suppressed",
            "level": "warning",
            "timestamp": sample.get("timestamp"),
            "suppressed_event": key[0],
            "error": sample.get("error"),
            "count": dropped,
        }
        line = {k: v for k, v in line.items() if v is not None}
        for processor in self._tail:
            line = processor(None, "warning", line)
        with contextlib.suppress(ValueError):  # a closed stream (exit after a test swapped it)
            self._write(line)


# --- output -------------------------------------------------------------------------------------


#: Called with the stream before each log line is written: ``progress`` erases its line here.
before_write: list[Callable[[TextIO], None]] = []


class _StreamLogger:
    """Writes one rendered line, first clearing a progress line drawn on the same terminal.

    Without a fixed stream it writes to whatever ``sys.stderr`` is *now*, not the stream that
    was current at set-up: pytest and the demo swap ``sys.stderr``; a logger bound to an old
    stream would write to a closed file.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def msg(self, message: str) -> None:
        out = self._stream or sys.stderr
        for hook in before_write:
            hook(out)
        print(message, file=out, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


class _StdlibBridge(logging.Handler):
    """Sends stdlib warnings and errors (uvicorn, asyncio) through the same guards."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            logger = structlog.get_logger(record.name)
            logger.log(
                record.levelno,
                record.name,
                error=record.getMessage(),
                exc_info=record.exc_info if record.exc_info else None,
            )
        except Exception:  # noqa: BLE001 - a log handler must never raise into its caller
            self.handleError(record)


_limiter: RepeatLimiter | None = None


def flush_suppressed() -> None:
    """Write the pending ``log.suppressed`` counts now (at exit, or at the end of a sync)."""
    if _limiter is not None:
        _limiter.flush()


atexit.register(flush_suppressed)


def configure(
    level: str = "info",
    fmt: str = "auto",
    stream: TextIO | None = None,
    *,
    quiet: bool = False,
    verbose: bool = False,
    repeat_limit: int = 5,
    repeat_window_s: float = 10.0,
    clock: Callable[[], float] | None = None,
) -> None:
    """Configure structlog for this process; safe to call again (tests, the demo).

    ``quiet`` shows only warnings and errors; ``verbose`` shows debug events with every field.
    ``fmt``: ``json``, ``console`` or ``auto`` (console on a TTY). ``clock`` is for tests of
    the repeat window.
    """
    global _limiter  # noqa: PLW0603 - one chain per process, like structlog's own configuration
    flush_suppressed()
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not out.isatty())
    if verbose:
        level = "debug"
    elif quiet and logging.getLevelNamesMapping()[level.upper()] < logging.WARNING:
        level = "warning"
    tail: list[Any] = []
    if use_json:
        stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
        tail.append(structlog.processors.JSONRenderer())
    else:
        stamp = structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=True)
        tail += [] if verbose else [_brief]
        tail += [_printable_processor, structlog.dev.ConsoleRenderer(colors=out.isatty())]
    logger = _StreamLogger(stream)
    _limiter = RepeatLimiter(
        tail, logger.msg, limit=repeat_limit, window_s=repeat_window_s, clock=clock
    )
    processors: Iterable[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        stamp,
        _drop_none,
        structlog.processors.format_exc_info,
        _redact_processor,
        _limiter,
        *tail,
    ]
    structlog.configure(
        processors=list(processors),
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=lambda *_args: logger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)
    root.addHandler(_StdlibBridge(logging.WARNING))
