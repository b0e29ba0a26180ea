"""SCORM 1.2 package, the format every LMS imports (Moodle, Open edX, Chamilo…): ``dist/bundles/scorm/``.

One zip per course, laid out as an LMS expects::

    imsmanifest.xml                 one organization (the course), one item and one SCO per lecture
    adlcp_rootv1p2.xsd, ims_xml.xsd, imscp_rootv1p1p2.xsd, imsmd_rootv1p2p1.xsd
                                    the SCORM 1.2 control files, byte for byte as published
    common/sco.js, common/sco.css   the SCO runtime every lecture page shares (an asset resource)
    01-slug/index.html              the SCO: the video, its poster and subtitles, SCORM 1.2 tracking
    01-slug/video.mp4, poster.jpg, subtitles.vtt
    SHA256SUMS                      (added by the bundle stage)

Member names are the lecture folders' ASCII slugs: LMSs unpack on servers whose file systems and
URL handling cope badly with anything else. The LOM metadata (title, description, keywords) is in
zh-CN. ``sco.js`` finds the LMS API, marks a lecture completed when its video has played to the
end, and records session time and the resume position when the learner leaves.
"""

from __future__ import annotations

import functools
import html
import string
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from weike.builder.keeping.archive import ArchiveMember
from weike.builder.keeping.fingerprint import code_digest, package_versions
from weike.plugins.bundles import BundleTarget
from weike.builder.contracts.context import Made
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Course, DeliveredMedia, Lecture, WeikeConfig
from weike.plugins.notes import RenderedNotes, lecture_notes
from weike.plugins.pictures import PHONE_PICTURE_RECIPE, picture_for_phones
from weike.builder.keeping.xmltext import xml_safe_tree

_HERE = Path(__file__).resolve().parent
SCHEMA_DIR = _HERE / "schemas"
PLAYER_DIR = _HERE / "player"
SCHEMA_FILES = ("adlcp_rootv1p2.xsd", "ims_xml.xsd", "imscp_rootv1p1p2.xsd", "imsmd_rootv1p2p1.xsd")
MANIFEST_NAME = "imsmanifest.xml"
COMMON_FOLDER = "common"
COMMON_FILES = ("sco.css", "sco.js")
COMMON_RESOURCE = "res-common"
LANGUAGE = "zh-CN"

IMSCP = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
IMSMD = "http://www.imsglobal.org/xsd/imsmd_rootv1p2p1"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SCHEMA_LOCATION = (f"{IMSCP} imscp_rootv1p1p2.xsd {IMSMD} imsmd_rootv1p2p1.xsd "
                   f"{ADLCP} adlcp_rootv1p2.xsd")


def _cp(tag: str) -> str:
    return f"{{{IMSCP}}}{tag}"


def _md(tag: str) -> str:
    return f"{{{IMSMD}}}{tag}"


# --------------------------------------------------------------------------------------------
# The SCO pages
# --------------------------------------------------------------------------------------------


def sco_media_files(media: DeliveredMedia) -> dict[str, Path | None]:
    """Files of one SCO folder besides index.html: name -> source (None when the lecture has none)."""
    return {"video.mp4": media.path, "poster.jpg": media.poster, "subtitles.vtt": media.subtitles}


@functools.cache
def _page_template() -> string.Template:
    return string.Template((PLAYER_DIR / "sco.html").read_text(encoding="utf-8"))


def sco_page(*, course: Course, lecture: Lecture, media: DeliveredMedia, number: int,
             notes: RenderedNotes | None = None) -> bytes:
    """The lecture's HTML page: title, knowledge point, the video with poster and subtitles, notes."""
    track = ('\n<track kind="subtitles" src="subtitles.vtt" srclang="zh-CN" label="中文字幕" default>'
             if media.subtitles else "")
    notes_html = (f'\n<section class="notes" aria-labelledby="notes-heading">\n<h2 id="notes-heading">讲义</h2>\n'
                  f'{notes.html}\n</section>' if notes is not None and notes.html else "")
    page = _page_template().substitute(
        title=html.escape(lecture.title or lecture.slug),
        knowledge_point=html.escape(lecture.knowledge_point or ""),
        course_title=html.escape(course.title or course.slug),
        poster=' poster="poster.jpg"' if media.poster else "",
        track=track, number=number, count=len(course.lectures), notes=notes_html,
    )
    return page.encode("utf-8")


# --------------------------------------------------------------------------------------------
# imsmanifest.xml
# --------------------------------------------------------------------------------------------


def _langstring(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(ET.SubElement(parent, _md(tag)), _md("langstring"), {XML_LANG: LANGUAGE}).text = text


def _lom(course: Course) -> ET.Element:
    lom = ET.Element(_md("lom"))
    general = ET.SubElement(lom, _md("general"))
    _langstring(general, "title", course.title or course.slug)
    ET.SubElement(general, _md("language")).text = LANGUAGE
    _langstring(general, "description", course.summary or "")
    for keyword in dict.fromkeys(word for word in (course.theme, *course.tags) if word):
        _langstring(general, "keyword", keyword)
    return lom


def manifest_xml(course: Course, sco_files: Mapping[str, list[str]]) -> bytes:
    """The manifest for ``sco_files``: lecture slug -> the SCO's member names, index.html first."""
    # ElementTree names prefixes only through this registry; SCORM readers that match the
    # literal "adlcp:scormtype" need the conventional ones. (tostring's default_namespace cannot
    # be used: it refuses the unqualified attributes the manifest needs.)
    ET.register_namespace("", IMSCP)
    ET.register_namespace("adlcp", ADLCP)
    ET.register_namespace("imsmd", IMSMD)
    ET.register_namespace("xsi", XSI)
    manifest = ET.Element(_cp("manifest"), {"identifier": f"weike-{course.slug}", "version": "1",
                                            f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    metadata = ET.SubElement(manifest, _cp("metadata"))
    ET.SubElement(metadata, _cp("schema")).text = "ADL SCORM"
    ET.SubElement(metadata, _cp("schemaversion")).text = "1.2"
    metadata.append(_lom(course))

    organization_id = f"org-{course.slug}"
    organizations = ET.SubElement(manifest, _cp("organizations"), {"default": organization_id})
    organization = ET.SubElement(organizations, _cp("organization"), {"identifier": organization_id})
    ET.SubElement(organization, _cp("title")).text = course.title or course.slug
    resources = ET.SubElement(manifest, _cp("resources"))
    for lecture in course.lectures:
        item = ET.SubElement(organization, _cp("item"), {"identifier": f"item-{lecture.slug}",
                                                         "identifierref": f"res-{lecture.slug}", "isvisible": "true"})
        ET.SubElement(item, _cp("title")).text = lecture.title or lecture.slug
        files = sco_files[lecture.slug]
        resource = ET.SubElement(resources, _cp("resource"), {
            "identifier": f"res-{lecture.slug}", "type": "webcontent", f"{{{ADLCP}}}scormtype": "sco",
            "href": files[0]})
        for name in files:
            ET.SubElement(resource, _cp("file"), {"href": name})
        ET.SubElement(resource, _cp("dependency"), {"identifierref": COMMON_RESOURCE})
    common = ET.SubElement(resources, _cp("resource"), {
        "identifier": COMMON_RESOURCE, "type": "webcontent", f"{{{ADLCP}}}scormtype": "asset"})
    for name in COMMON_FILES:
        ET.SubElement(common, _cp("file"), {"href": f"{COMMON_FOLDER}/{name}"})

    xml_safe_tree(manifest)  # course text is the authors': the manifest stays well-formed XML
    ET.indent(manifest, space="  ")
    body = ET.tostring(manifest, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'.encode("utf-8")


# --------------------------------------------------------------------------------------------
# The target
# --------------------------------------------------------------------------------------------


def pack_scorm_package(*, course: Course, delivered: Mapping[str, DeliveredMedia],
                       config: WeikeConfig, made: Made | None = None) -> list[ArchiveMember]:
    members = [ArchiveMember.from_file(name, SCHEMA_DIR / name) for name in SCHEMA_FILES]
    members += [ArchiveMember.from_file(f"{COMMON_FOLDER}/{name}", PLAYER_DIR / name) for name in COMMON_FILES]
    sco_files: dict[str, list[str]] = {}
    for number, lecture in enumerate(course.lectures, start=1):
        media = delivered[lecture.key]
        notes = lecture_notes(lecture, course_folder=course.folder, made=made)  # as the check rendered them
        page = ArchiveMember.from_bytes(f"{lecture.slug}/index.html",
                                        sco_page(course=course, lecture=lecture, media=media, number=number,
                                                 notes=notes))
        members.append(page)
        sco_files[lecture.slug] = [page.name]
        # Pictures the notes show, from the lecture folder, under the same relative names, at a
        # size for phones (an LMS opens the page on them too).
        for written, source in notes.images:
            if written in sco_media_files(media):
                continue  # a notes picture may not shadow the SCO's own files
            member = ArchiveMember.from_bytes(f"{lecture.slug}/{written}", picture_for_phones(source))
            members.append(member)
            sco_files[lecture.slug].append(member.name)
        for name, source in sco_media_files(media).items():
            if source is None:
                continue
            known = {"size": media.size, "sha256": media.sha256} if source == media.path else {}
            member = ArchiveMember.from_file(f"{lecture.slug}/{name}", source, **known)
            members.append(member)
            sco_files[lecture.slug].append(member.name)
    members.append(ArchiveMember.from_bytes(MANIFEST_NAME, manifest_xml(course, sco_files)))
    return members


def notes_libraries() -> list[str]:
    """The libraries that turn lecture notes into the SCO pages' HTML (their versions)."""
    return [f"{name} {version}" for name, version in package_versions("markdown", "nh3")]


def scorm_inputs(*, course: Course, config: WeikeConfig) -> list[str]:
    """Besides the course folder (the notes and their pictures) and this package (player, schemas):
    the notes renderer, and what makes the notes' pictures for phones."""
    pillow = [f"{name} {version}" for name, version in package_versions("pillow")]
    return [*notes_libraries(), PHONE_PICTURE_RECIPE, *pillow, code_digest("weike.plugins.pictures")]


@hookimpl
def weike_bundle_targets() -> list[BundleTarget]:
    return [BundleTarget(
        name="scorm", title="SCORM 1.2（任何学习平台 any LMS）",
        description="导入 Moodle、Open edX、Chamilo 等学习平台的 SCORM 1.2 课程包：每个微课一个学习单元（SCO），"
                    "视频播放完即记为“已完成”，并记录学习时长；不受三项承诺限制",
        pack=pack_scorm_package, inputs=scorm_inputs,
    )]


@hookimpl
def weike_build_inputs(root: Path, config: WeikeConfig) -> list[str]:
    """The libraries that turn lecture notes into the SCO pages' HTML."""
    return notes_libraries()
