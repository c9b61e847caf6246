"""The closed loop in process: :class:`Session` runs a job frame by frame and takes light commands between.

>>> with solver.Session("examples/spiral.json") as s:           # doctest: +SKIP
...     frame = s.next_frame()                                   # dff, fluorescence on the camera's pixels
...     s.set_light({"disk": {"center_um": {"x": 200, "y": 200}, "radius_um": 60}}, 1.0)
...     ds = s.finish()                                          # what simulate(s.recorded_spec()) gives
"""
from __future__ import annotations

from ._session import Session, SessionError

__all__ = ["Session", "SessionError"]
