"""The executor factory and thread budgeting."""

from __future__ import annotations

import importlib.util

import pytest

from builder.executor import ExecutorUnavailable, make_executor, runs_in_process, threads_per_job


def test_threads_never_oversubscribe_the_cores():
    assert threads_per_job(2, cores=2) == 1
    assert threads_per_job(1, cores=8) == 8
    assert threads_per_job(3, cores=8) == 2
    assert threads_per_job(16, cores=2) == 1
    assert threads_per_job(4, running=1, cores=8) == 8  # a lone job gets every core


def test_local_executor_runs_module_level_functions():
    executor = make_executor(jobs=2)
    try:
        assert runs_in_process(executor)
        assert sorted(executor.map(abs, [-2, 1, -3])) == [1, 2, 3]
    finally:
        executor.shutdown()


@pytest.mark.skipif(importlib.util.find_spec("dask") is not None, reason="dask is installed here")
def test_scheduler_without_dask_is_a_clear_error():
    with pytest.raises(ExecutorUnavailable) as caught:
        make_executor(jobs=2, scheduler="tcp://127.0.0.1:8786")
    assert "dask" in str(caught.value)
