"""The site's search index, built from the catalogue instead of scraped from rendered pages.

Material's search runs lunr in the browser over ``search/search_index.json``. Lunr splits text
only at separators, and Chinese has none, so every Han run is cut into words with jieba before
it is indexed; the words are joined with a zero-width space, which Material's Chinese separator
splits on and readers never see. Words alone miss substrings: jieba's precise mode makes "智能手机"
one word, its cut depends on the neighbours, and a query that straddles two of its words ("机上" in
在 / 手机 / 上, "家康" in 居家 / 康养) matches no word at all (the demo's recall was 68 %). Every
overlapping pair of Han characters (a bigram) therefore
goes into a hidden ``keywords`` field that lunr indexes but the results list does not show.
Material's search cuts a Han query greedily into tokens found in the index (its "segment" step)
and ORs them with a trailing wildcard, so any two- to four-character query meets the bigrams of
every text that contains it (``benchmarks/search_recall.py`` measures recall against substring
ground truth and the index size).

Each lecture's result names its course (the text starts with 课程：…), since a phone screen shows
the result without the page around it.

What is indexed: course titles, summaries, themes, providers, instructors and tags; lecture
titles and knowledge points. Lecture notes are left out by default (``extra.weike.search_notes``
in ``mkdocs.yml`` puts them in): at catalogue scale they would multiply the index that every
phone downloads before its first search (see ``benchmarks/site.py``).

Everything in an entry is HTML-escaped text: Material inserts a result's title and text into the
page as HTML (its index normally holds rendered Markdown), so an author's
``<img src=x onerror=...>`` in a title, a knowledge point or the notes' plain text would run in
every reader's browser that searched for it.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from weike.plugins.site.catalogue import Catalogue

#: The extra lunr field (hidden from results) for jieba's finer search-engine-mode words.
KEYWORDS_FIELD = "keywords"
KEYWORDS_BOOST = 10.0
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")
_ZWSP = "\u200b"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    # jieba announces its dictionary loading on stderr at DEBUG level; weike's output stays clean.
    jieba.setLogLevel(logging.WARNING)
    return jieba


def bigrams(text: str) -> list[str]:
    """Every overlapping pair of Han characters in ``text`` (HTML-escaped, as the index holds it)."""
    pairs: list[str] = []
    for run in _HAN.findall(text):
        pairs.extend(run[i:i + 2] for i in range(len(run) - 1))
    return pairs


def segment(text: str) -> tuple[str, list[str]]:
    """``(display text with zero-width spaces between words, finer extra words)``, both
    HTML-escaped (Material shows them as HTML)."""
    jieba = _jieba()
    text = html.escape(text)
    extras: list[str] = []

    def cut(match: re.Match) -> str:
        run = match.group(0)
        words = list(jieba.cut(run))
        # What jieba's search-engine mode adds: the dictionary words of two and three characters
        # inside longer words (computed here from the precise cut instead of cutting twice).
        for word in words:
            for size in (2, 3):
                if len(word) > size:
                    extras.extend(part for part in (word[i:i + size] for i in range(len(word) - size + 1))
                                  if jieba.get_FREQ(part))
        return _ZWSP + _ZWSP.join(words) + _ZWSP

    return _HAN.sub(cut, text).strip(_ZWSP), extras


def _entry(location: str, title: str, texts: Iterable[str], keywords: Iterable[str], *,
           with_bigrams: bool = True) -> dict:
    shown_title, extras = segment(title)
    sources = [title]
    shown_texts = []
    for text in texts:
        if text:
            shown, more = segment(text)
            shown_texts.append(shown)
            extras.extend(more)
            sources.append(text)
    words: list[str] = []
    for keyword in keywords:
        if keyword:
            shown, more = segment(keyword)
            words.append(shown)
            words.extend(more)
            sources.append(keyword)
    if with_bigrams:
        # The bigrams hold every two-character word of jieba's search-engine mode too.
        words.extend(pair for source in sources for pair in bigrams(source))
        words.extend(extra for extra in extras if len(extra) > 2)
    else:
        words.extend(extras)
    entry = {"location": location, "title": shown_title, "text": " ".join(shown_texts)}
    unique = list(dict.fromkeys(words))
    if unique:
        entry[KEYWORDS_FIELD] = " ".join(unique)
    return entry


def search_entries(catalogue: Catalogue, *, notes_text: dict[str, str] | None = None,
                   with_bigrams: bool = True) -> list[dict]:
    """Index entries for every course and lecture page; ``notes_text`` (by lecture key) adds notes.

    ``with_bigrams=False`` is the index before substring search (kept for the recall benchmark).
    """
    entries = []
    for item in catalogue.by_title:
        course = item.course
        entries.append(_entry(
            item.url, item.title, [course.summary or ""],
            [course.theme or "", course.provider.name or "", course.provider.region or "",
             *(person.name or "" for person in course.instructors), *course.tags],
            with_bigrams=with_bigrams,
        ))
        for lecture in item.lectures:
            texts = [f"课程：{item.title}", lecture.lecture.knowledge_point or ""]
            if notes_text is not None:
                texts.append(notes_text.get(lecture.lecture.key, ""))
            entries.append(_entry(lecture.url, lecture.title, texts, [], with_bigrams=with_bigrams))
    return entries


def merge_search_index(site_dir: Path, entries: list[dict]) -> int:
    """Add ``entries`` to the index Material wrote (hand-written pages); returns its size in bytes."""
    path = site_dir / "search" / "search_index.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["config"].setdefault("fields", {})[KEYWORDS_FIELD] = {"boost": KEYWORDS_BOOST}
    data["docs"] = [*data.get("docs", []), *entries]
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path.write_bytes(payload)
    return len(payload)
