"""The error of a ``.mmt`` file optowave cannot take, and where in the file a variable is defined."""
from __future__ import annotations

from pathlib import Path


class MmtError(ValueError):
    """A ``.mmt`` file optowave cannot take; the message names the file, the line and the variable."""

    def __init__(self, path: str | Path, message: str, *, line: int | None = None, variable: str | None = None):
        self.path, self.line, self.variable = str(path), line, variable
        where = f"{self.path} line {line}" if line else self.path
        super().__init__(f"{where}: {variable + ': ' if variable else ''}{message}")



def line_of(var) -> int | None:
    """The line of the file where Myokit's parser met the variable's definition (None when not parsed)."""
    token = getattr(var, "_token", None)
    return int(token[2]) if token else None
