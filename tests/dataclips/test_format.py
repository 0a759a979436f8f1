"""The .sql file format: strict header, bound parameters, one statement, the shipped catalogue."""

from __future__ import annotations

import pytest

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.dataclips import Catalog, load_catalog, parse_dataclip

GOOD = """\
-- id: X1
-- title: A custom check
-- description: First line
--   and its continuation.
-- param: userId text required  the user's id
-- param: days integer optional default=7  look-back
-- severity: high
-- tags: integrity, after-deploy
-- expect: n = 0
-- warn: m <= total
SELECT count(*) AS n, 0 AS m, 1 AS total
FROM keys
WHERE "userId" = :userId AND "createdAt" > now() - make_interval(days => :days)
  AND name <> ':notAParam' AND description::text <> $$ :alsoNot $$ -- :norHere
  /* :norThis */ AND "userId" = :'userId';
"""


def test_header_fields_are_parsed(clip_dir) -> None:  # type: ignore[no-untyped-def]
    clip = parse_dataclip(clip_dir("X1", GOOD))
    assert clip.id == "X1"
    assert clip.title == "A custom check"
    assert clip.description == "First line and its continuation."
    assert [(p.name, p.type, p.required, p.default) for p in clip.params] == [
        ("userId", "text", True, None),
        ("days", "integer", False, "7"),
    ]
    assert clip.severity == "high"
    assert clip.tags == ("integrity", "after-deploy")
    assert [(e.level, e.text) for e in clip.expectations] == [
        ("expect", "n = 0"),
        ("warn", "m <= total"),
    ]
    assert clip.returns == "one-row"


def test_params_become_server_placeholders_outside_literals(clip_dir) -> None:  # type: ignore[no-untyped-def]
    clip = parse_dataclip(clip_dir("X1", GOOD))
    assert clip.bind_names == ("userId", "days")
    assert '"userId" = $1' in clip.query
    assert "make_interval(days => $2)" in clip.query
    assert "':notAParam'" in clip.query
    assert "$$ :alsoNot $$" in clip.query
    # Comments are not sent (white space in the query), so their ':names' are not params.
    assert ":norHere" not in clip.query and ":norThis" not in clip.query
    assert "description::text" in clip.query
    assert clip.query.endswith('"userId" = $1')  # psql's :'name' form too; ';' dropped
    # The file itself is untouched: it still runs in psql.
    assert ":userId" in clip.sql


def _error(clip_dir, text: str) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        parse_dataclip(clip_dir("bad", text))
    return info.value.message


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("-- title: t\nSELECT 1", ":1:", "no '-- id:' line"),
        ("-- id: A\n-- title: t\n-- colour: red\nSELECT 1", ":3:", "unknown header field 'colour'"),
        ("-- id: A\n-- title: t\n-- id: B\nSELECT 1", ":3:", "id: given twice (first on line 1)"),
        ("-- id: A\n-- title: t\n-- just words\nSELECT 1", ":3:", "expected a header line"),
        ("-- id: A\n-- title: t\n-- expect: x ==== 1\nSELECT 1 AS x", ":3:", "expect: "),
        ("-- id: A\n-- title: t\n-- severity: urgent\nSELECT 1", ":3:", "severity 'urgent'"),
        (
            "-- id: A\n-- title: t\n-- param: u text maybe\nSELECT :u",
            ":3:",
            "'required' or 'optional'",
        ),
        ("-- id: A\n-- title: t\n-- param: u blob required\nSELECT :u", ":3:", "type 'blob'"),
        (
            "-- id: A\n-- title: t\n-- param: u text required default=1\nSELECT :u",
            ":3:",
            "no default",
        ),
        ("-- id: A\n-- title: t\nSELECT :u", ":3:", ":u is used but not declared"),
        ("-- id: A\n-- title: t\n-- param: u text required\nSELECT 1", ":3:", "never uses :u"),
        ("-- id: A\n-- title: t\nSELECT 1;\nDELETE FROM keys", ":4:", "one SQL statement"),
        ("-- id: A\n-- title: t\nSELECT $1", ":3:", "positional parameters"),
        ("-- id: A\n-- title: t\nSELECT 'open", ":3:", "unterminated string"),
        ("-- id: A\n-- title: t\n", ":3:", "no SQL"),
        (
            "-- id: A\n-- title: t\n-- expect: rows = 0\n-- expect: x = 1\nSELECT 1 AS x",
            ":4:",
            "mix one-row columns",
        ),
        (
            "-- id: A\n-- title: t\n-- returns: rows\n-- expect: x = 1\nSELECT 1",
            ":3:",
            "contradicts",
        ),
        ("-- id: 9lives\n-- title: t\nSELECT 1", ":1:", "id '9lives'"),
    ],
)
def test_bad_headers_name_file_line_and_what_was_expected(
    clip_dir, text: str, where: str, what: str
) -> None:  # type: ignore[no-untyped-def]
    message = _error(clip_dir, text)
    assert "bad.sql" + where in message
    assert what in message


def test_trailing_comment_after_the_statement_is_fine(clip_dir) -> None:  # type: ignore[no-untyped-def]
    clip = parse_dataclip(clip_dir("ok", "-- id: A\n-- title: t\nSELECT 1 AS x; -- done\n"))
    assert clip.returns == "rows"
    assert clip.expectations == ()


def test_duplicate_ids_in_a_folder_are_refused(clip_dir) -> None:  # type: ignore[no-untyped-def]
    clip_dir("one", "-- id: A\n-- title: t\nSELECT 1")
    clip_dir("two", "-- id: a\n-- title: t\nSELECT 2")
    with pytest.raises(ConfigError, match=r"also the id of one\.sql"):
        load_catalog(clip_dir.folder)


def test_shipped_catalogue_has_the_team_letters_in_order(shipped: Catalog) -> None:
    assert shipped.ids() == [
        "A", "B", "C", "D", "E1", "E2", "E3", "E4", "F", "G", "H", "I", "J",
    ]  # fmt: skip
    for check_id in ("E1", "E2", "E3", "E4", "F", "G"):
        clip = shipped.get(check_id)
        assert any(e.level == "expect" for e in clip.expectations), check_id
        assert "integrity" in clip.tags or "schema" in clip.tags
        # every expectation of the gate says why it may not hold
        assert all(e.note for e in clip.expectations), check_id
    # what the app writes but the team did not foresee is a warning, never a failure
    warned = {(c.id, e.column) for c in shipped.all() for e in c.expectations if e.level == "warn"}
    assert {("E1", "both_set"), ("E4", "scans_without_matching"), ("G", "possible_match")} <= (
        warned
    )
    assert [e.level for e in shipped.get("I").expectations] == ["warn"]
    assert [p.name for p in shipped.get("J").params] == ["keyId"]
    assert "key-deletion" in shipped.get("J").tags
    assert [p.name for p in shipped.get("B").params] == ["userId"]
    assert shipped.get("A").expectations == ()  # info: numbers for trends
    assert {"after-promote"} <= set(shipped.get("A").tags) & set(shipped.get("C").tags)


def test_lookup_is_case_insensitive_and_unknown_ids_are_usage_errors(shipped: Catalog) -> None:
    assert shipped.get("e2").id == "E2"
    with pytest.raises(UsageError, match=r"unknown Dataclip 'Z9' \(known: A, B"):
        shipped.get("Z9")


def test_a_why_line_under_an_expectation_is_its_note(clip_dir) -> None:  # type: ignore[no-untyped-def]
    path = clip_dir(
        "W",
        "-- id: W\n-- title: t\n-- warn: n = 0\n--   why: the app writes these\n"
        "--   (app/x.js)\n-- expect: m = 0\nSELECT 0 AS n, 0 AS m",
    )
    clip = parse_dataclip(path)
    assert [(e.text, e.note) for e in clip.expectations] == [
        ("n = 0", "the app writes these (app/x.js)"),
        ("m = 0", ""),
    ]


def test_a_line_under_an_expectation_must_start_with_why(clip_dir) -> None:  # type: ignore[no-untyped-def]
    path = clip_dir("W", "-- id: W\n-- title: t\n-- warn: n = 0\n--   because\nSELECT 0 AS n")
    with pytest.raises(ConfigError, match=r"W\.sql:4: a line under 'warn:' is its note"):
        parse_dataclip(path)
