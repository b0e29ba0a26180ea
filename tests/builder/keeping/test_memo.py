"""The file memo: facts about files in one SQLite file, forgotten when a file changes."""

from __future__ import annotations

import os
import threading

from weike.builder.keeping.memo import FileMemo, sha256_file


def test_memo_remembers_until_the_file_changes(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"first version")
    calls = []

    def compute(path):
        calls.append(path)
        return {"bytes": path.read_bytes().decode()}

    with FileMemo(tmp_path / "memo.sqlite") as memo:
        assert memo.remember("facts", source, compute) == {"bytes": "first version"}
        assert memo.remember("facts", source, compute) == {"bytes": "first version"}
        assert len(calls) == 1
        # Same size, new content and mtime: noticed.
        source.write_bytes(b"other version")
        os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
        assert memo.remember("facts", source, compute) == {"bytes": "other version"}
        assert len(calls) == 2
    # It persists across processes: one file.
    with FileMemo(tmp_path / "memo.sqlite") as memo:
        assert memo.get("facts", source) == {"bytes": "other version"}
        assert memo.sha256(source) == sha256_file(source)


def test_memo_is_safe_across_threads(tmp_path):
    files = []
    for index in range(20):
        path = tmp_path / f"f{index}"
        path.write_bytes(os.urandom(1000))
        files.append(path)
    with FileMemo(tmp_path / "memo.sqlite") as memo:
        threads = [threading.Thread(target=lambda p=p: memo.sha256(p)) for p in files]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(memo.get("sha256", p) == sha256_file(p) for p in files)


def test_unusable_memo_degrades_to_no_memo(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    source = tmp_path / "a"
    source.write_bytes(b"a")
    with FileMemo(blocker / "memo.sqlite") as memo:
        assert memo.remember("k", source, lambda p: 1) == 1
        assert memo.get("k", source) is None


def test_memo_misses_an_in_place_edit_that_keeps_size_mtime_and_inode(tmp_path):
    source = tmp_path / "video.mp4"
    source.write_bytes(b"a" * 1000)
    before = source.stat()
    with FileMemo(tmp_path / "memo.sqlite") as memo:
        assert memo.sha256(source) == sha256_file(source)
        with source.open("r+b") as handle:  # same inode, same size
            handle.write(b"b" * 10)
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))  # same mtime
        after = source.stat()
        assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
        # Only the ctime tells: the memo must not answer with the old hash.
        assert memo.sha256(source) == sha256_file(source)


def test_a_truncated_memo_is_rebuilt_once_and_not_reported_again(tmp_path, caplog):
    path = tmp_path / "memo.sqlite"
    source = tmp_path / "file.bin"
    source.write_bytes(b"x" * 100)
    with FileMemo(path) as memo:
        for index in range(100):
            other = tmp_path / f"f{index}"
            other.write_bytes(b"%d" % index)
            memo.sha256(other)
        memo.compact()
    path.write_bytes(path.read_bytes()[:3000])  # cut short (a full disk, a killed copy)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    with caplog.at_level("WARNING", logger="weike.cache"):
        with FileMemo(path) as memo:
            assert memo.sha256(source) == sha256_file(source)
    assert any("rebuilt" in record.getMessage() for record in caplog.records), caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="weike.cache"):
        with FileMemo(path) as memo:
            assert memo.get("sha256", source) == sha256_file(source)
    assert caplog.records == [], caplog.text


def test_facts_put_in_a_batch_are_written_in_one_transaction_at_its_end(tmp_path):
    import contextlib
    import sqlite3

    import pytest

    files = []
    for index in range(5):
        files.append(tmp_path / f"cover-{index}.jpg")
        files[-1].write_bytes(os.urandom(100))

    def written() -> int:
        with contextlib.closing(sqlite3.connect(tmp_path / "memo.sqlite")) as other:
            return other.execute("SELECT count(*) FROM facts").fetchone()[0]

    with FileMemo(tmp_path / "memo.sqlite") as memo:
        with memo.batch():
            digests = [memo.sha256(file) for file in files[:3]]
            assert written() == 0  # another process sees none of them yet
            assert memo.sha256(files[0]) == digests[0] == sha256_file(files[0])  # this one does
        assert written() == 3
        with pytest.raises(KeyError), memo.batch():  # cut short: what it had put is kept
            memo.sha256(files[3])
            raise KeyError("a cover")
        assert written() == 4
        memo.sha256(files[4])  # outside a batch: written at once
        assert written() == 5
