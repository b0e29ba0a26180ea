"""jieba's dictionary, asked word by word from a table on disk instead of loaded whole.

jieba cuts a Han run by looking up its substrings in a prefix dictionary of about 500,000 words
(``Tokenizer.FREQ``: each word's frequency, 0 for a mere prefix). Loading it takes half a second
per process, whatever the text: an edit that changes a course's title, or adds a course, paid that
half second to cut a few dozen characters. :class:`DictionaryTable` is the same dictionary as an
SQLite table, written once (by the first cold build of a catalogue large enough to cut its courses
in worker processes, which loads the whole dictionary anyway: :func:`whole_dictionary`) and asked
only for the substrings a cut looks up, each remembered for the rest of the process. The
lookups give jieba the very values the loaded dictionary would, so every cut is the same (tested
on a catalogue's text).

Where cutting is much (a cold build cuts every course), a table would be slower than the loaded
dictionary: after :data:`TABLE_LOOKUPS` lookups the process loads the whole dictionary after all,
and a cold build loads it before its worker processes fork (:func:`whole_dictionary`).

Only jieba's own default dictionary is ever a table; a repository's ``mkdocs.yml`` that gives
Material's search a dictionary of its own makes jieba load that one (it replaces the table). The
table, and jieba's own cache of the loaded dictionary (which jieba otherwise keeps in the shared
temp folder, where another user could put a file of their own), live in a folder of the system's
temp folder that only this user may use (:func:`~weike.builder.keeping.outputs.private_folder`).
A table of another jieba, another dictionary file or another layout, or one that cannot be read, is
no table.

The whole dictionary is loaded from the cache jieba writes, read whole and unmarshalled from bytes
(:func:`load_dictionary`: a third of the CPU of jieba's own ``marshal.load`` of the open file), and
jieba is imported without ``pkg_resources`` (:func:`_import_jieba`).
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import sqlite3
import sys
import threading
from functools import lru_cache
from math import log as math_log
from pathlib import Path

#: The table's layout; a table of another layout is no table.
TABLE_FORMAT = 1
#: Lookups after which a process loads the whole dictionary rather than ask the table (a table
#: lookup costs a few microseconds, a loaded one a tenth of that: 20,000 lookups ~ 0.1 s).
TABLE_LOOKUPS = 20_000

_ABSENT = object()
#: A mere prefix of words in :class:`RunCutter`'s table (a frequency of 0: no word itself).
_PREFIX = object()


@lru_cache(maxsize=1)
def jieba():
    """The jieba module, quiet, its cache in this user's private folder and, when the default
    dictionary is not loaded yet and a table of it was written, its dictionary the table."""
    module = _import_jieba()
    # jieba announces its dictionary loading on stderr at DEBUG level; weike's output stays clean.
    module.setLogLevel(logging.WARNING)
    tokenizer = module.dt
    if tokenizer.initialized or tokenizer.dictionary != module.DEFAULT_DICT:
        return module
    key = _dictionary_key(module)
    path = _table_path(key)
    if path is None:
        return module
    tokenizer.tmp_dir = str(path.parent)
    table = DictionaryTable.open(path, key)
    if table is not None:
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = table, table.total, True
    return module


def whole_dictionary() -> None:
    """Load jieba's whole dictionary into this process (before worker processes fork, so they
    share it and none asks a table a million times). Where this loads the default dictionary
    afresh and there is no table of it yet, the table is written (a cold build's, once)."""
    module = jieba()
    tokenizer = module.dt
    if isinstance(tokenizer.FREQ, DictionaryTable):
        tokenizer.FREQ.load_whole(tokenizer)
        return
    if tokenizer.initialized:
        return  # loaded already, perhaps with a repository's own words: not the table's to copy
    load_dictionary(tokenizer)
    if tokenizer.dictionary != module.DEFAULT_DICT:
        return
    key = _dictionary_key(module)
    path = _table_path(key)
    if path is not None and DictionaryTable.open(path, key) is None:
        write_table(path, key, tokenizer.FREQ, tokenizer.total)


def _import_jieba():
    """``import jieba``, without the ``pkg_resources`` its ``_compat`` imports when it can (a
    twentieth of a second, for the two model files it then opens by path all the same)."""
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        import jieba as module

        return module
    sys.modules["pkg_resources"] = None  # (its import raises ImportError: jieba's own fallback)
    try:
        import jieba as module
    finally:
        if sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]
    return module


def load_dictionary(tokenizer) -> None:
    """``tokenizer.initialize()``, but the default dictionary's cache that jieba wrote is read
    whole and unmarshalled from bytes: jieba's ``marshal.load`` of the open file reads it object by
    object, three times the CPU (0.4 s against 0.13 s for its 500,000 words). The same file, the
    same values; anything else (another dictionary, no cache yet, a cache that does not load) is
    jieba's own loading, which writes the cache."""
    import jieba as module

    if (not tokenizer.initialized and not tokenizer.cache_file
            and tokenizer.dictionary == module.DEFAULT_DICT):
        import tempfile

        cache = Path(tokenizer.tmp_dir or tempfile.gettempdir()) / "jieba.cache"
        try:
            loaded = marshal.loads(cache.read_bytes())
            freq, total = loaded
        except (OSError, EOFError, ValueError, TypeError):
            pass
        else:
            if isinstance(freq, dict) and isinstance(total, int):
                with tokenizer.lock:
                    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = freq, total, True
                return
    tokenizer.initialize()


def _table_path(key: str) -> Path | None:
    """Where the table written for ``key`` is: one file a key, so two installs of weike (each
    with its own jieba) do not replace each other's table."""
    import hashlib

    from weike.builder.keeping.outputs import private_folder

    folder = private_folder("jieba")
    name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
    return None if folder is None else folder / f"dictionary-{name}.sqlite"


def _dictionary_key(module) -> str:
    """What the table must have been written from: jieba's version and its dictionary file."""
    dictionary = Path(module.__file__).with_name(module.DEFAULT_DICT_NAME)
    try:
        found = dictionary.stat()
        identity = f"{found.st_size}:{found.st_mtime_ns}"
    except OSError:
        identity = "absent"
    return f"{TABLE_FORMAT}|{getattr(module, '__version__', '?')}|{identity}"


def write_table(path: Path, key: str, words: dict[str, int], total: int) -> None:
    """Write the dictionary ``words`` (jieba's FREQ) and ``total`` to ``path``, whole or not at all
    (a temporary file renamed into place); a failure leaves no table."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.unlink(missing_ok=True)
        connection = sqlite3.connect(temporary)
        try:
            connection.execute("PRAGMA journal_mode=OFF")
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("CREATE TABLE meta (key TEXT NOT NULL, total INTEGER NOT NULL)")
            connection.execute("CREATE TABLE words (word TEXT PRIMARY KEY, frequency INTEGER NOT NULL) WITHOUT ROWID")
            connection.executemany("INSERT INTO words VALUES (?, ?)", words.items())
            connection.execute("INSERT INTO meta VALUES (?, ?)", (key, total))
            connection.commit()
        finally:
            connection.close()
        os.replace(temporary, path)
    except (OSError, sqlite3.Error):
        temporary.unlink(missing_ok=True)


class DictionaryTable:
    """jieba's FREQ as jieba uses it (``get``, ``in``, ``[]``, and ``[]=`` for words a repository
    adds), answered from the table and remembered; after :data:`TABLE_LOOKUPS` lookups, or when
    the table fails, the whole dictionary is loaded and answers instead."""

    def __init__(self, path: Path, total: int) -> None:
        self.path = path
        self.total = total
        self.lookups = 0
        self._known: dict[str, int | None] = {}
        self._added: dict[str, int] = {}
        self._whole: dict[str, int] | None = None
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = -1

    @classmethod
    def open(cls, path: Path, key: str) -> DictionaryTable | None:
        """The table at ``path`` if it was written for ``key``; None otherwise."""
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error:
            return None
        try:
            row = connection.execute("SELECT key, total FROM meta").fetchone()
        except sqlite3.Error:
            connection.close()
            return None
        if row is None or row[0] != key or not isinstance(row[1], int):
            connection.close()
            return None
        table = cls(path, row[1])
        table._connection, table._pid = connection, os.getpid()
        return table

    def _ask(self, word: str) -> int | None:
        if self._whole is not None:
            return self._whole.get(word)
        known = self._known.get(word, _ABSENT)
        if known is not _ABSENT:
            return known
        with self._lock:
            self.lookups += 1
            if self.lookups > TABLE_LOOKUPS:
                return self._answer_whole(word)
            try:
                if self._pid != os.getpid():  # a forked process opens its own connection
                    self._connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                                       check_same_thread=False)
                    self._pid = os.getpid()
                row = self._connection.execute("SELECT frequency FROM words WHERE word = ?", (word,)).fetchone()
            except sqlite3.Error:  # damaged or gone since: the dictionary itself answers
                return self._answer_whole(word)
        value = self._known[word] = None if row is None else row[0]
        return value

    def _answer_whole(self, word: str) -> int | None:
        import jieba as module

        self.load_whole(module.dt)
        return self._whole.get(word)

    def load_whole(self, tokenizer=None) -> None:
        """Answer from here on from jieba's whole dictionary (the words a repository added kept);
        with ``tokenizer``, also hand the whole dictionary to it, so jieba asks it directly."""
        if self._whole is None:
            import jieba as module

            loaded = module.Tokenizer()
            loaded.tmp_dir = module.dt.tmp_dir
            load_dictionary(loaded)
            self._whole = loaded.FREQ
            self._whole.update(self._added)
            if self._connection is not None and self._pid == os.getpid():
                self._connection.close()
            self._connection = None
        if tokenizer is not None and tokenizer.FREQ is self:
            tokenizer.FREQ = self._whole

    # What jieba.Tokenizer uses of its FREQ.
    def get(self, word: str, default=None):
        value = self._ask(word)
        return default if value is None else value

    def __contains__(self, word: str) -> bool:
        return self._ask(word) is not None

    def __getitem__(self, word: str) -> int:
        value = self._ask(word)
        if value is None:
            raise KeyError(word)
        return value

    def __setitem__(self, word: str, frequency: int) -> None:
        self._added[word] = frequency
        self._known[word] = frequency
        if self._whole is not None:
            self._whole[word] = frequency


# --------------------------------------------------------------------------------------------
# jieba's precise cut of a Han run, with less Python
# --------------------------------------------------------------------------------------------

#: The jieba whose precise cut :class:`RunCutter` repeats (its ``get_DAG``, ``calc`` and
#: ``__cut_DAG`` of this version); with another, every run is cut by jieba itself.
CUT_JIEBA_VERSION = "0.42.1"
#: A run :class:`RunCutter` cuts itself: characters jieba's ``cut`` hands whole to its DAG cut
#: (``re_han_default``), Han ones only (the letters and digits it also takes never reach here).
_DAG_RUN = re.compile("[\u4e00-\u9fd5]+")


class RunCutter:
    """``list(jieba.cut(run))`` of a Han run (precise mode, HMM on: jieba's defaults), computed
    as jieba computes it but in one pass and with each word's log-probability worked out once.

    jieba builds, for each run, a dict of every position's candidate word ends (``get_DAG``: two
    lookups per prefix), then takes for each position the best of those ends through a generator
    handed to ``max`` (``calc``: the word looked up again and its logarithm taken again), then
    walks the route. Here the candidates of a position are scored as they are found, from a
    per-process table of ``log(frequency) - log(total)`` by word: the same floating-point
    operations in the same order, so the same numbers and the same route (``max`` of ``(score,
    end)`` tuples keeps the largest end among equal scores; so does ``>=`` over ascending ends).
    Runs of unknown characters go to jieba's own HMM (``finalseg.cut``) exactly where jieba sends
    them. tests/plugins/site/test_site_words.py holds the cuts equal to jieba's on a catalogue's
    text and on hostile text.

    The table belongs to one dictionary (``FREQ`` and ``total`` as jieba has them when asked): a
    dictionary replaced meanwhile (a loaded one for the table, the same words) starts it afresh.
    A word added or deleted in place is not seen by a table that scored it already: a cutter lives
    as long as one :class:`~weike.plugins.site.search.SearchCuts`, during which nothing changes
    jieba's words.
    """

    def __init__(self) -> None:
        self._module = jieba()
        self._own = getattr(self._module, "__version__", None) == CUT_JIEBA_VERSION
        self._scores: dict[str, object] = {}
        self._for: tuple | None = None

    def cut(self, run: str) -> list[str]:
        """jieba's words of ``run``."""
        module = self._module
        if not self._own or not _DAG_RUN.fullmatch(run):
            return list(module.cut(run))
        tokenizer = module.dt
        tokenizer.check_initialized()
        freq, total = tokenizer.FREQ, tokenizer.total
        if self._for is None or self._for[0] is not freq or self._for[1] != total:
            self._scores, self._for = {}, (freq, total)
        return self._cut(run, freq, math_log(total))

    def is_word(self, text: str) -> bool:
        """Whether ``text`` is a word of jieba's dictionary (``bool(jieba.get_FREQ(text))``)."""
        if not self._own:
            return bool(self._module.get_FREQ(text))
        tokenizer = self._module.dt
        tokenizer.check_initialized()
        freq = tokenizer.FREQ
        known = self._for is not None and self._for[0] is freq and self._for[1] == tokenizer.total
        score = self._scores.get(text, _ABSENT) if known else _ABSENT
        if score is _ABSENT:
            return bool(freq.get(text))
        return score is not None and score is not _PREFIX

    def _cut(self, run: str, freq, logtotal: float) -> list[str]:
        scores = self._scores
        get = freq.get
        n = len(run)
        # route[i]: (the best score of run[i:], where the first word of that cut ends): calc's.
        best_scores = [0.0] * (n + 1)
        best_scores[n] = 0
        ends = [0] * (n + 1)
        for start in range(n - 1, -1, -1):
            best = None
            end = start
            frag = run[start]
            while True:
                # A word's score, or 0 for a mere prefix (frequency 0), or None: no word starts so.
                score = scores.get(frag, _ABSENT)
                if score is _ABSENT:
                    frequency = get(frag)
                    if frequency is None:
                        score = None
                    elif frequency:
                        score = math_log(frequency) - logtotal
                    else:
                        score = _PREFIX
                    scores[frag] = score
                if score is None:
                    break
                if score is not _PREFIX:
                    value = score + best_scores[end + 1]
                    if best is None or value >= best:
                        best, best_end = value, end
                end += 1
                if end >= n:
                    break
                frag = run[start:end + 1]
            if best is None:  # no word here: the character alone, at jieba's log(1) - logtotal
                best, best_end = 0.0 - logtotal + best_scores[start + 1], start
            best_scores[start], ends[start] = best, best_end
        words: list[str] = []
        at = 0
        buf = ""
        while at < n:
            after = ends[at] + 1
            if after - at == 1:
                buf += run[at]
            else:
                if buf:
                    self._unknown(buf, get, words)
                    buf = ""
                words.append(run[at:after])
            at = after
        if buf:
            self._unknown(buf, get, words)
        return words

    def _unknown(self, buf: str, get, words: list[str]) -> None:
        """What jieba's ``__cut_DAG`` yields for characters its route left single."""
        if len(buf) == 1:
            words.append(buf)
        elif not get(buf):
            words.extend(self._module.finalseg.cut(buf))
        else:
            words.extend(buf)
