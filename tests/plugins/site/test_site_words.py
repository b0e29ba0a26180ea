"""jieba's dictionary asked from a table (plugins/site/words.py): the same cuts as the loaded
dictionary, without loading it, in real processes (the dictionary is process state)."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.catalogue import _WORDS

#: Text to cut: the catalogue's words in runs of many lengths, mixed with Latin, digits, markup
#: and punctuation, and a few runs no dictionary holds whole.
TEXTS = [
    "社区教育品牌课程：智能手机视频通话入门，老年人学用微信、健康码与网上挂号。",
    "<b>居家康养</b>与太极拳基础 第3讲 ABC 手机上网 <img src=x onerror=alert(1)>",
    "中华人民共和国教育部关于终身学习平台的通知；乡村学习点的离线版",
    "饕餮龘靐齉爩鱻 麤 犇猋骉",
    *("".join(_WORDS[i:i + n]) for n in (1, 3, 7) for i in range(0, min(len(_WORDS), 60), n)),
]

#: Cut TEXTS in a fresh process (TMPDIR is the test's), print what jieba's dictionary was.
CUT = """
import json, sys
from weike.plugins.site import words
words.TABLE_LOOKUPS = int(sys.argv[2])
if sys.argv[1] == "whole":
    words.whole_dictionary()
from weike.plugins.site.search import segment
import jieba
words.jieba()  # as the site stage does before Material's search adds a repository's words
for word, frequency in json.loads(sys.argv[3]):
    jieba.add_word(word, frequency)
texts = json.loads(sys.stdin.read())
cuts = [segment(text) for text in texts]
freq = jieba.dt.FREQ
print(json.dumps({"cuts": cuts, "kind": type(freq).__name__, "lookups": getattr(freq, "lookups", None),
                  "table": str(words._table_path(words._dictionary_key(jieba)))}, ensure_ascii=False))
"""


def cut(tmp: Path, mode: str = "cut", *, lookups: int = 1_000_000, added=()) -> dict:
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, "-c", CUT, mode, str(lookups), json.dumps(list(added))],
                          input=json.dumps(TEXTS), capture_output=True, text=True, env=env, timeout=300, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def with_table(tmp_path_factory) -> tuple[Path, dict]:
    """A temp folder whose private jieba folder holds the table, written by a process that
    loaded the whole dictionary (as a cold build does), and that process's cuts."""
    tmp = tmp_path_factory.mktemp("words")
    whole = cut(tmp, "whole")
    assert whole["kind"] == "dict"
    assert Path(whole["table"]).is_file()
    return tmp, whole


def copy_of(tmp_path: Path, with_table) -> Path:
    source, _ = with_table
    target = tmp_path / "tmp"
    shutil.copytree(source, target)  # the private folder keeps its mode 0700
    return target


def test_cuts_asked_from_the_table_are_the_loaded_dictionarys_and_load_nothing_whole(with_table):
    tmp, whole = with_table
    asked = cut(tmp)
    assert asked["kind"] == "DictionaryTable", "the process loaded the whole dictionary"
    assert 0 < asked["lookups"] < 20_000
    assert asked["cuts"] == whole["cuts"]


def test_without_a_table_jieba_loads_its_dictionary_and_a_cut_alone_writes_none(tmp_path):
    plain = cut(tmp_path)
    assert plain["kind"] == "dict"
    assert not Path(plain["table"]).exists()  # only a cold build's whole load writes it


def test_many_lookups_load_the_whole_dictionary_with_the_same_cuts(tmp_path, with_table):
    _, whole = with_table
    many = cut(copy_of(tmp_path, with_table), lookups=40)
    assert many["kind"] == "dict", "after the lookups the tokenizer still asked the table"
    assert many["cuts"] == whole["cuts"]


@pytest.mark.parametrize("damage", ["garbage", "empty", "other key"])
def test_a_damaged_table_or_one_of_another_dictionary_is_no_table(tmp_path, with_table, damage):
    import sqlite3

    _, whole = with_table
    tmp = copy_of(tmp_path, with_table)
    table = Path(whole["table"].replace(str(with_table[0]), str(tmp)))
    if damage == "garbage":
        table.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    elif damage == "empty":
        table.write_bytes(b"")
    else:
        with sqlite3.connect(table) as connection:
            connection.execute("UPDATE meta SET key = 'another jieba'")
        connection.close()
    done = cut(tmp)
    assert done["kind"] == "dict"
    assert done["cuts"] == whole["cuts"]


def test_a_table_in_a_folder_another_user_could_write_is_not_read(tmp_path, with_table):
    tmp = copy_of(tmp_path, with_table)
    folder = next(tmp.glob("weike-jieba-*"))
    folder.chmod(0o777)
    assert cut(tmp)["kind"] == "dict"


def test_words_a_repository_adds_are_cut_as_by_the_loaded_dictionary(tmp_path, with_table):
    added = [("网上挂号", 50000), ("视频通话入门", 80000), ("离线版", 3000)]
    (tmp_path / "plain").mkdir()
    plain = cut(tmp_path / "plain", added=added)
    asked = cut(copy_of(tmp_path, with_table), added=added)
    switched = cut(copy_of(tmp_path / "again", with_table), lookups=40, added=added)
    assert asked["kind"] == "DictionaryTable" and switched["kind"] == "dict"
    assert asked["cuts"] == plain["cuts"] == switched["cuts"]
    assert any("视频通话入门" in text for text, _ in asked["cuts"])


def test_a_forked_process_asks_the_table_on_a_connection_of_its_own(with_table):
    tmp, whole = with_table
    script = CUT.replace("cuts = [segment(text) for text in texts]", """
segment(texts[0])  # the parent opened and used its connection
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(reader)
    os.write(writer, json.dumps([segment(text) for text in texts], ensure_ascii=False).encode())
    os._exit(0)
os.close(writer)
chunks = []
while chunk := os.read(reader, 65536):
    chunks.append(chunk)
os.waitpid(pid, 0)
cuts = json.loads(b"".join(chunks))
""").replace("import json, sys", "import json, os, sys")
    env = {**os.environ, "TMPDIR": str(tmp)}
    done = subprocess.run([sys.executable, "-c", script, "cut", "1000000", "[]"], input=json.dumps(TEXTS),
                          capture_output=True, text=True, env=env, timeout=300, check=True)
    forked = json.loads(done.stdout)
    assert forked["kind"] == "DictionaryTable"
    assert forked["cuts"] == whole["cuts"]


#: Load the whole dictionary as a cold build does, then jieba's own way into a second tokenizer;
#: print whether they hold the same words and whether pkg_resources was imported.
LOADED = """
import hashlib, json, marshal, sys
from weike.plugins.site import words
words.whole_dictionary()
import jieba
ours = jieba.dt
own = jieba.Tokenizer()
own.tmp_dir = ours.tmp_dir
own.initialize()
digest = lambda freq: hashlib.sha256(marshal.dumps(sorted(freq.items()))).hexdigest()
print(json.dumps({"same": type(ours.FREQ) is dict and digest(ours.FREQ) == digest(own.FREQ)
                          and ours.total == own.total and len(ours.FREQ) > 300_000,
                  "pkg_resources": "pkg_resources" in sys.modules}))
"""


def loaded(tmp: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp)}, timeout=300, check=True)
    return json.loads(done.stdout)


def test_the_dictionary_read_from_jiebas_cache_is_jiebas_own_whatever_the_cache(tmp_path):
    first = loaded(tmp_path)  # no cache yet: jieba builds the dictionary and writes its cache
    (cache,) = tmp_path.glob("weike-jieba-*/jieba.cache")
    again = loaded(tmp_path)  # read from that cache by weike
    assert first["same"] and again["same"]
    assert not first["pkg_resources"] and not again["pkg_resources"]
    cache.write_bytes(cache.read_bytes()[:1000])  # a cache cut short (a killed write) is no cache
    assert loaded(tmp_path)["same"]
    cache.write_bytes(b"")
    assert loaded(tmp_path)["same"]


#: Cut runs with RunCutter and with jieba itself in a fresh process whose jieba has the whole
#: dictionary and the words argv[1] adds; print the runs whose cuts differ.
COMPARE = """
import json, math, random, sys
from weike.plugins.site import words
words.whole_dictionary()
import jieba
for word, frequency in json.loads(sys.argv[1]):
    jieba.add_word(word, frequency)
rng = random.Random(25)
freq = jieba.dt.FREQ
known = sorted(word for word, frequency in freq.items() if frequency and len(word) > 1)
absent = [chr(c) for c in range(0x4E00, 0x9FD6) if chr(c) not in freq]
runs = json.loads(sys.stdin.read())
# Dictionary words run together, some with a character no word holds between them.
for _ in range(3000):
    parts = [rng.choice(known) for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.3:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(absent))
    runs.append("".join(parts))
# Characters drawn from the whole range jieba cuts by its dictionary (many unknown: its HMM).
for _ in range(3000):
    runs.append("".join(chr(rng.randint(0x4E00, 0x9FD5)) for _ in range(rng.randint(1, 40))))
# Runs of unknown characters alone, of one character repeated, very long, and of characters
# outside jieba's range (cut by jieba itself).
runs += ["".join(rng.sample(absent, n)) for n in (2, 3, 5, 9)]
runs += ["哈" * 200, "的的的", "".join(rng.choice(known) for _ in range(400)), "一", chr(0x9FD5)]
runs += ["㐀㐁㐂", "龦龧", "手机\\u9fd6上网", "豈更車", "𠀀𠀁学习", "学习𠀀"]
cutter = words.RunCutter()
differ = [[run, list(jieba.cut(run)), cutter.cut(run)] for run in runs if cutter.cut(run) != list(jieba.cut(run))]
parts = {run[at:at + n] for run in runs for n in (2, 3) for at in range(len(run) - n + 1)}
words_differ = sorted(part for part in parts if cutter.is_word(part) != bool(jieba.get_FREQ(part)))
print(json.dumps({"own": cutter._own, "runs": len(runs), "differ": differ[:10], "words_differ": words_differ[:10]},
                 ensure_ascii=False))
"""


def test_a_runs_cut_is_jiebas_own_on_a_catalogues_text_and_hostile_text(with_table):
    from benchmarks.catalogue import phrase
    from weike.plugins.site.search import _HAN

    tmp, _ = with_table
    rng = random.Random(4)
    catalogue = [phrase(rng, n) for n in (3, 4, 8, 10, 12) for _ in range(600)]
    runs = [run for text in [*TEXTS, *catalogue] for run in _HAN.findall(text)]
    # Two cuts of equal score ("ab" + "c" against "a" + "bc", each word as frequent as its
    # counterpart): jieba keeps the one whose first word is longer, and so must the cutter.
    done = subprocess.run([sys.executable, "-c", COMPARE, json.dumps([("龘靐", 7), ("齉", 3), ("龘", 3), ("靐齉", 7)])],
                          input=json.dumps(runs + ["龘靐齉", "齉龘靐齉龘"]), capture_output=True, text=True,
                          env={**os.environ, "TMPDIR": str(tmp)}, timeout=300, check=True)
    compared = json.loads(done.stdout)
    assert compared["own"], "jieba is not the version the cutter repeats: every run went to jieba"
    assert compared["runs"] > 9000
    assert compared["differ"] == []
    assert compared["words_differ"] == []
