"""The file memo (one SQLite file) and the content-addressed store (complete entries or none)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from weike.builder.keeping.cache import ContentStore, FileMemo, cache_key, sha256_file


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


def test_cache_key_covers_every_part():
    base = cache_key(source="a", profile="p", recipe=1, encoder="6.0")
    assert base == cache_key(encoder="6.0", recipe=1, profile="p", source="a")
    assert len({base, cache_key(source="b", profile="p", recipe=1, encoder="6.0"),
                cache_key(source="a", profile="q", recipe=1, encoder="6.0"),
                cache_key(source="a", profile="p", recipe=2, encoder="6.0"),
                cache_key(source="a", profile="p", recipe=1, encoder="7.0")}) == 5


def test_store_entries_appear_complete_or_not_at_all(tmp_path):
    store = ContentStore(tmp_path / "store")
    key = "ab" + "0" * 62
    assert store.get(key) is None
    with store.writing() as temp:
        (temp / "video.mp4").write_bytes(b"video bytes")
        assert store.get(key) is None  # still being written: not visible
        entry = store.commit(key, temp, {"duration": 1.5})
    assert entry.facts["duration"] == 1.5 and entry.file("video.mp4").read_bytes() == b"video bytes"
    assert store.get(key).facts["files"] == {"video.mp4": 11}
    assert not os.access(entry.file("video.mp4"), os.W_OK) or os.geteuid() == 0
    assert [p.name for p in (tmp_path / "store").iterdir()] == ["ab"]


def test_store_refuses_an_entry_whose_file_was_damaged(tmp_path):
    store = ContentStore(tmp_path / "store")
    with store.writing() as temp:
        (temp / "video.mp4").write_bytes(b"complete")
        entry = store.commit("k1", temp, {})
    path = entry.file("video.mp4")
    path.chmod(0o644)
    path.write_bytes(b"cut")
    assert store.get("k1") is None


def test_failed_write_leaves_nothing(tmp_path):
    store = ContentStore(tmp_path / "store")
    try:
        with store.writing() as temp:
            (temp / "video.mp4").write_bytes(b"half")
            raise ValueError("encoder failed")
    except ValueError:
        pass
    assert store.get("k2") is None and list((tmp_path / "store").iterdir()) == []


def test_second_commit_of_the_same_key_keeps_the_first(tmp_path):
    store = ContentStore(tmp_path / "store")
    with store.writing() as temp:
        (temp / "video.mp4").write_bytes(b"first")
        store.commit("k3", temp, {"n": 1})
    with store.writing() as temp:
        (temp / "video.mp4").write_bytes(b"second")
        entry = store.commit("k3", temp, {"n": 2})
    assert entry.facts["n"] == 1 and not any(p.name.startswith(".tmp-") for p in (tmp_path / "store").iterdir())


def test_stale_temp_folders_of_dead_builds_are_removed(tmp_path):
    store = ContentStore(tmp_path / "store")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    host = socket.gethostname()
    (tmp_path / "store").mkdir()
    stale = tmp_path / "store" / f".tmp-0123456789ab-{dead.stdout.strip()}@{host}"
    live = tmp_path / "store" / f".tmp-0123456789ac-{os.getpid()}@{host}"
    other_host = tmp_path / "store" / ".tmp-0123456789ad-1@elsewhere"
    for folder in (stale, live, other_host):
        folder.mkdir()
        (folder / "video.mp4").write_bytes(b"partial")
    assert store.remove_stale_temps() == 1
    assert not stale.exists() and live.exists() and other_host.exists()


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


def test_verified_get_refuses_an_entry_whose_bytes_changed_with_size_and_mtime_kept(tmp_path):
    store = ContentStore(tmp_path / "store")
    with store.writing() as temp:
        (temp / "video.mp4").write_bytes(b"v" * 100)
        store.commit("ab" * 32, temp, {})
    video = store.folder("ab" * 32) / "video.mp4"
    before = video.stat()
    video.chmod(0o644)
    video.write_bytes(b"w" * 100)
    os.utime(video, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert store.get("ab" * 32) is not None  # the cheap check trusts size (as designed)
    assert store.get("ab" * 32, verify=True) is None
