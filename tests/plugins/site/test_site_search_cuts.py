"""A build's search entries reuse the cut of every text and Han run that recurs (plugins/site/search.py
SearchCuts): the entries equal those of cutting every text afresh with jieba, and a build that
follows a change of jieba's words (a repository's own dictionary) cuts with the new words."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.catalogue import write_repository
from benchmarks.search_recall import catalogue_of
from weike.plugins.site import search
from weike.plugins.site.search import SearchCuts, course_entry_inputs, entries_from

REPO_ROOT = Path(__file__).resolve().parents[3]

#: Texts an author may write: markup, entities, Latin and digits between Han runs, runs jieba's
#: own pattern does not cover, the same run twice.
HOSTILE = [
    "<b>居家康养</b>与太极拳基础 第3讲 ABC 手机上网 <img src=x onerror=alert(1)>",
    "课程：智能手机视频通话入门&amp;网上挂号 \"引号\" '单引号' 智能手机",
    "饕餮龘靐齉爩鱻 麤 犇猋骉 㐀㐁 豈更",
    "",
    "   ",
]


def reference_entry(location: str, title: str, texts, keywords) -> dict:
    """An entry as cutting every text afresh makes it (no cut remembered)."""
    jieba = search._jieba()

    def segment(text: str) -> tuple[str, list[str]]:
        extras: list[str] = []

        def cut(match) -> str:
            words = list(jieba.cut(match.group(0)))
            for word in words:
                for size in (2, 3):
                    if len(word) > size:
                        extras.extend(part for part in (word[i:i + size] for i in range(len(word) - size + 1))
                                      if jieba.get_FREQ(part))
            return " " + " ".join(words) + " "

        return " ".join(search._HAN.sub(cut, html.escape(text)).split()), extras

    title_words, extras = segment(title)
    sources, words = [title], []
    for text in [*texts, *keywords]:
        if text:
            cut, more = segment(text)
            words.append(cut)
            extras.extend(more)
            sources.append(text)
    words.extend(pair for source in sources for pair in search.bigrams(source))
    words.extend(extra for extra in extras if len(extra) > 2)
    entry = {"location": location, "title": html.escape(title),
             "text": " ".join(html.escape(text) for text in texts if text), "title_words": title_words}
    unique = list(dict.fromkeys(word for chunk in words for word in chunk.split()))
    if unique:
        entry["keywords"] = " ".join(unique)
    return entry


def test_a_builds_shared_cuts_give_the_entries_of_cutting_every_text_afresh(tmp_path):
    write_repository(tmp_path / "repo", 12)
    items = [*catalogue_of(REPO_ROOT).by_title, *catalogue_of(tmp_path / "repo").by_title]
    inputs = [course_entry_inputs(item) for item in items]
    inputs.append([("hostile/", HOSTILE[0], tuple(HOSTILE), tuple(reversed(HOSTILE))),
                   ("hostile/again/", HOSTILE[1], (HOSTILE[1], HOSTILE[0]), ())])
    cuts = SearchCuts()  # one build's, across every course
    shared = [entries_from(course, cuts=cuts) for course in inputs]
    expected = [[reference_entry(*entry) for entry in course] for course in inputs]
    assert shared == expected
    assert [entries_from(course) for course in inputs] == expected
    # The courses' texts do recur (each lecture's entry names its course): the cuts were reused.
    texts = [text for course in inputs for _, title, shown, keywords in course for text in (title, *shown, *keywords)]
    assert len(cuts._texts) < len(texts)


#: In a fresh process: the entries of TEXTS with a build's cuts, then (as a repository's own
#: dictionary does when Material's search loads it) words added to jieba, then a next build's.
NEXT_BUILD = """
import json, sys
from weike.plugins.site.search import SearchCuts, entries_from, _jieba
texts = json.loads(sys.stdin.read())
inputs = [("a/", text, (text,), ()) for text in texts]
jieba = _jieba()
added = json.loads(sys.argv[1])
if sys.argv[2] == "before":
    for word, frequency in added:
        jieba.add_word(word, frequency)
first = entries_from(inputs, cuts=SearchCuts())
if sys.argv[2] == "between":
    for word, frequency in added:
        jieba.add_word(word, frequency)
print(json.dumps({"first": first, "next": entries_from(inputs, cuts=SearchCuts())}, ensure_ascii=False))
"""


def test_the_build_after_jiebas_words_changed_cuts_with_the_new_words(tmp_path):
    texts = ["视频通话入门与网上挂号", "课程：视频通话入门", "离线版的乡村学习点"]
    added = [("网上挂号", 50000), ("视频通话入门", 80000), ("离线版", 3000)]

    def run(when: str) -> dict:
        done = subprocess.run([sys.executable, "-c", NEXT_BUILD, json.dumps(added), when], input=json.dumps(texts),
                              capture_output=True, text=True, env={**os.environ, "TMPDIR": str(tmp_path)},
                              timeout=300, check=True)
        return json.loads(done.stdout)

    between, before = run("between"), run("before")
    assert between["next"] == before["first"] == before["next"]
    assert between["first"] != between["next"]  # the words do change the cuts
    assert "视频通话入门" in between["next"][0]["title_words"].split()
