"""A cold build's cover thumbnails are made side by side in worker processes, byte for byte as one
process makes them; a cover that cannot be made is left to the course's own thumbnail, which
reports it."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.plugins.site.test_site_workers import forks  # noqa: F401 (a fixture)
from weike.plugins.site import covers
from weike.plugins.site.covers import CoverCache, CoverError, make_thumbnail


@pytest.fixture
def pictures(tmp_path):
    """Twelve distinct covers, one of them twice, and one that is no picture."""
    folder = tmp_path / "covers-in"
    folder.mkdir()
    paths = []
    for number in range(12):
        path = folder / f"cover-{number}.jpg"
        Image.new("RGB", (640 + number * 40, 480), (number * 20, 255 - number * 20, 90)).save(path, quality=85)
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


def thumbnail_as_made_before(source, target):
    """The thumbnail by the recipe as it was, every step on a copy of the picture (the reference)."""
    from PIL import ImageOps

    from weike.plugins.pictures import open_picture

    with open_picture(source) as image:
        image.draft("RGB", (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_WIDTH))
        image = ImageOps.exif_transpose(image).convert("RGB")
        image = image.convert("RGB")  # (what fitted_with_fill began with)
        image = covers.fitted_with_fill(image, (covers.THUMBNAIL_WIDTH, covers.THUMBNAIL_HEIGHT))
        image.save(target, "JPEG", quality=covers.THUMBNAIL_QUALITY, optimize=True, progressive=True)
    return target.read_bytes()


def test_thumbnails_are_the_recipe_s_bytes_whatever_the_picture_s_mode_and_orientation(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    sources = []

    def picture(name, image, **save):
        sources.append(folder / name)
        image.save(sources[-1], **save)

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
