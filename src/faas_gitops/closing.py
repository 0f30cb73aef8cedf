"""One ``with`` protocol for everything that holds a file or a process open."""

from __future__ import annotations

from typing import Self


class Closing:
    """``with thing:`` closes it on the way out, whatever happened inside."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
