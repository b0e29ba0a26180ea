"""Where media jobs run: a ``concurrent.futures`` executor, local by default.

Jobs are ffmpeg processes, so a thread pool in this process is enough locally: threads only
wait on subprocesses. A Dask distributed ``Client`` offers the same Executor interface
(``client.get_executor()``), so the media stage does not care which one it gets. For that,
everything submitted must be a module-level function with picklable arguments, and must not
rely on in-process callbacks: :func:`runs_in_process` tells the caller whether it may pass one
(live progress) or not.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, ThreadPoolExecutor


class ExecutorUnavailable(Exception):
    """The requested executor cannot be created (e.g. Dask is not installed); the message says why."""


def available_cores() -> int:
    """CPU cores this process may use (affinity and cgroup-limited containers included)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def threads_per_job(jobs: int, *, running: int | None = None, cores: int | None = None) -> int:
    """ffmpeg threads for one job so that ``jobs`` running together do not oversubscribe the cores.

    ``running`` = how many jobs will actually run at once (fewer than ``jobs`` when there are
    fewer jobs than slots): a lone job gets every core.
    """
    cores = cores or available_cores()
    together = max(1, min(jobs, running if running is not None else jobs))
    return max(1, cores // together)


def make_executor(*, jobs: int, scheduler: str | None = None) -> Executor:
    """A local thread pool of ``jobs`` workers, or the executor of the Dask cluster at ``scheduler``."""
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError as exc:
            raise ExecutorUnavailable(
                f"分布式转码需要安装 dask[distributed] (--scheduler {scheduler} needs "
                "'pip install dask[distributed]')"
            ) from exc
        return Client(scheduler).get_executor()
    return ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="weike-media")


def runs_in_process(executor: Executor) -> bool:
    """True when submitted functions run in this process (callbacks such as progress work)."""
    return isinstance(executor, ThreadPoolExecutor)
