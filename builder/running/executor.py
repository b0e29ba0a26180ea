"""Where media jobs run: a ``concurrent.futures`` executor, local by default, or a Dask cluster.

Jobs are ffmpeg processes, so a thread pool in this process is enough locally: threads only
wait on subprocesses. Where one machine is not enough, :class:`ClusterExecutor` runs the same
jobs on a Dask distributed cluster behind the same Executor interface, so the media stage does
not care which one it gets. For that, everything submitted must be a module-level function with
picklable arguments, and must not rely on in-process callbacks: :func:`runs_in_process` tells the
caller whether it may pass one (live progress) or not.

What the cluster adds to ``client.get_executor()``, and why:

* one connection timeout for everything that waits on the cluster (reaching the scheduler, a
  first worker, a cluster that lost all its workers mid-build), taken from Dask's own
  ``distributed.comm.timeouts.connect`` (30 s unless configured), so a build never hangs;
* the client is closed on :meth:`ClusterExecutor.shutdown`;
* a job whose worker died mid-job is rerun elsewhere by the Dask scheduler itself (up to its
  ``distributed.scheduler.allowed-failures``); when Dask gives up, the job fails with
  :class:`ClusterJobLost`, a message a person can act on, not Dask's internal one;
* each result says on which host it ran and how long it took there (progress lines).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

#: Dask setting that bounds every wait on the cluster (seconds, or a string such as "10s").
CLUSTER_TIMEOUT_SETTING = "distributed.comm.timeouts.connect"


class ExecutorUnavailable(Exception):
    """The requested executor cannot be created (e.g. Dask is not installed); the message says why."""


class _Bilingual:
    """An error told in Chinese (``message``) and English (``message_en``), as diagnostics are."""

    def __init__(self, message: str, message_en: str) -> None:
        self.message = message
        self.message_en = message_en
        super().__init__(message, message_en)

    def __str__(self) -> str:
        return f"{self.message} ({self.message_en})"


class ClusterUnavailable(_Bilingual, ExecutorUnavailable):
    """The Dask scheduler cannot be reached or has no workers; the message names the address."""


class ClusterJobLost(_Bilingual, Exception):
    """A job could not finish on the cluster: its workers kept dying, or the cluster went away."""


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
        return connect_cluster(scheduler)
    return ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="weike-media")


def runs_in_process(executor: Executor) -> bool:
    """True when submitted functions run in this process (callbacks such as progress work)."""
    return isinstance(executor, ThreadPoolExecutor)


def job_threads(executor: Executor, *, jobs: int, running: int) -> int:
    """ffmpeg threads per job on ``executor`` when ``running`` jobs are to run.

    Locally: this machine's cores shared by ``jobs`` slots. On a cluster: the same rule per
    host, with the host's cores and its Dask worker threads as slots, and the smallest answer
    over the hosts so that no host is oversubscribed. x264's output depends on its thread
    count, so a cluster whose hosts look like the local machine (same cores, as many slots as
    ``--jobs``) produces byte-identical files to a local build.
    """
    if isinstance(executor, ClusterExecutor):
        return executor.threads_per_job(running)
    return threads_per_job(jobs, running=running)


# --------------------------------------------------------------------------------------------
# Dask distributed
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClusterWorker:
    """A Dask worker as the build sees it: where it runs and how much it can take."""

    address: str
    host: str
    cores: int
    #: Tasks it runs at once (Dask's ``nthreads``).
    slots: int


@dataclass(frozen=True, kw_only=True)
class RemoteRun:
    """What a job returned on a worker, with where and how long it ran."""

    value: object
    host: str
    seconds: float


def run_timed(function: Callable, args: tuple, kwargs: dict) -> RemoteRun:
    """Run ``function`` on a worker and note the host and the time it took there."""
    started = time.monotonic()
    value = function(*args, **kwargs)
    return RemoteRun(value=value, host=socket.gethostname(), seconds=time.monotonic() - started)


def describe_worker() -> tuple[str, int]:
    """``(host name, usable cores)`` of the worker this runs on."""
    return socket.gethostname(), available_cores()


class ClusterFuture(cf.Future):
    """A job's future; once done, ``host`` and ``seconds`` say where and how long it ran."""

    host: str | None = None
    seconds: float | None = None


def cluster_timeout() -> float:
    """Seconds any wait on the cluster may last (Dask's connect timeout, 30 s by default)."""
    import dask.config
    from dask.utils import parse_timedelta

    return float(parse_timedelta(dask.config.get(CLUSTER_TIMEOUT_SETTING, default="30s"), default="seconds"))


class _DaskLog:
    """Keeps Dask's client-side log (tracebacks of lost connections...) off an author's terminal.

    What went wrong reaches the author as a diagnostic; ``weike -v`` shows Dask's own log too.
    Counted, so that two clusters in use at once restore the levels only when both are done.
    """

    _lock = threading.Lock()
    _users = 0
    _saved: dict[str, int] = {}

    @classmethod
    def silence(cls) -> None:
        with cls._lock:
            cls._users += 1
            if cls._users > 1 or logging.getLogger().isEnabledFor(logging.DEBUG):
                return
            names = {name for name in logging.root.manager.loggerDict
                     if name.split(".")[0] in ("distributed", "tornado")} | {"distributed", "tornado"}
            for name in names:
                logger = logging.getLogger(name)
                cls._saved[name] = logger.level
                logger.setLevel(logging.CRITICAL + 1)

    @classmethod
    def restore(cls) -> None:
        with cls._lock:
            cls._users = max(0, cls._users - 1)
            if cls._users:
                return
            for name, level in cls._saved.items():
                logging.getLogger(name).setLevel(level)
            cls._saved.clear()


def connect_cluster(address: str, *, timeout: float | None = None) -> ClusterExecutor:
    """A :class:`ClusterExecutor` on the scheduler at ``address`` with at least one worker.

    Raises :class:`ExecutorUnavailable` when Dask is not installed and :class:`ClusterUnavailable`
    when the scheduler cannot be reached or no worker joins within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError as exc:
        raise ExecutorUnavailable(
            f"分布式转码需要安装 dask[distributed] (--scheduler {address} needs "
            "'pip install weike[cluster]', which brings dask[distributed])"
        ) from exc
    timeout = timeout if timeout is not None else cluster_timeout()
    _DaskLog.silence()
    try:
        client = Client(address, timeout=timeout, set_as_default=False, name="weike")
    except Exception as exc:  # noqa: BLE001 - OSError, ValueError (bad address), Dask's own: one message
        _DaskLog.restore()
        raise ClusterUnavailable(f"无法连接 Dask 调度器 {address}",
                                 f"cannot reach the Dask scheduler at {address}: {_reason(exc)}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
        placed = client.run(describe_worker, on_error="return")
        slots = client.nthreads()
    except Exception as exc:  # noqa: BLE001 - a timeout, or the scheduler went away meanwhile
        _close(client, timeout)
        raise ClusterUnavailable(f"Dask 调度器 {address} 在 {timeout:.0f} 秒内没有可用的 worker",
                                 f"the scheduler at {address} has no workers after {timeout:.0f} s: "
                                 f"{_reason(exc)}") from None
    workers = tuple(
        ClusterWorker(address=worker, host=found[0], cores=found[1], slots=slots.get(worker, 1))
        for worker, found in sorted(placed.items()) if isinstance(found, tuple)
    )
    if not workers:
        _close(client, timeout)
        raise ClusterUnavailable(f"Dask 调度器 {address} 的 worker 都无法应答", f"no worker of {address} answered")
    return ClusterExecutor(client, address=address, workers=workers, timeout=timeout)


def _close(client, timeout: float) -> None:
    """Close a client made by :func:`connect_cluster` (and let Dask's log speak again)."""
    try:
        client.close(timeout=timeout)
    except Exception:  # noqa: BLE001 - closing a connection to a cluster that is gone: nothing to do
        pass
    finally:
        _DaskLog.restore()


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class ClusterExecutor(Executor):
    """Jobs on a Dask distributed cluster, behind the ``concurrent.futures`` interface.

    Made by :func:`connect_cluster`. Every job is submitted as impure (``pure=False``): a job
    is run, never answered from a result another client left in the cluster's memory.
    """

    def __init__(self, client, *, address: str, workers: tuple[ClusterWorker, ...], timeout: float) -> None:
        self.client = client
        self.address = address
        self.workers = workers
        self.timeout = timeout
        self._lock = threading.Lock()
        self._outstanding: dict[object, ClusterFuture] = {}
        self._closed = False
        self._stop = threading.Event()
        self._watchdog = threading.Thread(target=self._watch_workers, name="weike-cluster-watch", daemon=True)
        self._watchdog.start()

    def threads_per_job(self, running: int) -> int:
        """See :func:`job_threads`."""
        hosts: dict[str, tuple[int, int]] = {}
        for worker in self.workers:
            cores, slots = hosts.get(worker.host, (0, 0))
            hosts[worker.host] = (max(cores, worker.cores), slots + worker.slots)
        return min(threads_per_job(slots, running=running, cores=cores) for cores, slots in hosts.values())

    def submit(self, fn, /, *args, **kwargs) -> ClusterFuture:
        with self._lock:
            if self._closed:
                raise ClusterUnavailable("集群连接已关闭", "the cluster executor is shut down")
            # Named after the job's function, so the Dask dashboard says what is running.
            name = getattr(fn, "__name__", "job").replace("_", "-")
            task = self.client.submit(run_timed, fn, args, kwargs, pure=False,
                                      key=f"weike-{name}-{uuid.uuid4().hex}")
            future = ClusterFuture()
            self._outstanding[task] = future
        future.set_running_or_notify_cancel()
        task.add_done_callback(self._settle)
        return future

    def _settle(self, task) -> None:
        """Hand a finished Dask task's outcome to its future (runs on a Dask client thread)."""
        with self._lock:
            future = self._outstanding.pop(task, None)
        if future is None or future.done():
            return
        if task.status == "finished":
            try:
                run = task.result()
            except Exception as exc:  # noqa: BLE001 - the result could not be fetched: the cluster went away
                future.set_exception(self._lost(exc))
                return
            future.host, future.seconds = run.host, run.seconds
            future.set_result(run.value)
        elif task.status == "cancelled":
            future.set_exception(ClusterJobLost(f"任务被取消：与 Dask 调度器 {self.address} 的连接断开了",
                                                f"job cancelled: the connection to the scheduler at {self.address} "
                                                "was lost"))
        else:
            try:
                error = task.exception()
            except Exception as exc:  # noqa: BLE001 - the error could not be fetched either
                error = exc
            future.set_exception(self._lost(error) if _is_killed_worker(error) else error)

    def _lost(self, error: BaseException) -> ClusterJobLost:
        if _is_killed_worker(error):
            return ClusterJobLost("运行这个任务的 worker 多次意外退出（可能是内存不足或被终止），Dask 已放弃",
                                  f"the workers running this job died repeatedly, Dask gave up: {_reason(error)}")
        return ClusterJobLost("无法从集群取回结果", f"could not fetch the result from the cluster: {_reason(error)}")

    def _watch_workers(self) -> None:
        """Fail the jobs still waiting when the cluster has had no worker for ``timeout`` seconds."""
        since = None
        while not self._stop.wait(min(2.0, self.timeout / 4)):
            with self._lock:
                waiting = bool(self._outstanding)
            if not waiting:
                since = None
                continue
            try:
                count = len(self.client.scheduler_info().get("workers", {}))
            except Exception:  # noqa: BLE001 - the scheduler is unreachable: as good as no worker
                count = 0
            if count:
                since = None
                continue
            since = since or time.monotonic()
            if time.monotonic() - since >= self.timeout:
                self._fail_outstanding(ClusterJobLost(
                    f"集群已有 {self.timeout:.0f} 秒没有可用的 worker",
                    f"the cluster at {self.address} has had no workers for {self.timeout:.0f} s"))
                since = None

    def _fail_outstanding(self, error: Exception) -> None:
        with self._lock:
            outstanding, self._outstanding = self._outstanding, {}
        for task, future in outstanding.items():
            task.cancel()
            if not future.done():
                future.set_exception(error)

    def run_on_workers(self, function: Callable, *args) -> dict[str, object]:
        """``function(*args)`` on every worker now (outside the task queue): address -> result or exception."""
        return self.client.run(function, *args, on_error="return")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking jobs, cancel (or wait for) the ones left, close the connection to the cluster."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = [future for future in self._outstanding.values() if not future.done()]
        if cancel_futures or not wait:
            self._fail_outstanding(ClusterJobLost("构建已停止，任务未完成", "the build stopped before this job finished"))
        elif pending:
            cf.wait(pending)
        self._stop.set()
        self._watchdog.join(timeout=5)
        _close(self.client, self.timeout)


def _is_killed_worker(error: BaseException | None) -> bool:
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - only reachable with distributed installed
        return False
    return isinstance(error, KilledWorker)
