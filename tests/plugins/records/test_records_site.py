"""The records on the catalogue site: the script and its catalogue facts on every page, the
学习档案 page in the navigation and in the offline edition."""

from __future__ import annotations

from tests.plugins.records.conftest import records_facts
from tests.plugins.site.conftest import page_scripts
from weike.plugins.records.statements import course_iri, lecture_iri




def test_pages_load_the_records_script_and_the_catalogue_facts(built_site):
    built = built_site(site_url="https://weike.example.cn/zhan/")
    lecture = built.html("courses/demo/01-lecture-1")
    scripts = page_scripts(lecture)
    assert scripts.index("../../../assets/records/catalogue.js") < scripts.index("../../../assets/records/records.js")
    assert scripts.index("../../../assets/weike/weike.js") < scripts.index("../../../assets/records/catalogue.js")
    assert 'href="../../../assets/records/records.css"' in lecture
    data = records_facts(built.site)
    course = data["courses"]["demo"]
    assert course["iri"] == "https://weike.example.cn/zhan/courses/demo/" == course_iri(
        "https://weike.example.cn/zhan/", "demo")
    assert course["lectures"][0]["iri"] == "https://weike.example.cn/zhan/courses/demo/01-lecture-1/"
    assert course["lectures"][0]["duration"] == 1.0 and len(course["lectures"]) == 10
    assert data["homePage"] == "https://weike.example.cn/zhan/" and data["askName"] is False
    records_page = built.html("records")
    assert "学习档案" in records_page and "学时的算法" in records_page
    assert 'href="records/"' in built.html("") or "records/" in built.html("")


def test_without_site_url_the_ids_are_documented_urns(built_site):
    built = built_site(files={"weike.yml": "records:\n  ask_name: true\n"})
    data = records_facts(built.site)
    assert data["courses"]["photo"]["iri"] == "urn:weike:courses:photo" == course_iri(None, "photo")
    assert data["courses"]["photo"]["lectures"][0]["iri"] == lecture_iri(None, "photo", "01-lecture-1")
    assert data["homePage"] == "https://weike.invalid/" and data["askName"] is True


def test_a_title_cannot_close_the_data_script(built_site):
    from tests.plugins.site.conftest import OTHER_COURSE_YML

    hostile = OTHER_COURSE_YML.replace("title: 手机摄影入门", "title: 拍照</script><script>alert(1)</script>")
    built = built_site(files={"courses/photo/course.yml": hostile})
    for script in (built.site / "assets/records").rglob("*.js"):
        if script.name != "records.js":
            assert "</" not in script.read_text(encoding="utf-8"), script
    assert records_facts(built.site)["courses"]["photo"]["title"] == "拍照</script><script>alert(1)</script>"


def test_the_offline_edition_carries_the_page_and_the_scripts(shared_site):
    built = shared_site
    offline = built.root / "dist/offline"
    page = (offline / "records/index.html").read_text(encoding="utf-8")
    assert "../assets/records/records.js" in page_scripts(page)
    assert (offline / "assets/records/catalogue.js").is_file()


def test_every_page_loads_only_the_facts_every_page_needs(shared_site):
    """catalogue.js holds no course (each course's lectures are in its own script, loaded where
    needed): its size does not grow with the catalogue."""
    built = shared_site
    common = (built.site / "assets/records/catalogue.js").read_text(encoding="utf-8")
    assert "lectures" not in common and "courses" not in common and len(common) < 2000
    lecture = page_scripts(built.html("courses/demo/01-lecture-1"))
    assert not [src for src in lecture if "records/courses/" in src]
    assert sorted(p.name for p in (built.site / "assets/records/courses").iterdir()) == ["demo.js", "photo.js"]
    assert (built.root / "dist/offline/assets/records/courses/demo.js").is_file()
