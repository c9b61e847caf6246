"""Readout: the voltage dye and the camera that films it (MODEL.md section 5).

``Dye`` and ``Camera`` are the settings; ``CameraTracker`` films a run from inside the run loop;
``record_movie`` and ``observe`` film a V movie offline (tests, notebooks); ``camera_tracker_for`` puts the
camera on the solver's run loop.
"""

from __future__ import annotations

from .adapter import camera_tracker_for
from .camera import Camera, CameraTracker, RunInfo, observe, record_movie
from .dye import Dye, relative_fluorescence

__all__ = ["Camera", "CameraTracker", "Dye", "RunInfo", "camera_tracker_for", "observe", "record_movie",
           "relative_fluorescence"]
