"""The executor factory, thread budgeting, and the Dask cluster executor on a real LocalCluster."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import subprocess
import sys
import textwrap
import time

import dask.config
import distributed
import pytest

from weike.builder.running.executor import (
    ClusterExecutor,
    ClusterFuture,
    ClusterJobLost,
    ClusterUnavailable,
    available_cores,
    connect_cluster,
    job_threads,
    make_executor,
    runs_in_process,
    threads_per_job,
)
from tests.conftest import REPO_ROOT



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
        assert job_threads(executor, jobs=2, running=1) == available_cores()
        assert sorted(executor.map(abs, [-2, 1, -3])) == [1, 2, 3]
    finally:
        executor.shutdown()


def test_scheduler_without_dask_is_a_clear_error():
    # A Python where distributed cannot be imported, as after a plain `pip install weike`.
    script = textwrap.dedent("""
        import sys
        sys.modules["distributed"] = None
        from weike.builder.running.executor import ExecutorUnavailable, make_executor
        try:
            make_executor(jobs=2, scheduler="tcp://127.0.0.1:8786")
        except ExecutorUnavailable as exc:
            print(exc)
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT,
                               timeout=60, check=True)
    assert "weike[cluster]" in completed.stdout and "tcp://127.0.0.1:8786" in completed.stdout


# --------------------------------------------------------------------------------------------
# Dask cluster (real worker processes on 127.0.0.1)
# --------------------------------------------------------------------------------------------


def local_cluster(**kwargs):
    options = dict(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                   dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    return distributed.LocalCluster(**{**options, **kwargs})


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as running:
        yield running


@pytest.mark.slow
def test_cluster_executor_runs_jobs_and_says_where(cluster):
    executor = make_executor(jobs=1, scheduler=cluster.scheduler_address)
    try:
        assert isinstance(executor, ClusterExecutor) and not runs_in_process(executor)
        assert {worker.slots for worker in executor.workers} == {1} and len(executor.workers) == 2
        futures = [executor.submit(pow, 2, n) for n in range(5)]
        assert sorted(future.result(timeout=60) for future in cf.as_completed(futures)) == [1, 2, 4, 8, 16]
        assert all(isinstance(f, ClusterFuture) and f.host and f.seconds is not None for f in futures)
        # Workers run in other processes: what a job raises comes back as itself.
        with pytest.raises(ValueError, match="invalid literal"):
            executor.submit(int, "not a number").result(timeout=60)
    finally:
        executor.shutdown()
    assert executor.client.status == "closed"
    with pytest.raises(ClusterUnavailable):
        executor.submit(abs, -1)


@pytest.mark.slow
def test_cluster_threads_follow_the_hosts_cores_and_slots(cluster):
    executor = connect_cluster(cluster.scheduler_address)
    try:
        cores = available_cores()  # both workers run on this machine: one host, two slots
        assert executor.threads_per_job(1) == cores
        assert job_threads(executor, jobs=99, running=5) == threads_per_job(2, running=5, cores=cores)
    finally:
        executor.shutdown()


def test_unreachable_scheduler_fails_within_the_timeout():
    started = time.monotonic()
    with pytest.raises(ClusterUnavailable) as caught:
        connect_cluster("tcp://127.0.0.1:9", timeout=1)
    assert time.monotonic() - started < 15
    assert "tcp://127.0.0.1:9" in caught.value.message_en and caught.value.message
    with pytest.raises(ClusterUnavailable, match="http"):
        connect_cluster("http://127.0.0.1:8786", timeout=1)


def test_timeout_comes_from_dask_configuration():
    from weike.builder.running.executor import cluster_timeout

    with dask.config.set({"distributed.comm.timeouts.connect": "7s"}):
        assert cluster_timeout() == 7.0


@pytest.mark.slow
def test_scheduler_without_workers_is_unavailable():
    with local_cluster(n_workers=0) as empty:
        with pytest.raises(ClusterUnavailable) as caught:
            connect_cluster(empty.scheduler_address, timeout=1)
    assert "no workers" in caught.value.message_en


@pytest.mark.slow
def test_jobs_fail_when_the_cluster_has_no_worker_left():
    with local_cluster(n_workers=1) as shrinking:
        executor = connect_cluster(shrinking.scheduler_address, timeout=2)
        try:
            shrinking.scale(0)
            deadline = time.monotonic() + 30
            while executor.client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.1)
            future = executor.submit(abs, -1)
            with pytest.raises(ClusterJobLost) as caught:
                future.result(timeout=60)
            assert "no workers for 2 s" in caught.value.message_en
        finally:
            executor.shutdown()


@pytest.mark.slow
def test_a_job_whose_workers_keep_dying_is_lost_with_a_clear_error():
    # The scheduler runs in this process: give up at the first worker death instead of the fourth.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), local_cluster(n_workers=1) as fragile:
        executor = connect_cluster(fragile.scheduler_address)
        try:
            with pytest.raises(ClusterJobLost) as caught:
                executor.submit(os._exit, 1).result(timeout=120)
            assert "died repeatedly" in caught.value.message_en
        finally:
            executor.shutdown()
