"""Design searches on the sweep runner over a real LocalCluster: the same answer as in process, runs recorded
and reused, the rounds' runs side by side on the workers."""
from __future__ import annotations

import pytest

from service.runner import dask_client
from service.sweep import SweepEvaluator
from solver.design import LocalEvaluator, find_threshold, strength_duration
from tests.solver.test_design import spot


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, numba_threads=1) as c:
        yield c


def test_threshold_on_the_cluster_equals_the_one_here_and_a_rerun_reuses_every_run(client, tmp_path):
    here = find_threshold(lambda v: spot(v), 0.05, 5.0, rel_tol=0.05, evaluator=LocalEvaluator())
    ev = SweepEvaluator(tmp_path / "runs", client=client)
    there = find_threshold(lambda v: spot(v), 0.05, 5.0, rel_tol=0.05, evaluator=ev)
    assert there.summary["bracket"] == here.summary["bracket"]
    assert [r.success for r in there.runs] == [r.success for r in here.runs]
    assert ev.ran == ev.runs == there.n_runs
    again = SweepEvaluator(tmp_path / "runs", client=client)
    find_threshold(lambda v: spot(v), 0.05, 5.0, rel_tol=0.05, evaluator=again)
    assert again.runs == there.n_runs and again.ran == 0


def test_strength_duration_rounds_go_to_the_workers_together(client, tmp_path):
    seen = []

    class Counting(SweepEvaluator):
        def evaluate(self, specs, metrics):
            seen.append(len(specs))
            return super().evaluate(specs, metrics)

    ev = Counting(tmp_path / "runs", client=client)
    r = strength_duration(lambda d, v: spot(v, pulse_ms=d), [1.0, 2.0, 5.0], 0.05, 20.0, rel_tol=0.1, evaluator=ev)
    assert seen[0] == 6                       # both ends of three searches in the first round
    assert max(seen[1:]) == 3 and sum(seen) == r.n_runs
    thr = [c["threshold"] for c in r.curve]
    assert thr[0] > thr[1] > thr[2]
