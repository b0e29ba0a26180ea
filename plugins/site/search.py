"""The site's search index, built from the catalogue instead of scraped from rendered pages.

The browser no longer reads this index whole: :mod:`weike.plugins.site.search_shards` cuts the
merged index into the shards ``assets/weike/search.js`` loads a query at a time. The words
below (jieba's cuts, the bigrams) stay the index's hidden words, and what the shards check a
candidate against; what follows describes the index as Material's lunr search reads it.

Material's search runs lunr in the browser over ``search/search_index.json``. Lunr splits text
only at separators, and Chinese has none, so every Han run is cut into words with jieba. The
words go into hidden fields that lunr indexes but the results list does not show: the title's
into ``title_words`` (boosted as the title is), the rest into ``keywords``. The title and text a
reader sees, and may copy, stay plain: no zero-width spaces between the words (Material's own
entries for hand-written pages are cleaned the same way in :func:`merge_search_index`). Words
alone miss substrings: jieba's precise mode makes "智能手机"
one word, its cut depends on the neighbours, and a query that straddles two of its words ("机上" in
在 / 手机 / 上, "家康" in 居家 / 康养) matches no word at all (the demo's recall was 68 %). Every
overlapping pair of Han characters (a bigram) therefore goes into ``keywords`` too.
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
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from operator import add
from pathlib import Path
from typing import NamedTuple

from weike.builder.keeping import outputs
from weike.builder.keeping.fingerprint import Fingerprint, package_versions
from weike.plugins.site.catalogue import Catalogue, SiteCourse

#: The extra lunr field (hidden from results) for the words of everything but the title:
#: jieba's words, its finer search-engine-mode words and the bigrams.
KEYWORDS_FIELD = "keywords"
KEYWORDS_BOOST = 10.0
#: The extra lunr field (hidden from results) for the title's words, weighted as Material weighs
#: the title (whose Han runs, left uncut, are one token each).
TITLE_WORDS_FIELD = "title_words"
TITLE_WORDS_BOOST = 1000.0
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")
_ZWSP = "\u200b"
_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w")


def _jieba():
    """The jieba module, quiet, with its dictionary asked from a table until much is cut
    (:mod:`weike.plugins.site.words`)."""
    from weike.plugins.site.words import jieba

    return jieba()


def bigrams(text: str) -> list[str]:
    """Every overlapping pair of Han characters in ``text`` (HTML-escaped, as the index holds it)."""
    pairs: list[str] = []
    for run in _HAN.findall(text):
        pairs.extend(run[i:i + 2] for i in range(len(run) - 1))
    return pairs


def segment(text: str) -> tuple[str, list[str]]:
    """``(text with the Han runs cut into words by spaces, finer extra words)``, both HTML-escaped.

    The cut text is for the hidden fields only: what readers see stays ``html.escape(text)``.
    """
    cut = SearchCuts().text(text)
    return " ".join(cut.words), list(cut.extras)


class TextCut(NamedTuple):
    """What an entry takes from one text: its words (the Han runs cut), jieba's finer extra words
    (those of three characters apart: the bigrams hold the others), its bigrams and the text as
    readers see it (all HTML-escaped, as the index holds them)."""

    words: tuple[str, ...]
    extras: tuple[str, ...]
    long_extras: tuple[str, ...]
    pairs: tuple[str, ...]
    shown: str


class SearchCuts:
    """Each text's :class:`TextCut` and each Han run's cut, made once and reused wherever the same
    text or run recurs: every lecture's entry cuts "课程：<course title>" again, and a catalogue's
    themes, providers, regions and tags recur course after course.

    A run's cut is a function of the run and jieba's dictionary: one of these lives for one build's
    courses (:func:`~weike.plugins.site.sources.generate_sources`), during which nothing adds words
    to jieba (Material's search loads a repository's own dictionary later, when MkDocs runs), so a
    remembered cut is the cut jieba would make. A worker process forked with one fills its own copy.
    """

    def __init__(self) -> None:
        self._texts: dict[str, TextCut] = {}
        #: Han run -> (its words between spaces, as they replace the run; its extra words, those
        #: of three characters; its bigrams).
        self._runs: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        #: jieba's cut of a run (:class:`~weike.plugins.site.words.RunCutter`), made at the first run.
        self._cutter = None

    def _new_cutter(self):
        from weike.plugins.site.words import RunCutter

        self._cutter = RunCutter()
        return self._cutter

    def text(self, text: str) -> TextCut:
        """The :class:`TextCut` of ``text``."""
        known = self._texts.get(text)
        if known is None:
            known = self._texts[text] = self._cut(text)
        return known

    def _cut(self, text: str) -> TextCut:
        runs = self._runs
        extras: list[str] = []
        long_extras: list[str] = []
        pairs: list[str] = []

        def cut(match: re.Match) -> str:
            run = match.group(0)
            known = runs.get(run)
            if known is None:
                cutter = self._cutter or self._new_cutter()
                words = cutter.cut(run)
                is_word = cutter.is_word
                # What jieba's search-engine mode adds: the dictionary words of two and three
                # characters inside longer words (computed here from the precise cut instead of
                # cutting twice).
                more: list[str] = []
                longer: list[str] = []
                for word in words:
                    if len(word) > 2:
                        more.extend([part for part in map(add, word, word[1:]) if is_word(part)])
                        if len(word) > 3:
                            three = [part for part in (word[i:i + 3] for i in range(len(word) - 2)) if is_word(part)]
                            more.extend(three)
                            longer.extend(three)
                # The bigrams: each character with the next.
                known = runs[run] = (" " + " ".join(words) + " ", tuple(more), tuple(longer), tuple(map(add, run, run[1:])))
            extras.extend(known[1])
            long_extras.extend(known[2])
            pairs.extend(known[3])
            return known[0]

        # Escaping changes no Han run (it replaces characters outside them): the runs, hence the
        # bigrams, of the escaped text are the text's.
        shown = html.escape(text)
        return TextCut(tuple(_HAN.sub(cut, shown).split()), tuple(extras), tuple(long_extras), tuple(pairs), shown)


def _entry(location: str, title: str, texts: Iterable[str], keywords: Iterable[str], *,
           with_bigrams: bool = True, cuts: SearchCuts | None = None) -> dict:
    cuts = cuts if cuts is not None else SearchCuts()
    title_cut = cuts.text(title)
    texts = [cuts.text(text) for text in texts if text]
    made = [*texts, *(cuts.text(keyword) for keyword in keywords if keyword)]
    words: list[str] = [word for cut in made for word in cut.words]
    if with_bigrams:
        # The bigrams hold every two-character word of jieba's search-engine mode too.
        words.extend(title_cut.pairs)
        for cut in made:
            words.extend(cut.pairs)
        words.extend(title_cut.long_extras)
        for cut in made:
            words.extend(cut.long_extras)
    else:
        words.extend(title_cut.extras)
        for cut in made:
            words.extend(cut.extras)
    entry = {"location": location, "title": title_cut.shown, "text": " ".join([cut.shown for cut in texts]),
             TITLE_WORDS_FIELD: " ".join(title_cut.words)}
    if words:
        entry[KEYWORDS_FIELD] = " ".join(dict.fromkeys(words))
    return entry


def search_entries(catalogue: Catalogue, *, notes_text: dict[str, str] | None = None,
                   with_bigrams: bool = True) -> list[dict]:
    """Index entries for every course and lecture page; ``notes_text`` (by lecture key) adds notes.

    ``with_bigrams=False`` is the index before substring search (kept for the recall benchmark).
    """
    return [entry for item in catalogue.by_title
            for entry in course_entries(item, notes_text=notes_text, with_bigrams=with_bigrams)]


def course_entry_inputs(item: SiteCourse, *, notes_text: Mapping[str, str] | None = None) -> list[tuple]:
    """What each entry of :func:`course_entries` is made from: ``(location, title, texts, keywords)``."""
    course = item.course
    inputs: list[tuple] = [(item.url, item.title, (course.summary or "",),
                            (course.theme or "", course.provider.name or "", course.provider.region or "",
                             *(person.name or "" for person in course.instructors), *course.tags))]
    for lecture in item.lectures:
        texts = [f"课程：{item.title}", lecture.lecture.knowledge_point or ""]
        if notes_text is not None:
            texts.append(notes_text.get(lecture.lecture.key, ""))
        inputs.append((lecture.url, lecture.title, tuple(texts), ()))
    return inputs


def entries_from(inputs: Iterable[tuple], *, with_bigrams: bool = True, cuts: SearchCuts | None = None) -> list[dict]:
    """The entries made from :func:`course_entry_inputs` (the jieba work); ``cuts`` (a build's)
    reuses the cuts of texts other courses' entries had."""
    cuts = cuts if cuts is not None else SearchCuts()
    return [_entry(location, title, texts, keywords, with_bigrams=with_bigrams, cuts=cuts)
            for location, title, texts, keywords in inputs]


def course_entries(item: SiteCourse, *, notes_text: Mapping[str, str] | None = None,
                   with_bigrams: bool = True) -> list[dict]:
    """The entries of one course's page and its lectures' pages (the jieba work: remembered per
    course by :mod:`weike.plugins.site.course_memo`, by what they are made from)."""
    return entries_from(course_entry_inputs(item, notes_text=notes_text), with_bigrams=with_bigrams)


def _plain(doc: dict) -> dict:
    """One of Material's own entries with its jieba cuts (zero-width spaces) moved to the hidden fields."""
    title, text = str(doc.get("title", "")), str(doc.get("text", ""))
    if _ZWSP not in title and _ZWSP not in text:
        return doc
    plain = {**doc, "title": title.replace(_ZWSP, ""), "text": text.replace(_ZWSP, "")}
    plain[TITLE_WORDS_FIELD] = " ".join(title.replace(_ZWSP, " ").split())
    # The text is rendered HTML: its words, without the markup; then the bigrams, as in _entry.
    words = [word for word in _TAG.sub(" ", text).replace(_ZWSP, " ").split() if _WORD.search(word)]
    words.extend(bigrams(plain["title"]))
    words.extend(bigrams(_TAG.sub(" ", plain["text"])))
    plain[KEYWORDS_FIELD] = " ".join(dict.fromkeys([*str(doc.get(KEYWORDS_FIELD, "")).split(), *words]))
    return plain


def merge_search_index(site_dir: Path, entries: list[dict]) -> int:
    """Add ``entries`` to the index Material wrote (hand-written pages, made plain for readers);
    returns its size in bytes."""
    path = site_dir / "search" / "search_index.json"
    payload = merged_search_index(path.read_bytes(), entries)
    path.write_bytes(payload)
    return len(payload)


def merged_search_index(material: bytes, entries: list[dict]) -> bytes:
    """The index file of :func:`merge_search_index`, from the bytes of the one Material wrote (or
    will write: a build that shares its pages makes it while they render)."""
    data = json.loads(material.decode("utf-8"))
    fields = data["config"].setdefault("fields", {})
    fields[KEYWORDS_FIELD] = {"boost": KEYWORDS_BOOST}
    fields[TITLE_WORDS_FIELD] = {"boost": TITLE_WORDS_BOOST}
    data["docs"] = [*(_plain(doc) for doc in data.get("docs", [])), *entries]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------------------------
# The cuts of Material's own entries, remembered between builds
# --------------------------------------------------------------------------------------------

#: The remembered cuts' file, in the site build's work folder.
CUTS_FILE = "material-search-cuts.json"
#: The file's layout; a file of another layout (or key) is no memo.
CUTS_FORMAT = 1
#: Options of Material's search plugin that change jieba's dictionary for the whole process:
#: with one of them, every run is cut by jieba (the memo would not know that dictionary).
_DICTIONARY_OPTIONS = frozenset({"jieba_dict", "jieba_dict_user"})


class RememberedCuts:
    """jieba's cut of each Han run of the pages Material's search indexes (the hand-written pages
    of ``site/``, plugins' pages), kept between builds in :data:`CUTS_FILE`.

    Material's search cuts those pages' text with ``jieba.cut`` on every build, and the first cut
    of a process loads jieba's dictionary: half a second, on an edit that changed no indexed text
    (a lecture's notes, a video, a course deleted). A run's cut is a function of the run and
    jieba's dictionary alone (the file is keyed by jieba's version), so a remembered cut is the
    cut jieba would make: the index equals a cold build's; remembered words that do not join into
    their run are cut again. Only the runs the build asked for are written back. The file is JSON (nothing in the cache is executed); a damaged file, or one of
    another layout or jieba, is no memo.
    """

    def __init__(self, path: Path, *, read: bool = True) -> None:
        self.path = path
        self._key = Fingerprint("material-search-cuts", CUTS_FORMAT, package_versions("jieba")).hexdigest()
        self._known: dict[str, list[str]] = self._read() if read else {}
        #: Every run cut in this build, with its words (what :meth:`save` writes).
        self.used: dict[str, list[str]] = {}
        #: How many runs jieba itself cut in this build (0: its dictionary was not loaded).
        self.cut_by_jieba = 0

    def _read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("format") != CUTS_FORMAT or data.get("key") != self._key:
                return {}
            cuts = data["cuts"]
            if isinstance(cuts, dict) and all(isinstance(words, list) and all(isinstance(w, str) for w in words)
                                              for words in cuts.values()):
                return cuts
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return {}

    def cut(self, sentence: str | bytes) -> Iterator[str]:
        """``jieba.cut(sentence)`` (default arguments, as Material calls it), remembered."""
        text = sentence.decode("utf-8") if isinstance(sentence, bytes) else str(sentence)
        words = self.used.get(text)
        if words is None:
            words = self._known.get(text)
        # A cut only splits its run: remembered words that do not make the run again (a file
        # altered in the cache) are no memo, so the index never holds text the pages do not.
        if words is None or "".join(words) != text:
            words = list(_jieba().cut(text))
            self.cut_by_jieba += 1
        self.used[text] = words
        return iter(words)

    def save(self) -> None:
        """Write the runs this build cut, when they differ from the file's (a failed write is no memo)."""
        if self.used == self._known:
            return
        data = {"format": CUTS_FORMAT, "key": self._key, "cuts": self.used}
        try:
            outputs.write_atomic(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                                                       sort_keys=True).encode("utf-8"), sync=False)
        except OSError:
            self.path.unlink(missing_ok=True)


def cuts_allowed(plugin_entries: Iterable) -> bool:
    """Whether Material's search may be lent :class:`RememberedCuts`: not when the repository's
    ``mkdocs.yml`` gives it a dictionary of its own (``jieba_dict``, ``jieba_dict_user``)."""
    for entry in plugin_entries:
        if isinstance(entry, Mapping):
            for name, options in entry.items():
                if name in ("search", "material/search") and isinstance(options, Mapping) \
                        and _DICTIONARY_OPTIONS & set(options):
                    return False
    return True


@contextmanager
def lent_to_material_search(cuts: RememberedCuts | None) -> Iterator[None]:
    """For the duration of the block, Material's search cuts Han runs with ``cuts``: its plugin
    calls the module it imported (``material.plugins.search.plugin.jieba``) and nothing else of
    it where no dictionary option is set; the module is given back afterwards."""
    try:
        from material.plugins.search import plugin as material_search
    except ImportError:
        material_search = None
    if cuts is None or material_search is None or getattr(material_search, "jieba", None) is None:
        yield
        return
    real = material_search.jieba
    material_search.jieba = cuts
    try:
        yield
    finally:
        material_search.jieba = real
