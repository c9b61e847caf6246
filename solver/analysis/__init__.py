"""The measures labs report (MODEL.md section 6), on the true V or on the camera's dF/F movie.

Array functions work on time-major movies ``(n_t, ny, nx)`` with NaN off tissue; :func:`analyse` applies them
to a result dataset and adds the maps as variables with units.
"""

from __future__ import annotations

from ._signal import noise_sigma, signal_to_noise, smooth
from .activation import activation_time, crossing_times, fraction_activated
from .apd import action_potential_duration
from .blocked import analyse_blocked
from .dataset import analyse
from .frequency import dominant_frequency
from .metrics import METRICS, MetricSpec, compute_metrics
from .phase import phase_singularities, plaquette_charge, time_delay_phase
from .velocity import ConductionVelocity, conduction_velocity

__all__ = [
    "METRICS", "ConductionVelocity", "MetricSpec", "compute_metrics", "action_potential_duration", "activation_time",
    "analyse", "analyse_blocked", "conduction_velocity", "crossing_times", "dominant_frequency", "fraction_activated",
    "noise_sigma", "phase_singularities", "plaquette_charge", "signal_to_noise", "smooth", "time_delay_phase",
]
