"""The cut of a run into time chunks lives in :mod:`solver.engine.chunks` (the in-process run cuts the same way)."""
from __future__ import annotations

from solver.engine.chunks import MAX_CHUNK_OUTPUT_BYTES, TARGET_CHUNK_SECONDS, ChunkPlan, default_chunk_steps, plan_chunks

__all__ = ["MAX_CHUNK_OUTPUT_BYTES", "TARGET_CHUNK_SECONDS", "ChunkPlan", "default_chunk_steps", "plan_chunks"]
