"""A cold build's cover thumbnails are made side by side in worker processes, byte for byte as one
process makes them; a cover that cannot be made is left to the course's own thumbnail, which
reports it."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from tests.plugins.site.test_site_workers import forks  # noqa: F401 (a fixture)
from weike.plugins.site import covers, workers
from weike.plugins.pictures import picture_for_phones
from weike.plugins.site.covers import CoverCache, CoverError, WorkBeside, make_thumbnail


@pytest.fixture
def pictures(tmp_path):
    """Twelve distinct covers, one of them twice, and one that is no picture; the last two of the
    twelve are decoded at a reduced scale (a portrait photo, and one stored turned)."""
    folder = tmp_path / "covers-in"
    folder.mkdir()
    paths = []
    for number in range(12):
        path = folder / f"cover-{number}.jpg"
        size = {10: (1080, 1920), 11: (1920, 1080)}.get(number, (640 + number * 40, 480))
        exif = Image.Exif()
        if number == 11:
            exif[0x0112] = 6
        Image.new("RGB", size, (number * 20, 255 - number * 20, 90)).save(path, quality=85, exif=exif.tobytes())
        paths.append(path)
    (folder / "again.jpg").write_bytes(paths[3].read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a picture")
    return [*paths, folder / "again.jpg", folder / "broken.jpg"]


def test_missing_thumbnails_are_made_by_workers_as_one_process_makes_them(tmp_path, pictures, forks,  # noqa: F811
                                                                         monkeypatch):
    monkeypatch.setattr(covers, "COVERS_PER_PROCESS", 1)
    with CoverCache(tmp_path / "site-cache") as cache:
        assert cache.make_missing_thumbnails(pictures) == 13  # twelve distinct pictures and the broken one
        assert len(forks) == 2 and all(forks)  # three processes shared them
        made = {path: cache.thumbnail(path) for path in pictures[:-1]}
        with pytest.raises(CoverError):
            cache.thumbnail(pictures[-1])
        assert made[pictures[3]].path == made[pictures[12]].path
        # Made: a second build finds them all (only the broken one is missing still).
        assert cache.make_missing_thumbnails(pictures) == 1
    for path, thumbnail in made.items():
        alone = make_thumbnail(path, tmp_path / "one-process", digest=thumbnail.source_sha256)
        assert alone.path.read_bytes() == thumbnail.path.read_bytes()
        assert (alone.width, alone.height) == (thumbnail.width, thumbnail.height)


def test_a_thumbnail_is_opened_once_a_build_and_not_when_made_side_by_side(tmp_path, pictures, forks,  # noqa: F811
                                                                          monkeypatch):
    """A thousand courses share a few hundred covers: the cache gives each course the thumbnail
    its workers made (its size sent back) without opening it, and one found in the cache is
    opened once, whatever the number of courses showing it; the same values either way."""
    monkeypatch.setattr(covers, "COVERS_PER_PROCESS", 1)
    opened: list[str] = []
    make = covers.make_thumbnail

    def opening(source, cache, *, digest):
        opened.append(digest)
        return make(source, cache, digest=digest)

    monkeypatch.setattr(covers, "make_thumbnail", opening)
    with CoverCache(tmp_path / "site-cache") as cache:
        cache.make_missing_thumbnails(pictures)
        opened.clear()  # (those the build made: in the workers' copies of the list)
        made = [cache.thumbnail(path) for path in pictures[:-1]]
        assert opened == []
    with CoverCache(tmp_path / "site-cache") as cache:  # the next build: all of them in the cache
        assert cache.make_missing_thumbnails(pictures) == 1  # (the broken one)
        again = [cache.thumbnail(path) for path in [*pictures[:-1], *pictures[:-1]]]
    assert len(opened) == len(set(opened)) == 12  # (twelve distinct pictures)
    assert again == made + made


@pytest.mark.parametrize("worker", ["works", "dies"])
def test_work_beside_the_covers_is_done_by_the_other_process_while_this_one_does_its_own(
        tmp_path, pictures, forks, monkeypatch, worker):  # noqa: F811 (the fixture imported above)
    """A cold build's other work shared with its covers: the items after the covers, so in the
    other process's share, their results handed back in order; this process's own work done here
    meanwhile, its share of covers smaller by that work's weight. A worker that dies has its
    covers and items done here, and the thumbnails are one process's either way."""
    monkeypatch.setattr(covers, "COVERS_PER_PROCESS", 1)
    monkeypatch.setattr(workers, "available_cores", lambda: 2)
    if worker == "dies":
        fork_worker = workers._fork_worker
        monkeypatch.setattr(workers, "_fork_worker", lambda items, work: fork_worker(items, lambda item: os._exit(3)))
    here = os.getpid()
    results, meanwhile = [], []
    beside = WorkBeside(items=[1, 2, 3], work=lambda number: [number * number, os.getpid() != here],
                        done=results.extend, meanwhile=lambda: meanwhile.append(os.getpid()), meanwhile_covers=4)
    with CoverCache(tmp_path / "site-cache") as cache:
        assert cache.make_missing_thumbnails(pictures, beside=beside) == 13
        made = {path: cache.thumbnail(path) for path in pictures[:-1]}
    # 13 covers and 3 items, 4 covers' worth of other work here: 6 covers here, 7 and the items there.
    assert len(forks) == 1 and len(forks[0]) == 10
    assert forks[0][-3:] == [(False, 1), (False, 2), (False, 3)]
    assert all(is_cover for is_cover, _ in forks[0][:7])
    assert results == [[1, worker == "works"], [4, worker == "works"], [9, worker == "works"]]
    assert meanwhile == [here]
    for path, thumbnail in made.items():
        alone = make_thumbnail(path, tmp_path / "one-process", digest=thumbnail.source_sha256)
        assert alone.path.read_bytes() == thumbnail.path.read_bytes()


def test_work_beside_the_covers_is_done_when_no_cover_is_missing(tmp_path, pictures):
    """A cold build whose covers are all in the cache still does the work beside them."""
    with CoverCache(tmp_path / "site-cache") as cache:
        for path in pictures[:-1]:
            cache.thumbnail(path)
        results, meanwhile = [], []
        beside = WorkBeside(items=["a", "b"], work=str.upper, done=results.extend,
                            meanwhile=lambda: meanwhile.append(True), meanwhile_covers=1)
        assert cache.make_missing_thumbnails(pictures, beside=beside) == 1  # (the broken one)
    assert results == ["A", "B"] and meanwhile == [True]


def test_notes_pictures_made_in_worker_processes_ask_the_memo_through_their_own_connection(tmp_path, pictures):
    """A worker forked from the build (a cold build's courses are made there) asks the covers' memo
    through a connection of its own, never the one it inherited (an SQLite connection must not be
    used across a fork); the hashes it takes are in the memo's file for the next build, and the
    build's own connection works on."""
    from weike.builder.keeping.memo import FileMemo
    from weike.plugins.site import workers

    parent = os.getpid()
    with CoverCache(tmp_path / "site-cache") as cache:
        inherited = cache._memo
        cache.digest(pictures[0])  # the build's connection in use before the fork

        def publish(number: int) -> list:
            made = cache.note_picture(pictures[number])
            return [os.getpid(), cache._memo is inherited, made.read_bytes() == picture_for_phones(pictures[number])]

        answers = workers.share_work(list(range(1, 7)), publish, processes=3)
        assert {pid for pid, _, _ in answers} - {parent}  # workers published some
        assert [(pid == parent, same) for pid, same, _ in answers] == [(pid == parent, pid == parent)
                                                                       for pid, _, _ in answers]
        assert all(equal for _, _, equal in answers)
        assert cache._memo is inherited and cache.digest(pictures[7]) == cache.digest(pictures[7])
    with FileMemo(tmp_path / "site-cache" / covers.COVERS_MEMO_FILE) as facts:
        assert all(facts.get("sha256", path) is not None for path in pictures[:8])


def saved_pictures(folder):
    """A list of the pictures saved so far in ``folder``, and the function that saves one there."""
    folder.mkdir()
    sources = []

    def picture(name, image, **save):
        sources.append(folder / name)
        image.save(sources[-1], **save)

    return sources, picture


def thumbnail_as_made_before(source, target):
    """The thumbnail by the recipe as it was, every step on a copy of the picture (the reference)."""
    from PIL import ImageOps

    from weike.plugins.pictures import draft_for_fitting, open_picture

    with open_picture(source) as image:
        draft_for_fitting(image, (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_HEIGHT))
        image = ImageOps.exif_transpose(image).convert("RGB")
        image = image.convert("RGB")  # (what fitted_with_fill began with)
        image = covers.fitted_with_fill(image, (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_HEIGHT))
        image.save(target, "JPEG", quality=covers.THUMBNAIL_QUALITY, optimize=True, progressive=True)
    return target.read_bytes()


def test_thumbnails_are_the_recipe_s_bytes_whatever_the_picture_s_mode_and_orientation(tmp_path):
    sources, picture = saved_pictures(tmp_path / "in")

    gradient = Image.linear_gradient("L").resize((320, 180))
    colour = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    picture("wide.jpg", colour.resize((1280, 720)), quality=90)  # 16:9: no fill
    picture("portrait.jpg", colour.resize((600, 1000)), quality=90)  # the blurred fill
    for orientation in (3, 6, 8):  # a phone photo stored turned, an EXIF tag to turn it upright
        exif = Image.Exif()
        exif[0x0112] = orientation
        picture(f"turned-{orientation}.jpg", colour.resize((1000, 600)), quality=90, exif=exif.tobytes())
    picture("grey.jpg", gradient.resize((900, 900)), quality=90)
    picture("cmyk.jpg", colour.resize((800, 450)).convert("CMYK"), quality=90)
    picture("alpha.png", colour.resize((700, 500)).convert("RGBA"))
    picture("palette.gif", colour.resize((500, 700)).convert("P"))
    for source in sources:
        made = make_thumbnail(source, tmp_path / "cache", digest=source.stem)
        assert made.path.read_bytes() == thumbnail_as_made_before(source, tmp_path / f"{source.stem}-ref.jpg"), source


def thumbnail_the_slow_way(source):
    """The thumbnail as it was made before its shortcuts: the picture decoded whole (a JPEG only as
    far as 640 px both ways), resized in one step, its fill cut from it and blurred at full size."""
    from PIL import ImageOps

    from tests.plugins.pictures.test_pictures import _fitted_the_long_way
    from weike.plugins.pictures import open_picture

    with open_picture(source) as image:
        image.draft("RGB", (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_WIDTH))
        image = ImageOps.exif_transpose(image).convert("RGB")
    return _fitted_the_long_way(image, (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_HEIGHT))


def test_thumbnails_keep_the_size_orientation_and_fill_the_slow_way_gave(tmp_path):
    """Whatever the picture (portrait, landscape, CMYK, with alpha, stored turned, tiny, a large
    phone photo decoded at a quarter), the thumbnail is the slow way's within a trace of JPEG noise:
    the picture upright, in the same place, the fill as dim and as blurred."""
    from tests.plugins.pictures.test_pictures import _detailed, mean_difference

    sources, picture = saved_pictures(tmp_path / "in")

    picture("landscape.jpg", _detailed((1600, 900)), quality=92)
    picture("portrait.jpg", _detailed((1080, 1920)), quality=92)
    picture("photo.jpg", _detailed((4000, 3000)), quality=92)
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        picture(f"turned-{orientation}.jpg", _detailed((1920, 1080)), quality=92, exif=exif.tobytes())
    picture("cmyk.jpg", _detailed((1200, 900)).convert("CMYK"), quality=92)
    picture("alpha.png", _detailed((900, 1400)).convert("RGBA"))
    picture("tiny.png", _detailed((24, 16)))
    for source in sources:
        made = make_thumbnail(source, tmp_path / "cache", digest=source.stem)
        slow = thumbnail_the_slow_way(source)
        with Image.open(made.path) as done:
            assert (done.size, done.mode) == (slow.size, "RGB") == ((640, 360), "RGB"), source
            # The slow way's picture through the same JPEG encoder: what is left is the shortcuts'
            # (a JPEG decoded at a reduced scale, the fill made small: up to 2.2/255 on the whole card,
            # 3.3 on a strip of 3-pixel lines), while a picture turned or misplaced differs by 50-85.
            slow.save(tmp_path / "slow.jpg", "JPEG", quality=covers.THUMBNAIL_QUALITY)
            with Image.open(tmp_path / "slow.jpg") as reference:
                assert mean_difference(done, reference) < 3.0, source
                assert mean_difference(done, reference, (0, 0, 640, 90)) < 4.0, source  # top: picture or fill
                assert mean_difference(done, reference, (0, 0, 90, 360)) < 4.0, source  # left side: the same


def test_a_thumbnail_torn_in_the_cache_is_made_again(tmp_path, pictures):
    # Thumbnails are written without fsync: a power cut may leave one empty, cut short, or its
    # length with a zeroed tail. Each opens as a JPEG (its header is whole), so the site showed it.
    made = make_thumbnail(pictures[0], tmp_path / "cache", digest="a" * 64)
    whole = made.path.read_bytes()
    for torn in (b"", whole[:len(whole) // 2], whole[:-100] + bytes(100)):
        made.path.write_bytes(torn)
        again = make_thumbnail(pictures[0], tmp_path / "cache", digest="a" * 64)
        assert again.path.read_bytes() == whole


def test_a_cached_thumbnails_size_is_read_from_its_frame_header_as_pil_reads_it(tmp_path, pictures, monkeypatch):
    """A thumbnail found in the cache is not opened with PIL: its frame header gives its size. A
    JPEG whose frame header lies past the bytes read (a large EXIF block), or that has none, is
    measured by PIL, with the same result."""
    import io

    from weike.plugins.site.covers import jpeg_size

    made = make_thumbnail(pictures[0], tmp_path / "cache", digest="b" * 64)
    opened: list[object] = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args) or real_open(*args, **kwargs))
    again = make_thumbnail(pictures[0], tmp_path / "cache", digest="b" * 64)
    assert (again.width, again.height) == (made.width, made.height) == (640, 360)
    assert opened == []
    for mode, options in (("RGB", {}), ("L", {}), ("RGB", {"progressive": True, "optimize": True})):
        data = io.BytesIO()
        Image.new(mode, (123, 45)).save(data, "JPEG", **options)
        assert jpeg_size(data.getvalue()) == (123, 45)
    exif = Image.Exif()
    exif[0x010E] = "x" * 5000  # ImageDescription: the frame header follows 5 kB of EXIF
    data = io.BytesIO()
    Image.new("RGB", (77, 33)).save(data, "JPEG", exif=exif)
    assert jpeg_size(data.getvalue()[:2048]) is None and jpeg_size(data.getvalue()) == (77, 33)
    made.path.write_bytes(data.getvalue())  # (a file of another size under the name: PIL measures it)
    assert (make_thumbnail(pictures[0], tmp_path / "cache", digest="b" * 64).width, len(opened)) == (77, 1)
    assert jpeg_size(b"GIF89a" + bytes(20)) is None and jpeg_size(b"\xff\xd8\xff\xda" + bytes(20)) is None


def test_a_thumbnail_made_by_another_recipe_is_not_taken_from_the_cache(tmp_path, pictures, monkeypatch):
    """The thumbnail's name carries its recipe (the pictures plugin's code, Pillow's version): a
    cache kept across an upgrade that changes the fill makes the thumbnail again, as a cold build does."""
    made = make_thumbnail(pictures[0], tmp_path / "cache", digest="c" * 64)
    Image.new("RGB", (640, 360), (255, 0, 0)).save(made.path, "JPEG")  # (whole: an old recipe's stand-in)
    monkeypatch.setattr(covers, "code_digest", lambda module: f"another {module}")
    covers._thumbnail_recipe.cache_clear()
    try:
        again = make_thumbnail(pictures[0], tmp_path / "cache", digest="c" * 64)
    finally:
        monkeypatch.undo()
        covers._thumbnail_recipe.cache_clear()
    assert again.path != made.path and again.path.parent == made.path.parent
    assert again.path.name.startswith("c" * 64) and again.path.read_bytes() != made.path.read_bytes()
    with Image.open(again.path) as fresh:
        assert fresh.getpixel((320, 180)) != (255, 0, 0)
