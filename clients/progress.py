"""A small progress bar for terminals (silent when the output is not a terminal)."""
from __future__ import annotations

import sys
import time


class ProgressBar:
    """``bar(done, total)`` redraws a one-line bar on stderr with rate and ETA."""

    def __init__(self, label: str, *, unit: str = "steps", stream=None, enabled: bool | None = None):
        self.label, self.unit = label, unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.t0 = time.perf_counter()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        elapsed = now - self.t0
        eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
        width = 30
        filled = int(round(width * frac))
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {100 * frac:5.1f}% "
                          f"{done}/{total} {self.unit}, {elapsed:.1f} s elapsed, ETA {eta:.1f} s ")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


class TqdmBar:
    """``bar(done, total)`` on a tqdm-like bar class (``tqdm.notebook.tqdm`` in a notebook, ``tqdm.tqdm`` in a
    terminal): made on the first call, ``total`` and position updated after, closed at the end."""

    def __init__(self, factory, label: str, *, unit: str = "steps"):
        self.factory, self.label, self.unit = factory, label, unit
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = self.factory(total=total, desc=self.label, unit=self.unit)
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def progress_bar(label: str, *, unit: str, bar=None, stream=None, enabled: bool | None = None):
    """A ``bar(done, total)`` callable: on ``bar`` (a tqdm-like class) when given, else :class:`ProgressBar`."""
    if bar is not None:
        return TqdmBar(bar, label, unit=unit)
    return ProgressBar(label, unit=unit, stream=stream, enabled=enabled)
