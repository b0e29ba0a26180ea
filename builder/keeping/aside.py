"""Work done beside this process, in a forked one whose result (bytes) is read back once it exits.

The build's own bookkeeping at catalogue scale is walks of tens of thousands of folders and files
(the course folders at the start, the output folders at the end), done while the other core
idles: :class:`BytesAside` does part of such a walk in a forked process while this one does the
rest. The result comes back through an unnamed temporary file, not a pipe: a pipe holds 64 kB,
and a process whose result is more would wait until this one read it.

Where there is no ``fork``, or the forked process fails in any way (killed, out of memory, an
exception), :meth:`BytesAside.result` is None and the caller does that part itself: what is made
is what one process makes.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable


class BytesAside:
    """``work()`` (bytes) started in a forked process: :meth:`result` waits for it, :meth:`stop`
    ends it unwaited for (this process failed meanwhile, or no longer needs it)."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        self._process: tuple[int, int] | None = None
        if not hasattr(os, "fork"):
            return
        try:
            results = tempfile.TemporaryFile()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            results.close()
            return
        if pid:
            self._process = pid, os.dup(results.fileno())
            results.close()
            return
        # The forked process: never returns into the caller's code, whatever happens.
        status = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            view = memoryview(work())
            descriptor = results.fileno()
            while view:
                view = view[os.write(descriptor, view):]
            status = 0
        finally:
            os._exit(status)

    @property
    def started(self) -> bool:
        return self._process is not None

    def result(self) -> bytes | None:
        """What ``work`` returned, once the process has exited; None when it could not be forked or failed."""
        if self._process is None:
            return None
        pid, descriptor = self._process
        self._process = None
        try:
            _, status = os.waitpid(pid, 0)
        except OSError:
            os.close(descriptor)
            return None
        try:
            with os.fdopen(descriptor, "rb") as results:
                results.seek(0)  # (the forked process's writes moved the offset this descriptor shares)
                payload = results.read()
        except OSError:
            return None
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        return payload

    def stop(self) -> None:
        """Kill the process unwaited for, and close its file."""
        if self._process is None:
            return
        pid, descriptor = self._process
        self._process = None
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
        os.close(descriptor)
