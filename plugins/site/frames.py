"""Material's page frame rendered once per shape, then filled page by page.

Most of a generated course or lecture page is the same for every page of the same shape: those pages
are not in the navigation (no active item, no previous/next), so the header, sidebar, footer and
scripts differ only by the page's depth (relative URLs) and a few values of its own. Rendering
Material's templates costs about half a millisecond of CPU per page, 13,000 times for a national
catalogue. :class:`PageFrames` renders the frame of a shape once, through the real templates, with
sentinel values in the page's place, cuts it at the sentinels, and fills each page of that shape by
splicing its own values in: title, description, preload image, body and URL (the canonical URL
holds it).

Never a wrong byte: a shape is spliced only if rendering it proves that it can be, otherwise every
page of it is rendered by Jinja as before. The rule, checked when a shape is first met:

- the page is one of weike's generated pages, outside the navigation, at least two folders deep,
  not a draft; its title is its ``meta.title``;
- the shape is everything else the template could read: the template, ``base_url``, the page's
  first folder, the scripts and stylesheets as linked from it, every metadata key but the spliced
  ones (with its value), which spliced values are present, whether the body holds an ``<h1``;
- the frame is rendered twice, with plain sentinels and with hostile ones (``<``, ``&``, quotes,
  ``</script>``, newlines, U+2028, leading and doubled spaces, emoji, long): the second must be the
  first with the sentinels replaced, so every spliced value reaches the page unchanged by any filter
  (``striptags``, ``e``, ``tojson``, ``truncate``, ``url``... would each change a hostile sentinel);
  a value longer than its hostile sentinel is not spliced (its page is rendered by Jinja);
- every question a template asks of a spliced value other than printing it (``==``, ``in``,
  ``startswith``, its truth or length...) is recorded with its answer, and asked again of each page:
  a page that answers differently (``{% if page.url == "courses/x/" %}``) is rendered by Jinja;
- every attribute of the page the templates read is known: the spliced ones, and others whose value
  (``toc``, ``previous_page``, ``is_homepage``, ``edit_url``...) a filled page must share with the
  rendered one (an unknown attribute: the shape is rendered by Jinja);
- every path the ``url`` filter made relative to the page is relative to it as to the sentinel page
  (a navigation link into the page's own folder would not be: that page is rendered by Jinja).

Only :func:`weike.plugins.site.engine._build_sharing_pages` uses it (a build with many pages to
render); a serial build renders every page through Jinja, and tests compare the two file by file.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping

#: How MkDocs encodes a page it writes (``_build_page``): UTF-8, anything else as a reference.
ENCODING_ERRORS = "xmlcharrefreplace"
#: The values a frame is filled with, by slot.
TITLE, DESCRIPTION, PRELOAD, CONTENT, URL = "title", "description", "preload", "content", "url"
#: Metadata spliced, not part of a shape (the rest of ``page.meta`` is).
SPLICED_META = {"title": TITLE, "description": DESCRIPTION, "weike_preload_image": PRELOAD}
#: A page's URL as spliced: folders of plain characters only (weike's slugs).
PLAIN_URL = re.compile(r"[A-Za-z0-9._~%-]+(/[A-Za-z0-9._~%-]+)+/")
def _same_object(value):
    return value if value is None else id(value)


#: Attributes of a page the templates may read without spoiling a frame, with how their value is
#: compared between the page a frame was rendered for and a page it fills.
KNOWN_ATTRIBUTES = {
    "toc": lambda value: tuple(value),
    "previous_page": _same_object, "next_page": _same_object, "parent": _same_object,
    "ancestors": lambda value: tuple(map(id, value)), "children": _same_object,
    "is_homepage": bool, "is_index": bool, "is_top_level": bool, "is_page": bool, "is_section": bool,
    "is_link": bool, "active": bool,
    "edit_url": lambda value: value,
}

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_HOSTILE = (" <b>&amp;&\"'</script><!--\n\t\r  x\u2028\u2029 😀 标题“引号”\\ {{ }} %s ")

log = logging.getLogger(__name__)


def _sentinel(slot: str) -> str:
    return f"{_MARK_OPEN}weike-{slot}{_MARK_CLOSE}"


def _hostile(slot: str, length: int) -> str:
    """A value every HTML, JSON, URL or text filter would change, ``length`` characters or more."""
    unit = _HOSTILE % slot
    return f"{_MARK_OPEN}{unit * (length // len(unit) + 1)}{_MARK_CLOSE}"


#: How long each hostile sentinel is: a longer value is not spliced.
HOSTILE_LENGTH = {TITLE: 2000, DESCRIPTION: 4000, PRELOAD: 2000, CONTENT: 400_000}


#: The real page's own values a traced operation is asked of again (the spliced ones, and the
#: canonical and absolute URLs that hold the URL).
CANONICAL, ABSOLUTE = "canonical_url", "abs_url"
_STR_METHODS = frozenset(name for name in dir(str) if not name.startswith("_"))


def _from_template(environment) -> bool:
    """Whether the question is asked by a template's code, directly or through Jinja's runtime
    (a method call), not by a filter or MkDocs' own Python."""
    frame = sys._getframe(3)  # past this function, _ask and the question itself
    while frame is not None and frame.f_globals.get("__name__") in ("jinja2.runtime", "jinja2.environment"):
        frame = frame.f_back
    return frame is not None and frame.f_globals.get("environment") is environment


class _Traced(str):
    """A sentinel value that records what a template asks of it other than to be printed: a test
    (``==``, ``in``, ``startswith``, its length, truth...) whose answer a filled page must share.
    Printing it (``str``), joining or formatting it are not recorded: that is what the frame's
    cut does. Only questions asked by template code are recorded: MkDocs' ``url`` filter reads the
    page's URL to make links relative, which the frame checks on its own (:meth:`PageFrames._make`)."""

    def __new__(cls, text: str, slot: str, asked: list, environment) -> _Traced:
        value = super().__new__(cls, text)
        value.__dict__.update(_slot=slot, _asked=asked, _environment=environment)
        return value

    def _ask(self, name: str, args: tuple, kwargs: dict, result):
        if _from_template(str.__getattribute__(self, "_environment")):
            str.__getattribute__(self, "_asked").append((str.__getattribute__(self, "_slot"), name, args, kwargs, result))
        return result

    def __getattribute__(self, name: str):
        if name not in _STR_METHODS:
            return str.__getattribute__(self, name)
        method, plain, ask = getattr(str, name), str(self), str.__getattribute__(self, "_ask")

        def asked(*args, **kwargs):
            result = method(plain, *args, **kwargs)
            ask(name, args, kwargs, result)
            return result

        return asked

    def __eq__(self, other): return self._ask("__eq__", (other,), {}, str.__eq__(str(self), other))
    def __ne__(self, other): return self._ask("__ne__", (other,), {}, str.__ne__(str(self), other))
    def __lt__(self, other): return self._ask("__lt__", (other,), {}, str.__lt__(str(self), other))
    def __le__(self, other): return self._ask("__le__", (other,), {}, str.__le__(str(self), other))
    def __gt__(self, other): return self._ask("__gt__", (other,), {}, str.__gt__(str(self), other))
    def __ge__(self, other): return self._ask("__ge__", (other,), {}, str.__ge__(str(self), other))
    def __contains__(self, part): return self._ask("__contains__", (part,), {}, str.__contains__(str(self), part))
    def __len__(self): return self._ask("__len__", (), {}, str.__len__(str(self)))
    def __bool__(self): return self._ask("__bool__", (), {}, bool(str(self)))
    def __hash__(self): return self._ask("__hash__", (), {}, str.__hash__(str(self)))
    def __getitem__(self, key): return self._ask("__getitem__", (key,), {}, str.__getitem__(str(self), key))

    def __iter__(self):
        return iter(self._ask("__iter__", (), {}, list(str(self))))


def _question(name: str):
    """The question ``name`` a template asked of a sentinel, as a function of a value and the
    question's arguments: what that value answers."""
    if name == "__bool__":
        return bool
    if name == "__iter__":
        return list
    return getattr(str, name)


class _SentinelPage:
    """``page`` as the templates see it, with sentinel values in the spliced places; records every
    other attribute the templates read."""

    def __init__(self, page, values: Mapping[str, str], asked: list, environment) -> None:
        site = page.canonical_url[:-len(page.url)] if page.canonical_url else None
        abs_site = page.abs_url[:-len(page.url)] if page.abs_url else None
        values = dict(values)
        if site is not None:
            values[CANONICAL] = site + values[URL]
        if abs_site is not None:
            values[ABSOLUTE] = abs_site + values[URL]
        traced = {slot: _Traced(value, slot, asked, environment) for slot, value in values.items()}
        meta = dict(page.meta)
        for key, slot in SPLICED_META.items():
            if slot in traced:
                meta[key] = traced[slot]
        object.__setattr__(self, "_spliced", {
            "meta": meta, "title": traced[TITLE], "content": traced[CONTENT], "url": traced[URL],
            "canonical_url": traced.get(CANONICAL), "abs_url": traced.get(ABSOLUTE)})
        object.__setattr__(self, "_page", page)
        object.__setattr__(self, "read", set())

    def __getattr__(self, name: str):
        spliced = object.__getattribute__(self, "_spliced")
        if name in spliced:
            return spliced[name]
        object.__getattribute__(self, "read").add(name)
        return getattr(object.__getattribute__(self, "_page"), name)


class _Frame:
    """A shape's frame: its text cut at the sentinels, and what a page must share to be filled."""

    def __init__(self, parts: list[str], slots: list[str], *, attributes: dict, asked: list,
                 blocked: frozenset[str]) -> None:
        self.parts, self.slots, self.attributes, self.asked, self.blocked = parts, slots, attributes, asked, blocked
        self._encoded: tuple[list[bytes], bool] | None = None
        # What fits() asks of each page, looked up once: (attribute, comparison, value) and
        # (slot, the question as a function of the value, its arguments, the answer).
        self._attributes = tuple((name, KNOWN_ATTRIBUTES[name], value) for name, value in attributes.items())
        self._questions = tuple((slot, _question(name), args, kwargs, result) for slot, name, args, kwargs, result in asked)

    def fits(self, page, values: Mapping[str, str]) -> bool:
        """Whether ``page`` (its spliced ``values``) shares everything else its frame was made from."""
        for name, compared, value in self._attributes:
            if compared(getattr(page, name)) != value:
                return False
        return self.fits_values(page.url, values)

    def fits_values(self, url: str, values: Mapping[str, str]) -> bool:
        """:meth:`fits` but for the page's attributes: the page's URL and spliced ``values`` answer
        as the frame's page did (for a page of a model shape, whose attributes are the shape's)."""
        if self.blocked and url.split("/")[1] in self.blocked:
            return False
        for slot, question, args, kwargs, result in self._questions:
            if question(values[slot], *args, **kwargs) != result:
                return False
        return True

    def fill(self, values: Mapping[str, str]) -> str:
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:]):
            out.append(values[slot])
            out.append(part)
        return "".join(out)

    def fill_encoded(self, values: Mapping[str, str]) -> bytes | None:
        """:meth:`fill` as MkDocs writes it (UTF-8, what it cannot encode as character references),
        the frame's own parts encoded once; None where the page could be blank (a frame of spaces
        only: MkDocs writes no blank page, and which spaces ``str.strip`` takes is told on text)."""
        if self._encoded is None:
            self._encoded = ([part.encode("utf-8", errors=ENCODING_ERRORS) for part in self.parts],
                             any(part.strip() for part in self.parts))
        parts, solid = self._encoded
        if not solid:
            return None
        out = [parts[0]]
        for slot, part in zip(self.slots, parts[1:]):
            out.append(values[slot].encode("utf-8", errors=ENCODING_ERRORS))
            out.append(part)
        return b"".join(out)


_SCALARS = (int, float, bool, type(None))


def _frozen(value):
    """``value`` (metadata) as a hashable key telling apart at least what ``json.dumps`` with
    sorted keys tells apart (each value with its type: a finer key only makes more frames);
    raises ``TypeError`` where that would (keys of mixed types). A ``str`` is itself (every other
    value is a tuple: none is equal to a ``str``); a list of them, their tuple."""
    kind = type(value)
    if kind is str:
        return value
    if kind in _SCALARS:
        return kind, value
    if kind is dict:
        return dict, tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if kind is list or kind is tuple:
        if all(type(item) is str for item in value):
            return kind, tuple(value)
        return kind, tuple(_frozen(item) for item in value)
    return kind, repr(value)  # (json.dumps' default=repr)


def _scripts_key(scripts) -> tuple:
    """The scripts a page links to, as they tell frames apart: their paths, and the attributes of
    those that are more than a path (MkDocs' ``ExtraScriptValue``: ``type``, ``async``...)."""
    if all(type(script) is str for script in scripts):
        return tuple(scripts)  # (a tuple of strings: no other value's key is one)
    return tuple((str(script), _frozen(sorted(vars(script).items())) if hasattr(script, "__dict__") else None)
                 for script in scripts)


def _shape_key(page, context, template_name: str) -> tuple | None:
    """Everything a frame depends on but the spliced values (None: not a page frames are for)."""
    meta = page.meta
    if not meta.get("title") or page.title != meta["title"]:
        return None
    url = page.url
    if not PLAIN_URL.fullmatch(url):
        return None
    try:
        other_meta = _frozen({key: value for key, value in meta.items() if key not in SPLICED_META})
        sites = tuple(value[:-len(url)] if value is not None and value.endswith(url) else value is None
                      for value in (page.canonical_url, page.abs_url))
        return (template_name, context["base_url"], url[:url.index("/")], url.count("/"), sites,
                _frozen(list(context["extra_css"])), _scripts_key(context["extra_javascript"]), other_meta,
                tuple(slot for key, slot in SPLICED_META.items() if meta.get(key)),
                "<h1" in (page.content or ""), tuple(context))
    except (TypeError, ValueError):
        return None


#: The spliced metadata but the title (the title is always spliced), in :data:`SPLICED_META`'s order.
_SPLICED_AFTER_TITLE = tuple((key, slot) for key, slot in SPLICED_META.items() if slot != TITLE)
#: A shape met for the first time (its frame not made yet; None is a frame that cannot be made).
_UNMADE = object()


def model_key(url: str, is_index: bool, meta: Mapping, html, context_folders: frozenset) -> tuple | None:
    """The model shape of one of weike's generated pages set up as weike sets them up
    (:func:`~weike.plugins.site.generated.set_up_page`, then ``GeneratedPages.populate``), from its
    URL, whether its file is an index, its metadata and its body alone; None where such a page
    could be framed otherwise than the other pages of its model shape.

    Everything :func:`_shape_key` reads of such a page follows from the key: the title is
    ``meta``'s, the canonical and absolute URLs are the site's address and the URL (the caller
    takes only a plain one), the context's relative parts are those of the URL's depth when its
    first folder is none of ``context_folders`` (the first folders of the stylesheets and scripts:
    ``PageContexts``); and every attribute a frame may compare (:data:`KNOWN_ATTRIBUTES`) is the
    same for them all: no toc, neighbours, parent or children, not the home page, no edit URL (a
    generated file has none), active while rendered, an index or not (part of the key). The page
    must leave Material's search idle (``page_context_idle``): excluded from search, no
    ``data-search-`` attribute in its body."""
    title = meta.get("title")
    if not title or type(title) is not str or type(html) is not str or not PLAIN_URL.fullmatch(url):
        return None
    first = url[:url.index("/")]
    if first in context_folders:
        return None
    search = meta.get("search")
    if not (search or {}).get("exclude") or "data-search-" in html:
        return None
    try:
        other_meta = _frozen({key: value for key, value in meta.items() if key not in SPLICED_META})
        template = meta.get("template", "main.html")
        hash(template)
    except (TypeError, ValueError, AttributeError):
        return None
    return (template, first, url.count("/"), is_index, other_meta,
            tuple(slot for key, slot in SPLICED_META.items() if meta.get(key)), "<h1" in html)


def _spliced_values(meta: Mapping, content, url: str) -> dict[str, str] | None:
    """The values a page of ``meta``, ``content`` and ``url`` is spliced into its frame with; None
    when one is no string or longer than a frame is proven for (the page is rendered by Jinja)."""
    values = {TITLE: meta["title"], CONTENT: content, URL: url}
    for meta_key, slot in _SPLICED_AFTER_TITLE:
        if meta.get(meta_key):
            values[slot] = meta[meta_key]
    for slot, value in values.items():
        if not isinstance(value, str):
            return None
        if slot != URL and len(value) > HOSTILE_LENGTH[slot]:
            return None
    return values


class PageFrames:
    """Frames by shape for one build: :meth:`render` a page's HTML, or None (render it by Jinja).

    weike's own renderer: a generated page set up as weike sets them up is known by its model
    shape (:func:`model_key`), made from its metadata and body alone. Once a page of a model shape
    was filled into a frame (:meth:`render_encoded` given that key), the frame is every page of
    that model shape's: :meth:`fill_from_model` fills such a page straight from the site model,
    with no MkDocs ``Page``, population, context or event, asking its values the frame's questions
    again (:meth:`_Frame.fits_values`) as it would of that page set up by MkDocs."""

    def __init__(self, nav) -> None:
        self._frames: dict[tuple, _Frame | None] = {}
        #: The frames of model shapes (:func:`model_key`), each learnt from a page of it filled.
        self._by_model: dict[tuple, _Frame] = {}
        #: The navigation's pages: each is an active item of the sidebar it shows, never filled.
        self._in_nav = {id(page) for page in nav.pages}

    def render(self, page, context, template, template_name: str) -> str | None:
        filled = self._filled(page, context, template, template_name)
        return None if filled is None else filled[0].fill(filled[1])

    def render_encoded(self, page, context, template, template_name: str, model: tuple | None = None) -> bytes | None:
        """:meth:`render` encoded as MkDocs writes a page (:meth:`_Frame.fill_encoded`), or None:
        render it by :meth:`render` (a blank frame) or Jinja. ``model``: the page's model shape
        (:func:`model_key`; given only for a page set up as that says), whose frame this one is
        once a page is filled into it."""
        filled = self._filled(page, context, template, template_name)
        if filled is None:
            return None
        data = filled[0].fill_encoded(filled[1])
        if data is not None and model is not None:
            self._by_model[model] = filled[0]
        return data

    def fill_from_model(self, model: tuple, meta: Mapping, html: str, url: str, canonical_url: str | None,
                        abs_url: str | None) -> bytes | None:
        """The page of the model shape ``model`` (:func:`model_key` of ``url``, ``meta`` and
        ``html``; its canonical and absolute URLs as MkDocs would set them) filled into that
        shape's frame, encoded as MkDocs writes it; None when no page of the shape was filled yet,
        or this one's values do not answer the frame's questions as that page's did, or are longer
        than the frame is proven for (then it is set up and rendered as MkDocs would)."""
        frame = self._by_model.get(model)
        if frame is None:
            return None
        values = _spliced_values(meta, html, url)
        if values is None or not frame.fits_values(url, {**values, CANONICAL: canonical_url, ABSOLUTE: abs_url}):
            return None
        return frame.fill_encoded(values)

    def _filled(self, page, context, template, template_name: str) -> tuple[_Frame, dict] | None:
        """The frame ``page`` fits and the values it is filled with, or None."""
        if id(page) in self._in_nav:
            return None
        key = _shape_key(page, context, template_name)
        if key is None:
            return None
        values = _spliced_values(page.meta, page.content or "", page.url)
        if values is None:
            return None
        frame = self._frames.get(key, _UNMADE)
        if frame is _UNMADE:
            frame = self._frames[key] = self._make(page, context, template, values)
        if frame is None or not frame.fits(page, {**values, CANONICAL: page.canonical_url, ABSOLUTE: page.abs_url}):
            return None
        return frame, values

    def _make(self, page, context, template, values: Mapping[str, str]) -> _Frame | None:
        """Render the frame of ``page``'s shape with plain and with hostile sentinels; None when it
        cannot be spliced (see the module's rule)."""
        from weike.plugins.site.generated import NavigationCache

        first, depth = page.url.split("/")[0], page.url.count("/")
        h1 = "<h1" if "<h1" in values[CONTENT] else ""
        url_plain = first + "/" + "".join(f"{_sentinel(f'u{n}')}/" for n in range(1, depth))
        plain = {slot: _sentinel(slot) for slot in values if slot != URL}
        plain[CONTENT] += h1
        plain[URL] = url_plain
        hostile = {slot: _hostile(slot, HOSTILE_LENGTH[slot]) for slot in values if slot != URL}
        hostile[CONTENT] += h1
        hostile[URL] = url_plain  # the URL is not hostile: only plain URLs are spliced
        recorded: list[str] = []
        url_filter = template.environment.filters["url"]

        def recording(ctx, value):
            recorded.append(str(value))
            return url_filter(ctx, value)

        recording.jinja_pass_arg = url_filter.jinja_pass_arg  # a context filter, as MkDocs' own
        renders = []
        environment = template.environment
        environment.filters["url"] = recording
        try:
            for sentinels in (plain, hostile):
                asked: list = []
                shown = _SentinelPage(page, sentinels, asked, environment)
                # A cache of its own: every part of the frame is rendered (and its links recorded).
                data = dict(context, page=shown, weike_nav_cache=NavigationCache())
                renders.append((template.render(data), shown.read, asked))
        except Exception as exc:  # the page's own render reports it, as a serial build would
            log.debug("frame of %s not made: %s", page.url, exc)
            return None
        finally:
            environment.filters["url"] = url_filter
        (text, read, asked), (hostile_text, hostile_read, _) = renders
        if read != hostile_read or not read <= KNOWN_ATTRIBUTES.keys():
            return None
        # A question comparing two of the page's own values cannot be asked again of one.
        if any(isinstance(arg, _Traced) for _, _, args, kwargs, _ in asked for arg in (*args, *kwargs.values())):
            return None
        slots = sorted(plain, key=lambda slot: -len(plain[slot]))
        pieces = re.split("(" + "|".join(re.escape(plain[slot]) for slot in slots) + ")", text)
        by_text = {plain[slot]: slot for slot in plain}
        parts, order = pieces[0::2], [by_text[piece] for piece in pieces[1::2]]
        if any(_MARK_OPEN in part or _MARK_CLOSE in part for part in parts):
            return None  # a sentinel reached the page changed, or in part
        # Links made relative to the page: the same for every page whose second folder none of them names.
        # (Leading "..": MkDocs keeps them and makes the rest relative; counted out the same way.)
        blocked = set()
        for path in recorded:
            parts_of = [part for part in path.split("/") if part not in ("", ".")]
            while parts_of and parts_of[0] == "..":
                parts_of.pop(0)
            if len(parts_of) > 1 and parts_of[0] == first:
                blocked.add(parts_of[1])
        frame = _Frame(parts, order, attributes={name: KNOWN_ATTRIBUTES[name](getattr(page, name)) for name in read},
                       asked=asked, blocked=frozenset(blocked))
        if frame.fill(hostile) != hostile_text:
            return None
        log.debug("frame of %s: %d slots, questions %s, attributes %s, blocked %s", page.url, len(order),
                  [(slot, name, args) for slot, name, args, _, _ in asked], sorted(read), sorted(blocked))
        return frame
