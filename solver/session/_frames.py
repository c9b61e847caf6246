"""What a live session hands back each frame: the camera's counts and ΔF/F (and V), as an xarray Dataset.

ΔF/F follows the job's rule (:func:`solver.readout.adapter.camera_tracker_for`): F0 is the mean of the frames
before the first light (at most 50), or the camera's noiseless reference when fewer than three precede it. A live
run learns when the first light comes only as it goes, so a frame filmed before F0 is known is divided by the
reference and marked ``f0 = "provisional"``; from the frame that completes the baseline on, ΔF/F is the one the
stored result holds.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..engine.result import OUTPUT_DTYPE
from ..readout.adapter import baseline_frames

__all__ = ["FrameBuilder", "LiveBaseline"]

#: Fewer frames than this before the first light: F0 is the camera's reference (as in a job).
MIN_BASELINE_FRAMES = 3


class LiveBaseline:
    """ΔF/F of live frames against the job's F0, once the frames before the first light are known."""

    def __init__(self, run_loop_camera) -> None:
        self.camera = run_loop_camera
        self.tracker = run_loop_camera.tracker
        self.f0: np.ndarray | None = None
        self._first: list[np.ndarray] = []   # bleach-corrected frames kept until F0 is known

    def dff(self, k: int, counts: np.ndarray, problem) -> tuple[np.ndarray, str]:
        """ΔF/F of frame ``k`` and how its F0 was found (``"first_frames"``, ``"reference"``, ``"provisional"``)."""
        tr = self.tracker
        corrected = tr.corrected(counts[None], tr.frame_starts(np.array([k])))
        if self.f0 is None:
            self._first.append(corrected[0])
            # commands still to come start at the next boundary or later, so a baseline that is complete now
            # (quiet <= frames filmed) is the one the recorded job computes
            quiet = baseline_frames(problem, tr.camera)
            if quiet < MIN_BASELINE_FRAMES:
                self.f0, self.method = tr.baseline(np.zeros((0, *counts.shape), np.float32)), "reference"
            elif len(self._first) >= quiet:
                self.f0, self.method = np.stack(self._first)[:quiet].mean(axis=0), "first_frames"
            if self.f0 is not None:
                self._first = []
        if self.f0 is None:
            return tr.dff(corrected, tr.baseline(np.zeros((0, *counts.shape), np.float32)))[0], "provisional"
        return tr.dff(corrected, self.f0)[0], self.method


class FrameBuilder:
    """Frames as Datasets: ``dff`` and ``fluorescence`` on the camera's pixels, ``v`` on the sheet.

    The coordinates and attributes are built once; each frame is a shallow copy of that template with its own
    data (a Dataset built from scratch costs about a millisecond, a good part of the loop's budget).
    """

    def __init__(self, problem, camera, *, include_v: bool) -> None:
        tr = camera.tracker
        self.tracker = tr
        ny_c, nx_c = tr.reference_shape
        pitch = tr.camera.binning * problem.dx_um
        zeros = np.zeros((ny_c, nx_c), np.float32)
        data = {
            "fluorescence": (("cam_y", "cam_x"), zeros, {"units": "count", "long_name": "camera counts "
                                                         "(photo-electrons incl. shot and read noise)"}),
            "dff": (("cam_y", "cam_x"), zeros, {"units": "1", "long_name": "fractional fluorescence change dF/F0"}),
        }
        coords = {"cam_y": ("cam_y", (np.arange(ny_c) + 0.5) * pitch, {"units": "µm",
                                                                        "long_name": "camera pixel centre y"}),
                  "cam_x": ("cam_x", (np.arange(nx_c) + 0.5) * pitch, {"units": "µm",
                                                                        "long_name": "camera pixel centre x"})}
        if include_v:
            unit = "1" if problem.model.dimensionless else "mV"
            data["v"] = (("y", "x"), np.zeros((problem.ny, problem.nx), OUTPUT_DTYPE),
                         {"units": unit, "long_name": "membrane potential at the end of the frame period"})
            coords["y"] = ("y", (np.arange(problem.ny) + 0.5) * problem.dx_um, {"units": "um", "long_name": "y"})
            coords["x"] = ("x", (np.arange(problem.nx) + 0.5) * problem.dx_um, {"units": "um", "long_name": "x"})
        self.template = xr.Dataset(data, coords=coords)
        self.include_v = include_v

    def __call__(self, k: int, counts: np.ndarray, dff: np.ndarray, f0: str, v: np.ndarray | None, *,
                 left_solver_ns: int) -> xr.Dataset:
        """Frame ``k``; attributes ``frame``, ``time_ms`` (exposure start), ``exposure_ms``, ``frame_period_ms``,
        ``f0_method``, ``left_solver_ns``."""
        data = {"fluorescence": counts.astype(np.float32), "dff": dff.astype(np.float32)}
        if self.include_v:
            data["v"] = np.asarray(v, dtype=OUTPUT_DTYPE)
        ds = self.template.copy(deep=False, data=data)
        cam = self.tracker.camera
        ds.attrs = {"frame": int(k), "time_ms": float(self.tracker.frame_starts(np.array([k]))[0]),
                    "exposure_ms": float(cam.exposure_time_ms), "frame_period_ms": float(cam.frame_period_ms),
                    "f0_method": f0, "left_solver_ns": int(left_solver_ns)}
        return ds
