"""Safe YAML reading: bounded size, no aliases, marks kept, clear errors."""

from __future__ import annotations

import pytest

from weike.builder.repository.yamlfile import YamlFileError, compose_yaml, read_text_file, scalar_value

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_quickly():
    with pytest.raises(YamlFileError) as info:
        compose_yaml(BILLION_LAUGHS)
    assert info.value.code == "E003"
    assert info.value.line == 1  # where the anchor that is reused was defined


def test_simple_alias_is_refused_too():
    with pytest.raises(YamlFileError) as info:
        compose_yaml("a: &x 1\nb: *x\n")
    assert info.value.code == "E003"


def test_deep_nesting_is_refused():
    with pytest.raises(YamlFileError) as info:
        compose_yaml("a: " + "[" * 50 + "]" * 50)
    assert info.value.code == "E003"


def test_oversize_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.yml"
    path.write_bytes(b"a: " + b"x" * 2000)
    with pytest.raises(YamlFileError) as info:
        read_text_file(path, max_bytes=1000)
    assert info.value.code == "E002"


def test_non_utf8_reports_line(tmp_path):
    path = tmp_path / "gbk.yml"
    path.write_bytes("title: ok\nsummary: 中文\n".encode("gbk"))
    with pytest.raises(YamlFileError) as info:
        read_text_file(path, max_bytes=10_000)
    assert (info.value.code, info.value.line) == ("E010", 2)


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yml"
    path.write_bytes("\ufefftitle: 课程\n".encode("utf-8"))
    assert read_text_file(path, max_bytes=100).text == "title: 课程\n"


def test_syntax_error_has_line_and_column_with_offset():
    with pytest.raises(YamlFileError) as info:
        compose_yaml("title: a\nsummary: b: c\n", line_offset=1)
    assert (info.value.code, info.value.line, info.value.column) == ("E001", 3, 11)
    assert "此处不能出现" in info.value.message


@pytest.mark.parametrize("text", ["title: a\n\tsummary: b\n", "title:\n\t- b\n", "a:\n\tb: 1\n"])
def test_tab_indentation_is_explained_in_chinese(text):
    # Editors on Windows indent with Tab; PyYAML words it differently depending on where it is.
    with pytest.raises(YamlFileError) as info:
        compose_yaml(text)
    assert info.value.code == "E001" and info.value.line == 2
    assert "不能用 Tab 缩进" in info.value.message, info.value.message


def test_python_tags_are_refused():
    node = compose_yaml("a: !!python/name:os.system ''\n")
    with pytest.raises(YamlFileError) as info:
        scalar_value(node.value[0][1])
    assert info.value.code == "E001"


def test_scalar_values_use_the_safe_schema():
    node = compose_yaml("d: 2023-09-01\nb: yes\nn: 12\n")
    values = [scalar_value(v) for _, v in node.value]
    assert str(values[0]) == "2023-09-01"
    assert values[1] is True
    assert values[2] == 12
