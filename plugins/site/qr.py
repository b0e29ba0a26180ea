"""The course pages' QR codes: inline SVG, generated here (no QR web service is asked), kept between
builds in the site's cache.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from operator import xor
from pathlib import Path
from typing import NamedTuple

from weike.builder.keeping import outputs

#: The QR code cache, in the site's cache folder.
QR_CODES_FILE = "qr-codes.json"
#: Fewer codes to make than this per process are not worth a fork (a code is 0.07 ms of CPU).
QR_CODES_PER_PROCESS = 200


#: Modules of white space around a code (a scanner needs some; 2 of the standard's 4 fit a card).
QR_BORDER = 2
#: qrcode's SVG size unit: one module is this many "pixels", and 10 of them are 1 mm.
_BOX_SIZE = 10


def qr_svg(url: str) -> str:
    """An inline SVG QR code for ``url`` (generated here: no QR web service is asked)."""
    return _labelled(path_svg(qr_modules(url)))


def _labelled(svg: str) -> str:
    return svg.replace("<svg ", '<svg role="img" aria-label="本课程二维码 QR code of this course" ', 1)


def packed_code(modules: list[list[bool]]) -> list:
    """A code's ``modules`` as the record keeps them: ``[size, hex]``, its modules row by row as
    the bits of one number (about 300 characters where its SVG is about 12,000)."""
    bits = bytes(itertools.chain.from_iterable(modules)).translate(_BIT_DIGITS)
    return [len(modules), format(int(bits, 2), "x")]


#: A module's byte (0 light, 1 dark) as its binary digit.
_BIT_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
#: A binary digit as the module's byte (what itertools.compress takes as light or dark).
_DIGIT_BITS = bytes.maketrans(b"01", b"\x00\x01")


def unpacked_svg(packed) -> str:
    """The SVG of a code :func:`packed_code` packed, byte for byte :func:`qr_svg`'s; raises
    ``ValueError`` for a value that is no packed code."""
    size, digits = packed
    if not isinstance(size, int) or not isinstance(digits, str) or not 21 <= size <= 177 or len(digits) > size * size:
        raise ValueError(f"no packed QR code: {packed!r}")
    bits = format(int(digits, 16), f"0{size * size}b")
    if len(bits) != size * size:
        raise ValueError(f"no packed QR code: {packed!r}")
    # path_svg's squares picked straight from the digits, the border's rows and columns as light
    # ones: no list of modules made first.
    blank = "0" * QR_BORDER
    edge = "0" * ((size + 2 * QR_BORDER) * QR_BORDER)
    darks = "".join([edge, *(blank + bits[at:at + size] + blank for at in range(0, size * size, size)), edge])
    return _labelled(_svg_of_squares(size + 2 * QR_BORDER, darks.encode("ascii").translate(_DIGIT_BITS)))


def qr_modules(url: str) -> list[list[bool]]:
    """The dark (True) and light modules of ``url``'s code, as qrcode's ``QRCode.make`` lays them
    (:func:`_code_digits`, row by row)."""
    size, digits = _code_digits(url)
    return [[digit == "1" for digit in digits[at:at + size]] for at in range(0, size * size, size)]


def packed_qr(url: str) -> list:
    """``packed_code(qr_modules(url))``, without the modules' lists."""
    size, digits = _code_digits(url)
    return [size, format(int(digits, 2), "x")]


def _code_digits(url: str) -> tuple[int, str]:
    """``url``'s code as qrcode's ``QRCode.make`` lays it: its size and its modules row by row,
    "1" dark. qrcode's segments, with the version found from their lengths (:func:`_best_version`;
    qrcode writes their bits one at a time to count them), the codewords written by
    :func:`_codewords` (qrcode puts them one bit at a time through a list and divides Reed-Solomon
    polynomials as objects) and laid, masked, with the patterns qrcode lays around them, by one
    permutation a version (:func:`_layout`; qrcode walks every module of the code): 0.07 ms a code
    where qrcode's own steps took 0.3. tests/plugins/site/test_site_qr.py holds the modules equal
    to qrcode's at every version."""
    import qrcode

    # A fixed mask pattern: choosing the "best" of eight took 90 % of the time (7 s per 1,000
    # courses) and any mask scans; error correction M survives a creased, printed poster.
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QR_BORDER, mask_pattern=2)
    code.add_data(url)
    code.version = _best_version(code.error_correction, code.data_list)
    data = _codewords(code.version, code.error_correction, code.data_list)
    layout = _LAYOUTS.get((code.version, code.error_correction, code.mask_pattern)) or _layout(code)
    # The codewords' bits, then light modules, on the data's places, each turned over where the mask is dark.
    bits = format(int.from_bytes(bytes(data), "big"), f"0{8 * len(data)}b") if data else ""
    bits = int(bits[:layout.places].ljust(layout.places, "0"), 2) ^ layout.mask
    return layout.size, "".join(layout.lay(format(bits, f"0{layout.places}b") + "01"))


class _Layout(NamedTuple):
    """Where a version's code has its data and what its patterns are: ``lay`` takes the data's
    digits (in the order qrcode's ``map_data`` fills them, masked) followed by "01" and gives
    every module's digit, row by row (the patterns' modules are the "0" or "1" after the data)."""

    size: int
    places: int
    mask: int
    lay: Callable[[str], tuple[str, ...]]


#: (version, error correction, mask pattern) -> the code's :class:`_Layout`.
_LAYOUTS: dict[tuple[int, int, int], _Layout] = {}


def _layout(code) -> _Layout:
    """The :class:`_Layout` of ``code``'s version, level and mask: its patterns as qrcode's
    ``makeImpl`` lays them (finder, alignment and timing patterns, format and version information:
    their places and colours are the version's, level's and mask's), and the places its
    ``map_data`` fills, in its order: two columns at a time from the right, up then down, skipping
    the timing column and every module already set."""
    from operator import itemgetter

    from qrcode import util

    laid: list[list[bool | None]] = []
    code.data_cache = []
    code.map_data = lambda data, mask_pattern: laid.extend(code.modules)  # (the patterns alone)
    code.makeImpl(False, code.mask_pattern)
    size = len(laid)
    mask = util.mask_func(code.mask_pattern)
    order: list[tuple[int, int]] = []
    upwards = True
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        for row in (range(size - 1, -1, -1) if upwards else range(size)):
            order.extend((row, column) for column in (right, right - 1) if laid[row][column] is None)
        upwards = not upwards
    at = {place: index for index, place in enumerate(order)}
    places = len(order)
    source = [at[row, column] if laid[row][column] is None else places + bool(laid[row][column])
              for row in range(size) for column in range(size)]
    mask_digits = "".join("1" if mask(row, column) else "0" for row, column in order)
    layout = _LAYOUTS[(code.version, code.error_correction, code.mask_pattern)] = _Layout(
        size=size, places=places, mask=int(mask_digits, 2) if places else 0, lay=itemgetter(*source))
    return layout


def _segment_bits(segment) -> int:
    """How many bits qrcode's ``QRData.write`` puts for ``segment``'s data."""
    from qrcode import util

    count = len(segment.data)
    if segment.mode == util.MODE_NUMBER:
        return 10 * (count // 3) + (util.NUMBER_LENGTH[count % 3] if count % 3 else 0)
    if segment.mode == util.MODE_ALPHA_NUM:
        return 11 * (count // 2) + 6 * (count % 2)
    return 8 * count


def _best_version(error_correction: int, segments) -> int:
    """What ``QRCode.best_fit`` finds (the smallest version that holds ``segments``), from the
    segments' lengths instead of writing their bits one by one into a buffer."""
    from bisect import bisect_left

    from qrcode import exceptions, util

    start = 1
    while True:
        mode_sizes = util.mode_sizes_for_version(start)
        needed = sum(4 + mode_sizes[segment.mode] + _segment_bits(segment) for segment in segments)
        version = bisect_left(util.BIT_LIMIT_TABLE[error_correction], needed, start)
        util.check_version(version)  # (what qrcode's version setter raises when none holds it)
        if version == 41:
            raise exceptions.DataOverflowError()
        # As best_fit: the length fields' sizes change with the version; if they did, fit again.
        if mode_sizes is util.mode_sizes_for_version(version):
            return version
        start = version


def _codewords(version: int, error_correction: int, segments) -> list[int]:
    """What ``qrcode.util.create_data`` returns: the segments' bits, terminated and padded to the
    version's data codewords, then each block's error correction codewords, interleaved."""
    from qrcode import base, exceptions, util

    bits = length = 0

    def put(value: int, size: int) -> None:
        nonlocal bits, length
        bits, length = bits << size | value, length + size

    for segment in segments:
        put(segment.mode, 4)
        put(len(segment), util.length_in_bits(segment.mode, version))
        data = segment.data
        if segment.mode == util.MODE_NUMBER:
            for at in range(0, len(data), 3):
                put(int(data[at:at + 3]), util.NUMBER_LENGTH[len(data[at:at + 3])])
        elif segment.mode == util.MODE_ALPHA_NUM:
            for at in range(0, len(data), 2):
                pair = data[at:at + 2]
                if len(pair) > 1:
                    put(util.ALPHA_NUM.find(pair[0]) * 45 + util.ALPHA_NUM.find(pair[1]), 11)
                else:
                    put(util.ALPHA_NUM.find(pair), 6)
        else:  # bytes, all at once
            put(int.from_bytes(data, "big"), 8 * len(data))
    blocks = base.rs_blocks(version, error_correction)
    limit = sum(block.data_count * 8 for block in blocks)
    if length > limit:
        raise exceptions.DataOverflowError(f"Code length overflow. Data size ({length}) > size available ({limit})")
    ending = min(limit - length, 4)  # the terminator, then zeros to a whole byte
    ending += -(length + ending) % 8
    put(0, ending)
    stream = list(bits.to_bytes(length // 8, "big")) if length else []
    stream += [util.PAD0 if number % 2 == 0 else util.PAD1 for number in range((limit - length) // 8)]

    log = base.LOG_TABLE
    data_blocks, error_blocks, offset = [], [], 0
    for block in blocks:
        data = stream[offset:offset + block.data_count]
        offset += block.data_count
        count = block.total_count - block.data_count
        multiples = _generator_multiples(count)
        remainder = data + [0] * count
        for at in range(len(data)):  # long division by the generator (leading coefficient 1)
            if remainder[at]:
                remainder[at + 1:at + 1 + count] = map(xor, remainder[at + 1:at + 1 + count],
                                                      multiples[log[remainder[at]]])
        data_blocks.append(data)
        error_blocks.append(remainder[len(data):])
    return [block[at] for blocks_of in (data_blocks, error_blocks)
            for at in range(max(map(len, blocks_of))) for block in blocks_of if at < len(block)]


@functools.cache
def _generator_multiples(count: int) -> list[list[int]]:
    """The Reed-Solomon generator of ``count`` error correction codewords (its leading 1 left out)
    times each power of the field's generator: ``[α^f · g for f in 0..254]``, the rows the long
    division subtracts (qrcode's ``EXP_TABLE[(f + log g_i) % 255]``)."""
    from qrcode import base
    from qrcode.LUT import rsPoly_LUT

    logs = [base.LOG_TABLE[value] for value in rsPoly_LUT[count][1:]]
    return [[base.EXP_TABLE[(factor + value) % 255] for value in logs] for factor in range(255)]


@functools.cache
def _squares(size: int) -> list[str]:
    """The path of each module's square of a code ``size`` modules wide, row by row (the border included)."""
    return [f"M{x},{y}H{x + 1}V{y + 1}H{x}z" for y in range(size) for x in range(size)]


def path_svg(modules: list[list[bool | None]]) -> str:
    """What qrcode's ``SvgPathImage`` (qrcode 8, default box size, this border) makes of a code's
    ``modules``, without its XML declaration: one square subpath per dark module, row by row.
    Written here because its drawing (a ``Decimal`` per corner, ElementTree) was 60 % of a code's
    time; tests/plugins/site/test_site_qr.py holds the two equal byte for byte."""
    size = len(modules) + 2 * QR_BORDER
    blank = [False] * QR_BORDER
    darks = itertools.chain([False] * (size * QR_BORDER), *(blank + row + blank for row in modules))
    return _svg_of_squares(size, darks)


def _svg_of_squares(size: int, darks: Iterable) -> str:
    """The SVG of a code ``size`` modules wide (its border included) whose modules are dark where
    ``darks`` (row by row) is true."""
    path = "".join(itertools.compress(_squares(size), darks))
    return (f'<svg width="{size}mm" height="{size}mm" version="1.1" viewBox="0 0 {size} {size}" '
            f'xmlns="http://www.w3.org/2000/svg"><path d="{path}" id="qr-path" fill="#000000" '
            f'fill-opacity="1" fill-rule="nonzero" stroke="none"/></svg>')


def _packed_or_none(url: str) -> list | None:
    try:
        return packed_qr(url)
    except Exception:  # noqa: BLE001 (QrCodes.svg makes it again, for its course only, and reports it)
        return None


def packed_codes(urls: list[str]) -> list[list | None]:
    """:func:`packed_qr` of each of ``urls``; None for one that fails (:meth:`QrCodes.svg` makes
    it again, for its course only, and reports it)."""
    return [_packed_or_none(url) for url in urls]


class MissingCodes:
    """Codes being made by another process (:meth:`QrCodes.make_missing_aside`): :meth:`wait` records
    them in their :class:`QrCodes` and gives how many there were; :meth:`stop` ends the process
    unwaited for (the caller failed meanwhile). A process that fails has its codes made when waited
    for (:class:`~weike.plugins.site.workers.WorkAside`)."""

    def __init__(self, made: dict[str, list], missing: list[str]) -> None:
        from weike.plugins.site.workers import WorkAside

        self._made, self._missing = made, missing
        self._aside = WorkAside([missing], packed_codes) if missing else None

    def wait(self) -> int:
        if self._aside is not None:
            (codes,) = self._aside.results()
            self._aside = None
            for url, code in zip(self._missing, codes, strict=True):
                if code is not None:
                    self._made[url] = code
        return len(self._missing)

    def stop(self) -> None:
        if self._aside is not None:
            self._aside.stop()
            self._aside = None


#: The record's form: a file without it (an older weike's, of whole SVGs) is no record.
RECORD_FORM = "packed-modules-1"


class QrCodes:
    """QR codes by URL, kept between builds in the cache.

    A code takes qrcode some milliseconds; every course page is regenerated whenever anything in
    the catalogue changes, so at 2,000 courses regenerating them all cost seconds per edit. The
    file keeps only the URLs of the last build, so it never grows beyond the catalogue. It keeps
    each code's modules, packed (:func:`packed_code`), not its SVG: a fortieth of the bytes to
    write after a cold build and to read on every edit (10 MB of JSON at 1,000 courses before),
    the SVG drawn from them only for a course made again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            record = None
        codes = record.get("codes") if isinstance(record, dict) and record.get("form") == RECORD_FORM else None
        self._known: dict[str, list] = codes if isinstance(codes, dict) else {}
        self._used: dict[str, list] = {}
        #: Codes made by :meth:`make_missing` for this build (not in the file yet).
        self._made: dict[str, list] = {}

    def _missing(self, urls: Iterable[str]) -> list[str]:
        """``urls`` (once each) whose code is neither in the record nor made by this build yet."""
        return [url for url in dict.fromkeys(urls) if url and url not in self._known and url not in self._made]

    def missing(self, urls: Iterable[str]) -> list[str]:
        """``urls`` (once each) whose code this build has still to make (for another process to make:
        :meth:`record` then records what it made)."""
        return self._missing(urls)

    def record(self, urls: Sequence[str], codes: Sequence[list | None]) -> None:
        """Record the codes of ``urls`` made elsewhere (:func:`packed_codes`; None: not made)."""
        for url, code in zip(urls, codes, strict=True):
            if code is not None:
                self._made[url] = code

    def make_missing(self, urls: Iterable[str], *, too_few_too: bool = False, here: bool = False) -> int:
        """Make the codes of ``urls`` not in the record yet, shared among processes (a cold build:
        some 3 ms of CPU each); returns how many were missing. Too few to share are left to
        :meth:`svg`, unless ``too_few_too`` (made here then: worker processes about to be forked
        find them, and this record keeps them); ``here``: all made by this process (another is
        making the rest). A code that fails here is left to :meth:`svg`, which raises for its own
        course only."""
        from weike.plugins.site.workers import render_processes, share_work

        missing = self._missing(urls)
        processes = 1 if here else render_processes(len(missing), per_process=QR_CODES_PER_PROCESS)
        too_few_too = too_few_too or here
        if processes > 1 or too_few_too:
            for url, code in zip(missing, share_work(missing, _packed_or_none, processes=processes), strict=True):
                if code is not None:
                    self._made[url] = code
        return len(missing)

    def make_missing_aside(self, urls: Iterable[str]) -> MissingCodes:
        """:meth:`make_missing` of ``urls`` (too few to share too) started in one forked process while
        this one does other work (a cold build loads jieba's dictionary meanwhile): :class:`MissingCodes`."""
        return MissingCodes(self._made, self._missing(urls))

    def svg(self, url: str) -> str:
        packed = self._known.get(url) or self._made.get(url)
        if packed is not None:
            try:
                svg = unpacked_svg(packed)
            except (TypeError, ValueError):  # (a damaged record's: made again)
                packed = None
        if packed is None:
            packed = packed_qr(url)
            svg = unpacked_svg(packed)
        self._used[url] = packed
        return svg

    def keep(self, url: str) -> None:
        """Keep the code of ``url`` in the record without asking for it (a page remembered from an
        earlier build shows it)."""
        code = self._known.get(url) or self._made.get(url)
        if code is not None:
            self._used[url] = code

    def save(self) -> None:
        if self._used != self._known:
            # (No fsync: a record a power cut tore is no JSON, so no record, and its codes are made again.)
            outputs.write_atomic(self.path, json.dumps({"form": RECORD_FORM, "codes": self._used}, sort_keys=True,
                                                       separators=(",", ":")).encode("utf-8"), sync=False)
