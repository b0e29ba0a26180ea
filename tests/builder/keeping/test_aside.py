"""Work done in a forked process: its bytes come back, and a failure is None (the caller does it)."""

from __future__ import annotations

import os
import signal

import pytest

from weike.builder.keeping.aside import BytesAside

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork: the caller always does the work")


def test_the_bytes_the_work_returns_come_back_from_the_forked_process():
    parent = os.getpid()
    aside = BytesAside(lambda: f"{os.getpid()} ".encode() + b"x" * 200_000)  # more than a pipe holds
    assert aside.started
    pid, _, rest = aside.result().partition(b" ")
    assert int(pid) != parent and rest == b"x" * 200_000
    assert aside.result() is None  # taken once


def test_a_work_that_fails_or_a_process_killed_gives_no_result():
    def failing() -> bytes:
        raise ValueError("a walk that failed")

    assert BytesAside(failing).result() is None

    def killed() -> bytes:
        os.kill(os.getpid(), signal.SIGKILL)
        return b"never"

    assert BytesAside(killed).result() is None


def test_a_process_stopped_is_not_waited_for():
    aside = BytesAside(lambda: (signal.pause(), b"")[1])
    aside.stop()
    assert aside.result() is None
