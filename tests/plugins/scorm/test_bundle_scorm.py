"""The SCORM 1.2 package: a manifest that validates, the schemas as published, SCOs that report."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from tests.plugins.conftest import read_zip

VALIDATION = Path(__file__).resolve().parents[2] / "data" / "scorm12_validation"
CP = "{http://www.imsproject.org/xsd/imscp_rootv1p1p2}"
MD = "{http://www.imsglobal.org/xsd/imsmd_rootv1p2p1}"
ADLCP = "{http://www.adlnet.org/xsd/adlcp_rootv1p2}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
#: The published SCORM 1.2 control files: shipped byte for byte.
SCHEMA_SHA256 = {
    "adlcp_rootv1p2.xsd": "a87f8ad328bb61c435b2a1ef3948cc0b3a4bc3ad1b0145b3733acfde70957b7e",
    "ims_xml.xsd": "eff7762a7dfbe6aea40c5186a3c78b2478cb99a882b911ec25898789829cc083",
    "imscp_rootv1p1p2.xsd": "e26020ee1d6b4ea0a6adf76b419cdc76061b64dfcb5be0596636760e31d4e7e8",
    "imsmd_rootv1p2p1.xsd": "f0d373c4a40217cd7e252d4f523363dc89096ddde5f4daed325feaab47837e3c",
}
CONTROL_FILES = {"imsmanifest.xml", "SHA256SUMS", *SCHEMA_SHA256}


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(VALIDATION / "wrapper.xsd")))


def manifest_problems(manifest: etree._Element, members: set[str]) -> list[str]:
    """The checks schema validation misses (../shared/scorm12/README.md)."""
    problems = []
    identifiers = [e.get("identifier") for e in manifest.iter() if e.get("identifier") is not None]
    if len(identifiers) != len(set(identifiers)):
        problems.append(f"duplicate identifiers: {sorted(i for i in identifiers if identifiers.count(i) > 1)}")
    organizations = manifest.find(f"{CP}organizations")
    if organizations.get("default") not in {o.get("identifier") for o in organizations.findall(f"{CP}organization")}:
        problems.append(f"organizations@default {organizations.get('default')!r} resolves to no organization")
    resources = {r.get("identifier") for r in manifest.iter(f"{CP}resource")}
    for element in [*manifest.iter(f"{CP}item"), *manifest.iter(f"{CP}dependency")]:
        if element.get("identifierref") is not None and element.get("identifierref") not in resources:
            problems.append(f"identifierref {element.get('identifierref')!r} resolves to no resource")
    version = manifest.findtext(f"{CP}metadata/{CP}schemaversion")
    if version != "1.2":
        problems.append(f"schemaversion is {version!r}")
    for element in [*manifest.iter(f"{CP}resource"), *manifest.iter(f"{CP}file")]:
        if element.get("href") is not None and element.get("href") not in members:
            problems.append(f"href {element.get('href')!r} is not in the zip")
    return problems


def test_manifest_validates_and_passes_the_extra_checks(bundled, schema):
    _, _, dist, _ = bundled()
    files = read_zip(dist / "bundles/scorm/demo.zip")
    document = etree.fromstring(files["imsmanifest.xml"])
    assert schema.validate(document), schema.error_log
    assert manifest_problems(document, set(files)) == []

    # Every file the manifest names is in the zip, and every file in the zip is named (control files aside).
    named = {f.get("href") for f in document.iter(f"{CP}file")}
    assert named == set(files) - CONTROL_FILES
    assert CONTROL_FILES <= set(files)
    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[name]).hexdigest() == digest for name, digest in sums.items())


def test_schemas_are_shipped_unchanged(bundled):
    _, _, dist, _ = bundled()
    files = read_zip(dist / "bundles/scorm/demo.zip")
    assert {name: hashlib.sha256(files[name]).hexdigest() for name in SCHEMA_SHA256} == SCHEMA_SHA256


def test_one_organization_one_item_and_sco_per_lecture_lom_in_chinese(bundled):
    repository, _, dist, _ = bundled()
    course = repository.course("demo")
    document = etree.fromstring(read_zip(dist / "bundles/scorm/demo.zip")["imsmanifest.xml"])
    general = document.find(f"{CP}metadata/{MD}lom/{MD}general")
    title = general.find(f"{MD}title/{MD}langstring")
    description = general.find(f"{MD}description/{MD}langstring")
    assert (title.text, title.get(XML_LANG)) == ("测试课程", "zh-CN")
    assert (description.text, description.get(XML_LANG)) == ("一门用于测试的课程。", "zh-CN")
    assert general.findtext(f"{MD}language") == "zh-CN"

    organizations = document.findall(f"{CP}organizations/{CP}organization")
    assert len(organizations) == 1 and organizations[0].findtext(f"{CP}title") == "测试课程"
    items = organizations[0].findall(f"{CP}item")
    assert [item.findtext(f"{CP}title") for item in items] == [lecture.title for lecture in course.lectures]
    resources = {r.get("identifier"): r for r in document.iter(f"{CP}resource")}
    for item, lecture in zip(items, course.lectures):
        sco = resources[item.get("identifierref")]
        assert sco.get(f"{ADLCP}scormtype") == "sco"
        assert sco.get("href") == f"{lecture.slug}/index.html"
        assert f"{lecture.slug}/video.mp4" in {f.get("href") for f in sco.findall(f"{CP}file")}
    assert sum(r.get(f"{ADLCP}scormtype") == "sco" for r in resources.values()) == len(course.lectures)


def test_the_validator_catches_a_broken_manifest(bundled, schema):
    """The checks above can fail: each planted fault is caught by the schema or the extra checks."""
    _, _, dist, _ = bundled()
    files = read_zip(dist / "bundles/scorm/demo.zip")
    text = files["imsmanifest.xml"].decode()
    faults = {
        "wrong schemaversion": text.replace("<schemaversion>1.2</schemaversion>", "<schemaversion>2004</schemaversion>"),
        "dangling default": text.replace('default="org-demo"', 'default="org-missing"'),
        "dangling item": text.replace('identifierref="res-02-lecture-2"', 'identifierref="res-nowhere"', 1),
        "duplicate identifier": text.replace('identifier="item-02-lecture-2"', 'identifier="item-01-lecture-1"'),
        "missing file": text.replace('href="01-lecture-1/poster.jpg"', 'href="01-lecture-1/missing.jpg"'),
        "bad scormtype": text.replace('adlcp:scormtype="asset"', 'adlcp:scormtype="page"'),
        "elements out of order": text.replace("<schema>ADL SCORM</schema>\n    <schemaversion>1.2</schemaversion>",
                                              "<schemaversion>1.2</schemaversion>\n    <schema>ADL SCORM</schema>"),
    }
    for fault, broken in faults.items():
        assert broken != text, fault
        document = etree.fromstring(broken.encode())
        assert not schema.validate(document) or manifest_problems(document, set(files)), fault


def test_sco_page_escapes_titles_and_links_its_media(delivered_repo):
    from tests.plugins.conftest import run_bundle_stage
    from tests.conftest import lecture_md

    repository, delivered, dist = delivered_repo(files={
        "courses/demo/01-lecture-1/lecture.md": lecture_md(title="'<script>alert(1)</script> 开机'",
                                                           knowledge_point="'A & B'")})
    run_bundle_stage(repository, delivered, dist)
    page = read_zip(dist / "bundles/scorm/demo.zip")["01-lecture-1/index.html"].decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; 开机" in page
    assert "知识点：A &amp; B" in page
    assert 'src="video.mp4"' in page and 'poster="poster.jpg"' in page and 'src="subtitles.vtt"' in page
    assert '<script src="../common/sco.js"></script>' in page
    second = read_zip(dist / "bundles/scorm/demo.zip")["02-lecture-2/index.html"].decode()
    assert "<track" not in second  # lecture 2 has no subtitles


def test_sco_page_carries_the_sanitised_notes_and_their_pictures(delivered_repo, cover_jpeg, schema, tmp_path):
    import io

    from PIL import Image

    from tests.plugins.conftest import run_bundle_stage
    from tests.conftest import lecture_md

    photo = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # with the GPS block, what a phone writes into every photo
    Image.new("RGB", (4000, 3000), (30, 120, 200)).save(photo, "JPEG", exif=exif)
    notes = ("**第一步**：打开设置。\n\n![设置页面](pics/step1.jpg)\n\n![整张照片](photo.jpg)\n\n"
             "<script>alert('x')</script><img src=x onerror=alert(1)> [点我](javascript:alert(2))")
    repository, delivered, dist = delivered_repo(files={
        "courses/demo/03-lecture-3/lecture.md": lecture_md(title="第3讲", notes=notes),
        "courses/demo/03-lecture-3/pics/step1.jpg": cover_jpeg,
        "courses/demo/03-lecture-3/photo.jpg": photo})
    run_bundle_stage(repository, delivered, dist)
    files = read_zip(dist / "bundles/scorm/demo.zip")
    page = files["03-lecture-3/index.html"].decode()
    assert "<strong>第一步</strong>：打开设置。" in page and 'src="pics/step1.jpg"' in page
    with Image.open(cover_jpeg) as source, Image.open(io.BytesIO(files["03-lecture-3/pics/step1.jpg"])) as packed:
        assert (packed.format, packed.size) == ("JPEG", source.size)  # small enough already
    # A 12-megapixel photo goes at a size for phones, without what the camera wrote into it.
    with Image.open(io.BytesIO(files["03-lecture-3/photo.jpg"])) as packed:
        assert (packed.format, packed.size) == ("JPEG", (1600, 1200)) and not packed.getexif()
    for marker in ("alert(", "onerror", "javascript:"):
        assert marker not in page
    document = etree.fromstring(files["imsmanifest.xml"])
    assert schema.validate(document) and not manifest_problems(document, set(files))
    assert 'href="03-lecture-3/pics/step1.jpg"' in files["imsmanifest.xml"].decode()


# --------------------------------------------------------------------------------------------
# A real browser plays a SCO inside a page that records the SCORM API calls
# --------------------------------------------------------------------------------------------

#: A stand-in LMS: a SCORM 1.2 API object that records every call and keeps the values set.
LMS_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>LMS</title>
<script>
var stored = %s;
window.API = {
  calls: [],
  values: stored,
  _record: function (name, args, result) {
    this.calls.push([name].concat(Array.prototype.slice.call(args)));
    return result;
  },
  LMSInitialize: function () { return this._record("LMSInitialize", arguments, "true"); },
  LMSFinish: function () { return this._record("LMSFinish", arguments, "true"); },
  LMSGetValue: function (name) { return this._record("LMSGetValue", arguments, this.values[name] || ""); },
  LMSSetValue: function (name, value) { this.values[name] = String(value);
                                        return this._record("LMSSetValue", arguments, "true"); },
  LMSCommit: function () { return this._record("LMSCommit", arguments, "true"); },
  LMSGetLastError: function () { return "0"; },
  LMSGetErrorString: function () { return ""; },
  LMSGetDiagnostic: function () { return ""; }
};
</script></head>
<body>%s</body></html>
"""
SCO = "pkg/01-lecture-1/index.html"
TIMESPAN = re.compile(r"^\d{2,4}:\d{2}:\d{2}(\.\d{1,2})?$")


@pytest.fixture
def lms_site(bundled, tmp_path, serve):
    """``lms_site(body, stored) -> URL of lms.html`` beside the unpacked SCORM package."""
    _, _, dist, _ = bundled()
    site = tmp_path / "site"
    with zipfile.ZipFile(dist / "bundles/scorm/demo.zip") as archive:
        archive.extractall(site / "pkg")
    base = serve(site)

    def make(body: str, stored: dict[str, str] | None = None) -> str:
        stored = {"cmi.core.lesson_status": "not attempted", **(stored or {})}
        (site / "lms.html").write_text(LMS_PAGE % (json.dumps(stored), body), encoding="utf-8")
        return base + "lms.html"

    return make


def assert_completed_session(calls):
    names = [call[0] for call in calls]
    assert names[0] == "LMSInitialize"
    sets = [tuple(call[1:]) for call in calls if call[0] == "LMSSetValue"]
    assert ("cmi.core.lesson_status", "incomplete") in sets
    completed_at = calls.index(["LMSSetValue", "cmi.core.lesson_status", "completed"])
    assert "LMSCommit" in names[completed_at:]
    session = [value for name, value in sets if name == "cmi.core.session_time"]
    assert len(session) == 1 and TIMESPAN.match(session[0]), session
    assert names[-2:] == ["LMSCommit", "LMSFinish"] and names.count("LMSFinish") == 1
    assert ("cmi.core.exit", "") in sets


#: The SCO's video has its metadata; false, not an error, while the page is still loading (a popup
#: is polled from about:blank on, where the predicate would throw and end the wait).
VIDEO_READY = "(document.querySelector('video') || {readyState: 0}).readyState >= 1"


def play_to_the_end(frame) -> None:
    frame.wait_for_function(VIDEO_READY)
    frame.evaluate("document.querySelector('video').play()")
    frame.wait_for_function("document.querySelector('video').ended", timeout=20_000)


@pytest.mark.slow
def test_sco_in_a_frame_reports_completion_to_the_lms(browser, lms_site):
    url = lms_site(f'<iframe id="sco" src="{SCO}" width="640" height="420"></iframe>')
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("window.API.calls.length > 0")
        play_to_the_end(page.locator("#sco").element_handle().content_frame())
        page.wait_for_function("window.API.values['cmi.core.lesson_status'] === 'completed'")
        page.evaluate("document.getElementById('sco').src = 'about:blank'")  # the learner moves on
        page.wait_for_function("window.API.calls.some(function (c) { return c[0] === 'LMSFinish'; })")
        assert_completed_session(page.evaluate("window.API.calls"))
    finally:
        page.close()


@pytest.mark.slow
def test_sco_in_a_popup_finds_the_api_of_its_opener(browser, lms_site):
    url = lms_site("<p>LMS</p>")
    page = browser.new_page()
    try:
        page.goto(url)
        with page.expect_popup() as opened:
            page.evaluate(f"window.open('{SCO}', 'sco')")
        popup = opened.value
        play_to_the_end(popup.main_frame)
        page.wait_for_function("window.API.values['cmi.core.lesson_status'] === 'completed'")
        popup.goto("about:blank")
        page.wait_for_function("window.API.calls.some(function (c) { return c[0] === 'LMSFinish'; })")
        assert_completed_session(page.evaluate("window.API.calls"))
        popup.close()
    finally:
        page.close()


@pytest.mark.slow
def test_leaving_early_suspends_and_keeps_the_position(browser, lms_site):
    url = lms_site(f'<iframe id="sco" src="{SCO}"></iframe>', stored={"cmi.core.lesson_status": "incomplete"})
    page = browser.new_page()
    try:
        page.goto(url)
        page.wait_for_function("window.API.calls.length > 0")
        frame = page.locator("#sco").element_handle().content_frame()
        frame.wait_for_function(VIDEO_READY)
        page.evaluate("document.getElementById('sco').src = 'about:blank'")
        page.wait_for_function("window.API.calls.some(function (c) { return c[0] === 'LMSFinish'; })")
        calls = page.evaluate("window.API.calls")
        values = page.evaluate("window.API.values")
    finally:
        page.close()
    assert values["cmi.core.lesson_status"] == "incomplete"  # not marked completed, not reset either
    assert values["cmi.core.exit"] == "suspend" and values["cmi.core.lesson_location"] == "0"
    assert TIMESPAN.match(values["cmi.core.session_time"])
    assert [c for c in calls if c[0] == "LMSSetValue" and c[1] == "cmi.core.lesson_status"] == []
    assert [c[0] for c in calls][-2:] == ["LMSCommit", "LMSFinish"]


@pytest.mark.slow
def test_sco_without_an_lms_still_plays_and_says_progress_is_not_saved(browser, lms_site):
    base = lms_site("").rsplit("/", 1)[0]
    page = browser.new_page()
    try:
        page.goto(f"{base}/{SCO}")
        status = page.locator("#weike-status")
        status.wait_for(state="visible")
        assert "不会记录学习进度" in status.inner_text()
        play_to_the_end(page.main_frame)
    finally:
        page.close()
