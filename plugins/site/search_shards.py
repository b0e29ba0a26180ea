"""The site's search index cut into small scripts, so a query loads only what it needs.

Material's search fetches the whole ``search/search_index.json`` and builds a lunr index from it on
every page view: 4.5 MB at 1,000 courses before the first result (``docs/search.md``). weike's
search (``assets/weike/search.js``) instead loads, when the reader first searches:

- ``search/manifest.js``: how many shards and store chunks there are, and the index's version;
- ``search/p/<n>.js``: postings shards. Keys are every character and every overlapping pair of
  characters of an entry's searchable text (NFKC, lower case; pairs across white space left out).
  A key lives in shard ``crc32(utf-8 key) mod S``; its value lists the entries that contain it,
  as deltas with the lowest bit set when the key is in the entry's title, each written as a
  variable-length number in :data:`DIGITS` (half the bytes of comma-separated hexadecimal: a
  host may send the shards uncompressed);
- ``search/d/<n>.js``: the entry store, :data:`CHUNK` entries a chunk in index order (a course
  and its lectures together): location, title, shown text and the hidden words not already in
  them (so the browser checks a candidate against the same text the keys came from).

A query's keys are its character pairs (one character: the character). An entry containing the
query contains all its pairs, so intersecting their postings gives a superset of the substring
truth, which the store then filters exactly: recall is 100 % by construction.

The manifest is also appended to the site's ``assets/weike/search.js`` (:func:`with_manifest`),
which every page loads: a query's first request is then for its shards, one round trip less on a
phone's link. ``search/manifest.js`` stays for a page whose script has none (a county's own).

Every file is a script calling one global (``__weikeSearch.<kind>(…)``), so it loads from a
``file://`` page as from a server (the offline edition needs no copy of its own). The strings are
plain text (markup removed, entities decoded): the browser shows them with ``textContent``, never
as HTML, so hostile text stays inert. ``</``, U+2028 and U+2029 are escaped.

The files are a function of the merged index alone (:func:`index_digest`: its bytes and the code
that cuts it). A rebuild whose index is the one the published files were made from, every one of
them still as written, keeps them without computing anything (a notes edit with ``search_notes``
off, a media edit); otherwise it computes them whole and writes only those whose bytes differ
from the published site's (incremental = cold).
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import operator
import re
import unicodedata
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass
from itertools import chain, compress, repeat
from pathlib import Path

from weike.builder.keeping import outputs
from weike.builder.keeping.fingerprint import Fingerprint, code_digest
from weike.plugins.site.contributed import script_text
from weike.plugins.site.manifest import Manifest, WrittenFiles
from weike.plugins.site.workers import render_processes, share_work

#: Entries per store chunk: the first screen of results costs a few kilobytes.
CHUNK = 16
#: The postings a shard holds on average, in bytes (the shard count follows the catalogue): a
#: query loads a few kilobytes (1,000 courses: 600 shards, ~4 kB a common two-word query).
SHARD_BYTES = 1500
#: Changes when keys or files change meaning; the browser reads the manifest's.
FORMAT = 2
#: A postings number's digits, least significant first: 5 bits each, plus 32 when more digits follow.
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
#: The script that reads the index (``theme/overrides/assets/weike/search.js``), site-relative.
READER_SCRIPT = "assets/weike/search.js"
#: What separates the script from the manifest the build appends to it.
_MANIFEST_MARK = b"\n/* The index this site was built with (plugins/site/search_shards.py). */\n"
_TAG = re.compile(r"<[^>]*>")
_ZWSP = "\u200b"


def normalise(text: str) -> str:
    """The form keys and queries are compared in (the browser's ``normalize("NFKC").toLowerCase()``).

    The full-width punctuation of Chinese text (``：，（）；！？``) is replaced by what NFKC makes of
    it first: NFKC decomposes such a character to that one character before it composes anything,
    so the result is the same, but a text holding no other character NFKC changes then passes its
    quick check as it is, instead of being decomposed and composed again whole (most of a cold
    build's normalising: every lecture's text begins "课程：")."""
    text = (text.replace("\uff1a", ":").replace("\uff0c", ",").replace("\uff08", "(").replace("\uff09", ")")
            .replace("\uff1b", ";").replace("\uff01", "!").replace("\uff1f", "?"))
    return unicodedata.normalize("NFKC", text).lower()


def plain(text: str) -> str:
    """An index field as a reader reads it: no markup, entities decoded, no zero-width spaces."""
    return " ".join(_plain_words(text))


def _plain_words(text: str) -> list[str]:
    """:func:`plain`'s words: its white space (``\\s``, ``str.isspace``: the same characters)
    made one space, the ends stripped, is its words joined by spaces."""
    if "<" in text:
        text = _TAG.sub(" ", text)
    return html.unescape(text).replace(_ZWSP, "").split()


def index_keys(text: str) -> set[str]:
    """Every character and every pair of adjacent characters of ``text`` (normalised), white space left out."""
    return _normalised_keys(normalise(text))


#: The keys of words met more than once, by word (:func:`_normalised_keys`), and the words met once.
_WORD_KEYS: dict[str, frozenset[str]] = {}
_WORDS_MET: set[str] = set()
#: How many words either holds before it is emptied (a long-running ``weike serve``; 1,000
#: courses' entries hold ~27,000 different words, ~1,300 of them recurring).
_WORDS_KEPT = 1 << 16


def _normalised_keys(text: str) -> set[str]:
    """:func:`index_keys` of a text already normalised.

    Half the words of a catalogue's entries recur (every lecture's text names its course; themes,
    providers and tags recur course after course): a word met again has its keys made once and
    kept, so its pairs' strings are not made and hashed again. A word met once has its keys put
    in the entry's set directly (keeping every word's would cost more than it saves: a cold
    build's knowledge points are each their own)."""
    keys: set[str] = set()
    known, met = _WORD_KEYS, _WORDS_MET
    for word in text.split():  # split() and isspace() agree on what white space is
        word_keys = known.get(word)
        if word_keys is not None:
            keys |= word_keys
        elif word in met:
            if len(known) >= _WORDS_KEPT:
                known.clear()
            word_keys = known[word] = frozenset([*word, *map(operator.add, word, word[1:])])
            keys |= word_keys
        else:
            if len(met) >= _WORDS_KEPT:
                met.clear()
            met.add(word)
            keys.update(word)
            keys.update(map(operator.add, word, word[1:]))
    return keys


@functools.lru_cache(maxsize=1 << 16)
def _normalised_word(word: str) -> str:
    # The hidden words repeat across a catalogue (a course's theme, provider, teachers, tags).
    return normalise(word)


def store_entry(doc: dict) -> list[str]:
    """``[location, title, text, hidden]``: hidden holds the indexed words not found in title or text."""
    return _store_entry(doc)[0]


def _store_entry(doc: dict) -> tuple[list[str], str, str]:
    """:func:`store_entry`, and its title and text normalised. (NFKC and ``lower`` change nothing
    across a line break: it neither composes, reorders nor ends a final sigma differently, so the
    normalised title and text are the shown text's, cut at its first line break.)"""
    title, text = plain(str(doc.get("title", ""))), plain(str(doc.get("text", "")))
    title_normalised, text_normalised = normalise(title), normalise(text)
    shown = f"{title_normalised}\n{text_normalised}"
    words = _plain_words(f"{doc.get('title_words', '')} {doc.get('keywords', '')}")
    # (the words whose normalised form the shown text lacks, in C-level maps: most are in it)
    hidden = compress(words, map(operator.not_, map(shown.__contains__, map(_normalised_word, words))))
    return [str(doc.get("location", "")), title, text, " ".join(dict.fromkeys(hidden))], title_normalised, text_normalised


@functools.lru_cache(maxsize=1 << 15)
def _number(value: int) -> str:
    digits = []
    while True:
        digit, value = value & 31, value >> 5
        digits.append(DIGITS[digit | 32 if value else digit])
        if not value:
            return "".join(digits)


def encode_postings(values: list[int]) -> str:
    """``values`` (``entry << 1 | in title``, entries ascending) as deltas of the entries, title bit kept."""
    # (entry - previous entry) << 1 | bit == value - (previous value without its bit)
    # (In C-level maps: hundreds of thousands of values at catalogue scale.)
    return "".join(map(_number, map(operator.sub, values, [0, *map(operator.and_, values[:-1], repeat(~1))])))


def _entry_values(entries: int) -> list[int]:
    """The postings' values of ``entries`` entries' title keys and other keys, in turn:
    ``1, 0, 3, 2, 5, 4, ...`` (``n << 1 | 1``, ``n << 1``)."""
    return list(map(operator.xor, range(2 * entries), repeat(1)))


def shard_of(key: str, shards: int) -> int:
    return zlib.crc32(key.encode("utf-8")) % shards


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, its encoder made once (not for each of 13,000 entries).
_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _script(call: str, *values) -> bytes:
    text = script_text(",".join(_compact_json(value) for value in values))
    return f"__weikeSearch.{call}({text});\n".encode("utf-8")


def entry_parts(doc: dict) -> tuple[list[str], list[str], list[str]]:
    """What the index holds of one entry, before entries are numbered: its store form
    (:func:`store_entry`), the keys of its title, and its other keys (those not in the title)."""
    entry, title, text = _store_entry(doc)
    in_title = _normalised_keys(title)
    rest = _normalised_keys(f"{text}\n{normalise(entry[3])}")
    rest -= in_title
    return entry, list(in_title), list(rest)


def shard_files(docs: list[dict], *, parts: RememberedParts | None = None) -> dict[str, bytes]:
    """The files (relative to ``search/``) of the sharded index of ``docs`` (Material's index entries);
    each entry's parts from ``parts`` when it holds them (:class:`RememberedParts`)."""
    made = [entry_parts(doc) for doc in docs] if parts is None else parts.of(docs)
    postings: defaultdict[str, list[int]] = defaultdict(list)
    # Each key's list gets the entry's value, in C-level maps over every entry's keys at once (a
    # Python loop over hundreds of thousands of keys was most of the time; one over the entries,
    # 7 % of what was left); a key's values stay in entry order. The title's keys of entry n
    # get n << 1 | 1, its others n << 1.
    key_lists = [keys for _stored, in_title, rest in made for keys in (in_title, rest)]
    values = map(repeat, _entry_values(len(made)), map(len, key_lists))
    deque(map(list.append, map(postings.__getitem__, chain.from_iterable(key_lists)), chain.from_iterable(values)),
          maxlen=0)
    encoded = {key: encode_postings(values) for key, values in postings.items()}
    total = sum(len(key.encode("utf-8")) + len(value) + 6 for key, value in encoded.items())
    shards = max(1, round(total / SHARD_BYTES))
    by_shard: list[dict[str, str]] = [{} for _ in range(shards)]
    for key in sorted(encoded):
        by_shard[shard_of(key, shards)][key] = encoded[key]
    files = {f"p/{n}.js": _script("p", n, shard) for n, shard in enumerate(by_shard)}
    chunks = (len(made) + CHUNK - 1) // CHUNK
    for n in range(chunks):  # (a chunk's entries in one JSON encoding, not one an entry)
        files[f"d/{n}.js"] = _script("d", n, [stored for stored, _title, _rest in made[n * CHUNK:(n + 1) * CHUNK]])
    version = hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()[:16]
    files["manifest.js"] = _script("manifest", {"format": FORMAT, "shards": shards, "chunk": CHUNK,
                                                "chunks": chunks, "entries": len(made), "version": version})
    return files


#: The remembered parts' file, in the site build's work folder.
PARTS_FILE = "search-shard-parts.json"
#: The file's layout; a file of another layout (or code) is no memo.
PARTS_FORMAT = 2
#: What :func:`store_entry` reads of an entry: all an entry's parts are made from.
_ENTRY_FIELDS = ("location", "title", "text", "title_words", "keywords")


def _entry_digest(doc: dict) -> str:
    # Each field as store_entry reads it (str(), as a format does), NUL-separated: unambiguous
    # unless a field holds a NUL itself, when the fields' repr is hashed instead.
    get = doc.get
    text = f"{get('location', '')}\0{get('title', '')}\0{get('text', '')}\0{get('title_words', '')}\0{get('keywords', '')}"
    if text.count("\0") != len(_ENTRY_FIELDS) - 1:
        text = repr(tuple(str(get(name, "")) for name in _ENTRY_FIELDS))
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


#: Fewer entries to make than this per process are not worth a fork (the results come back as JSON:
#: 11,700 entries made in 0.45 s by one process, 0.34 s by two; 3,900 are faster alone).
ENTRIES_PER_PROCESS = 4000


def _made_parts(doc: dict) -> list:
    """:func:`entry_parts` as a JSON value (a worker process's answer)."""
    return list(entry_parts(doc))


def _file_parts(parts: tuple[list[str], list[str], list[str]]) -> list:
    """An entry's parts as :data:`PARTS_FILE` holds them: keys hold no white space, so joined by
    spaces they split back as they were."""
    return [parts[0], " ".join(parts[1]), " ".join(parts[2])]


class RememberedParts:
    """Each index entry's :func:`entry_parts`, kept between builds in :data:`PARTS_FILE`, by a digest
    of the fields they are made from.

    A course's title edit, or a course added or deleted, renumbers the entries after it, so the
    postings are computed again whole; but 13,000 entries' store forms and keys (markup removed,
    NFKC, character pairs) are those of the last build but a course's. A remembered entry's parts
    are what :func:`entry_parts` makes of its fields (the file is keyed by the code that makes
    them), so the files equal a cold build's. Only the entries of this build are written back.
    The file is JSON (nothing in the cache is executed); a damaged file, or one of another layout
    or code, is no memo.
    """

    def __init__(self, path: Path, *, read: bool = True, side_by_side: bool = True) -> None:
        self.path = path
        self._key = Fingerprint("search-shard-parts", PARTS_FORMAT, code_digest("weike.plugins.site")).hexdigest()
        self.read = read
        #: Whether many entries to make are made in worker processes (not while workers render pages).
        self.side_by_side = side_by_side
        #: The file's parts, read when first asked for (a build that keeps the shards never reads it).
        self._known: dict[str, list] | None = None
        #: Every entry's parts in this build, by digest (what :meth:`save` writes).
        self.used: dict[str, tuple[list[str], list[str], list[str]]] = {}
        #: How many entries' parts this build made (not remembered).
        self.made = 0

    def _read(self) -> dict[str, list]:
        try:
            data = json.loads(self.path.read_bytes())
            if data.get("format") != PARTS_FORMAT or data.get("key") != self._key:
                return {}
            parts = data["parts"]
            if isinstance(parts, dict) and all(
                    isinstance(value, list) and len(value) == 3 and isinstance(value[1], str) and isinstance(value[2], str)
                    and isinstance(value[0], list) and len(value[0]) == 4 and all(isinstance(item, str) for item in value[0])
                    for value in parts.values()):
                return parts
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return {}

    def of(self, docs: list[dict]) -> list[tuple[list[str], list[str], list[str]]]:
        """:func:`entry_parts` of every one of ``docs``, remembered ones not made again."""
        if self._known is None:
            self._known = self._read() if self.read else {}
        known, used = self._known, self.used
        digests = [_entry_digest(doc) for doc in docs]
        missing: dict[str, dict] = {}
        for digest, doc in zip(digests, docs):
            if digest not in used and digest not in known:
                missing.setdefault(digest, doc)
        # A cold build's (13,000 entries at 1,000 courses) are made side by side.
        processes = render_processes(len(missing), per_process=ENTRIES_PER_PROCESS) if self.side_by_side else 1
        fresh = dict(zip(missing, share_work(list(missing.values()), _made_parts, processes=processes), strict=True))
        self.made += len(fresh)
        made = []
        for digest in digests:
            parts = used.get(digest)
            if parts is None:
                value = known.get(digest)
                if value is None:  # (made now: its key lists as made, not joined and split again)
                    value = fresh[digest]
                    parts = (value[0], value[1], value[2])
                else:
                    parts = (value[0], value[1].split(" ") if value[1] else [], value[2].split(" ") if value[2] else [])
                used[digest] = parts
            made.append(parts)
        return made

    def save(self) -> None:
        """Write this build's entries' parts, when they differ from the file's (a failed write is no memo)."""
        if self._known is None or (not self.made and self.used.keys() == self._known.keys()):
            return  # (never asked, or every entry remembered: the file's very parts)
        data = {"format": PARTS_FORMAT, "key": self._key,
                "parts": dict(zip(self.used, map(_file_parts, self.used.values())))}
        try:
            outputs.write_atomic(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                                 sync=False)
        except OSError:
            self.path.unlink(missing_ok=True)


def with_manifest(script: bytes, manifest: bytes) -> bytes:
    """``script`` (the reader script) ending with ``manifest`` (``manifest.js``'s call), in place of any earlier one."""
    return script.split(_MANIFEST_MARK)[0].rstrip(b"\n") + _MANIFEST_MARK + manifest


@dataclass(frozen=True, kw_only=True)
class SearchShards:
    """The sharded index of a site build."""

    #: Its files' bytes, together.
    size: int
    #: :func:`index_digest` of the index they are made from (each file's input digest in the stamp).
    made_from: str
    #: Every file, site-relative (``search/...``).
    files: tuple[str, ...]
    #: Of them, those the published site holds already, as they are made now (not written).
    kept: tuple[str, ...]
    #: False when the published files were made from the same index and kept without computing.
    computed: bool


_MANIFEST_CALL = "__weikeSearch.manifest("


def index_digest(index: bytes) -> str:
    """What the shards are made from: the merged index file's bytes and the code that cuts them."""
    return Fingerprint("search-shards", FORMAT, CHUNK, SHARD_BYTES, index,
                       code_digest("weike.plugins.site")).hexdigest()


def _published_shards(folder: Path, previous: Manifest, digest: str) -> tuple[bytes, list[str]] | None:
    """(``manifest.js``, every file) of the sharded index ``folder`` (a published site) holds, made
    from an index with ``digest`` and still as written; None when one is missing, defaced or
    made from another index."""
    manifest_rel = "search/manifest.js"
    if not previous.unchanged(manifest_rel, digest):
        return None
    try:
        data = (folder / manifest_rel).read_bytes()
        counts = json.loads(data.decode("utf-8").strip()[len(_MANIFEST_CALL):-2])
        shards, chunks = int(counts["shards"]), int(counts["chunks"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not previous.holds(manifest_rel, data):
        return None
    files = [f"search/p/{n}.js" for n in range(shards)] + [f"search/d/{n}.js" for n in range(chunks)]
    if not all(previous.unchanged(rel, digest) for rel in files):
        return None
    return data, [*files, manifest_rel]


def write_search_shards(site_dir: Path, *, previous: Manifest | None = None,
                        published_dir: Path | None = None, parts: RememberedParts | None = None,
                        written: WrittenFiles | None = None, index: bytes | None = None) -> SearchShards:
    """Write the sharded index of the site's ``search/search_index.json`` (or of ``index``, the bytes
    that file will hold), and its manifest into the site's reader script when there is one.

    ``previous`` is what the published site ``published_dir`` holds (its stamp's record, files
    still as written): when its sharded index was made from the same index file, nothing is
    computed and no file written (all are kept); otherwise a file the published site holds with
    the very bytes made now is not written (a rebuild after one course's edit writes the few
    shards its words fall in, and its store chunk). ``parts`` gives the entries' parts an earlier
    build made (:class:`RememberedParts`). ``written`` (of ``site_dir``) writes the files and keeps
    their records."""
    written = written if written is not None else WrittenFiles(site_dir)
    search = site_dir / "search"
    if index is None:
        index = (search / "search_index.json").read_bytes()
    digest = index_digest(index)
    earlier = (_published_shards(published_dir, previous, digest)
               if previous is not None and published_dir is not None else None)
    if earlier is not None:
        manifest_js, rels = earlier
        size = sum(previous.written[rel][0] for rel in rels)
        kept, computed = tuple(rels), False
    else:
        docs = json.loads(index.decode("utf-8")).get("docs", [])
        files = shard_files(docs, parts=parts)
        manifest_js, rels, size, kept_list = files["manifest.js"], [], 0, []
        for rel, data in files.items():
            size += len(data)
            rels.append(f"search/{rel}")
            if previous is not None and previous.holds(f"search/{rel}", data):
                kept_list.append(f"search/{rel}")
                continue
            written.put(f"search/{rel}", data)
        kept, computed = tuple(kept_list), True
    reader = site_dir / READER_SCRIPT
    if reader.is_file():
        script = with_manifest(reader.read_bytes(), manifest_js)
        reader.unlink()  # a new file: never written through a hard link to another copy
        written.put(READER_SCRIPT, script)
    return SearchShards(size=size, made_from=digest, files=tuple(rels), kept=kept, computed=computed)
