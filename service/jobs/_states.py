"""The job state machine: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED; a terminal state is final."""
from __future__ import annotations

QUEUED = "QUEUED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"

STATES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: The states each state may move to. A queued job can fail (its store cannot be opened) or be
#: cancelled before it starts; nothing leaves a terminal state.
ALLOWED: dict[str, frozenset[str]] = {
    QUEUED: frozenset({RUNNING, FAILED, CANCELLED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


def sources(target: str) -> tuple[str, ...]:
    """The states from which ``target`` may be entered."""
    if target not in STATES:
        raise ValueError(f"unknown job state {target!r}; allowed: {', '.join(STATES)}")
    return tuple(s for s in STATES if target in ALLOWED[s])


def is_terminal(state: str) -> bool:
    return state in TERMINAL
