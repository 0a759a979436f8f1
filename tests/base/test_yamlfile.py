"""The bounded YAML loader: hostile input is a ConfigError naming the file (and the line
when known), never a RecursionError, a crash or a run that eats the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from keycliq_ops.base import yamlfile
from keycliq_ops.base.errors import ConfigError
from keycliq_ops.base.yamlfile import load_yaml, parse_yaml

BOMB = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def refused(tmp_path: Path, text: str, name: str = "f.yaml") -> ConfigError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert info.value.exit_code == 2
    assert str(path) in info.value.message
    return info.value


def test_a_normal_file_keeps_its_lines_and_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &gate [E1, E2]\nother:\n  ids: *gate\n  n: 3\n")
    doc = load_yaml(path)
    assert doc.data == {"base": ["E1", "E2"], "other": {"ids": ["E1", "E2"], "n": 3}}
    assert doc.where(("other", "n")) == f"{path}:4"
    assert doc.where(("other", "ids")) == f"{path}:3"
    assert doc.where(("other", "ids", 1)) == f"{path}:1"  # where the aliased value is written


@pytest.mark.parametrize(
    ("opening", "closing", "depth"),
    [("[", "]", 50_000), ("- ", "", 50_000), ("{a: ", "}", 20_000)],
    ids=["flow-seq", "block-seq", "flow-map"],
)
def test_deep_nesting_is_refused_with_the_line(
    tmp_path: Path, opening: str, closing: str, depth: int
) -> None:
    text = "version: 1\nx:\n  " + opening * depth + "1" + closing * depth
    error = refused(tmp_path, text)
    assert f"f.yaml:3: nested more than {yamlfile.MAX_DEPTH} levels deep" in error.message


def test_a_file_of_50000_nested_mappings_is_refused_by_its_size(tmp_path: Path) -> None:
    error = refused(tmp_path, "x: " + "{a: " * 50_000 + "1" + "}" * 50_000)
    assert "larger than" in error.message


def test_the_depth_a_real_file_needs_is_allowed(tmp_path: Path) -> None:
    depth = yamlfile.MAX_DEPTH - 1  # the top mapping is one level
    path = tmp_path / "ok.yaml"
    path.write_text("x: " + "[" * depth + "1" + "]" * depth + "\n")
    value = load_yaml(path).data["x"]
    for _ in range(depth):
        value = value[0]
    assert value == 1


def test_a_nul_byte_is_refused_with_its_line(tmp_path: Path) -> None:
    error = refused(tmp_path, "version: 1\npipeline: key\0cliq\n")
    assert "f.yaml:2: invalid YAML: a NUL byte" in error.message


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    error = refused(tmp_path, BOMB)
    assert f"f.yaml:6: more than {yamlfile.MAX_VALUES:,} values" in error.message
    assert "aliases" in error.message


def test_too_many_aliases_are_refused_even_when_small(tmp_path: Path) -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (yamlfile.MAX_ALIASES + 1)) + "]\n"
    error = refused(tmp_path, text)
    assert f"f.yaml:2: more than {yamlfile.MAX_ALIASES} aliases" in error.message


def test_a_file_too_large_is_refused_before_parsing(tmp_path: Path) -> None:
    error = refused(tmp_path, "# padding\n" * (yamlfile.MAX_BYTES // 10 + 1))
    assert "larger than" in error.message


def test_an_endless_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="/dev/zero: the file is larger than"):
        load_yaml(Path("/dev/zero"))


def test_text_from_elsewhere_is_bounded_too() -> None:
    with pytest.raises(ConfigError, match="larger than"):
        parse_yaml("a: 1\n" * (yamlfile.MAX_BYTES // 5 + 1), Path("from-git.yaml"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: " + "1" * 5000 + "\n", "invalid YAML: "),
        ("a: 1\nwhen: 2001-02-30\n", "invalid YAML: "),
    ],
    ids=["huge-int", "impossible-date"],
)
def test_scalars_python_refuses_are_config_errors(tmp_path: Path, text: str, problem: str) -> None:
    error = refused(tmp_path, text)
    assert f"f.yaml:{text.count(chr(10))}: {problem}" in error.message
