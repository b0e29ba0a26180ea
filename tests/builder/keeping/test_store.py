"""The content-addressed store: complete entries or none."""

from __future__ import annotations

import os
import subprocess
import sys

from weike.builder.keeping.store import ContentStore, cache_key


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
