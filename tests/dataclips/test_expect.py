"""The expectation grammar: parsing (never eval) and evaluation on result shapes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keycliq_ops.dataclips.expect import ExpectationSyntaxError, evaluate, parse_expectation


def _eval(text: str, columns: list[str], rows: list[list[object]], level: str = "expect"):  # type: ignore[no-untyped-def]
    e = parse_expectation(text, level)  # type: ignore[arg-type]
    return evaluate(e, columns, rows, len(rows))


@pytest.mark.parametrize(
    ("text", "value", "ok"),
    [
        ("x = 0", 0, True),
        ("x = 0", 3, False),
        ("x == 0", 0, True),
        ("x != 0", 0, False),
        ("x <> 1", 0, True),
        ("x < 1", 0, True),
        ("x <= 0", 0, True),
        ("x > 0", 0, False),
        ("x >= -1.5", -1, True),
        ("x between 0 and 1", 0.5, True),
        ("x between 0 and 1", 1, True),
        ("x BETWEEN 0 AND 1", 1.01, False),
        ("x = 0.25", Decimal("0.25"), True),
        ("x = 'ok'", "ok", True),
        ("x = 'it''s'", "it's", True),
        ("x = true", True, True),
        ("x = false", True, False),
    ],
)
def test_one_row_comparisons(text: str, value: object, ok: bool) -> None:
    res, _ = _eval(text, ["x"], [[value]])
    assert res.status == ("pass" if ok else "fail")


def test_column_against_column_reports_both_values() -> None:
    res, _ = _eval("correct_xor = total", ["total", "correct_xor"], [[5, 3]])
    assert res.status == "fail"
    assert res.actual == "correct_xor = 3, total = 5"
    res, _ = _eval("correct_xor = total", ["total", "correct_xor"], [[5, 5]])
    assert res.status == "pass"


def test_warn_level_warns_instead_of_failing() -> None:
    res, _ = _eval("stale = 0", ["stale"], [[2]], level="warn")
    assert res.status == "warn"
    assert res.actual == "stale = 2"


@pytest.mark.parametrize(
    ("text", "columns", "rows", "detail"),
    [
        ("x = 0", ["x"], [], "exactly one row, got 0"),
        ("x = 0", ["x"], [[0], [0]], "exactly one row, got 2"),
        ("x = 0", ["x"], [[None]], "x is NULL"),
        ("x = y", ["x", "y"], [[1, None]], "y is NULL"),
        ("x = 0", ["y"], [[0]], "no column 'x'"),
        ("x = 'a'", ["x"], [[1]], "cannot compare x (number) with 'a' (text)"),
        ("x = true", ["x"], [[1]], "cannot compare"),
        ("every x > 0", ["x"], [[1], [None]], "x is NULL"),
    ],
)
def test_shape_mismatch_is_an_error_never_a_pass(
    text: str, columns: list[str], rows: list[list[object]], detail: str
) -> None:
    res, _ = _eval(text, columns, rows)
    assert res.status == "error"
    assert detail in (res.detail or "")


def test_rows_counts_and_marks_every_row_as_failing() -> None:
    res, bad = _eval("rows = 0", ["a"], [[1], [2]])
    assert res.status == "fail"
    assert res.actual == "rows = 2"
    assert bad == [0, 1]
    res, bad = _eval("rows = 0", ["a"], [])
    assert res.status == "pass"
    assert bad == []
    res, _ = _eval("rows between 1 and 3", ["a"], [[1], [2]])
    assert res.status == "pass"


def test_every_applies_to_each_row_and_returns_the_breaking_ones() -> None:
    res, bad = _eval(
        "every score between 0 and 1", ["id", "score"], [["a", 0.2], ["b", 1.5], ["c", -1]]
    )
    assert res.status == "fail"
    assert bad == [1, 2]
    assert res.actual == "2 of 3 rows break it"
    res, bad = _eval("every n = total", ["n", "total"], [[1, 1], [2, 2]])
    assert res.status == "pass" and bad == []
    # Nothing breaks it on no rows.
    res, _ = _eval("every n = 0", ["n"], [])
    assert res.status == "pass"


def test_quoted_column_names_and_keywords() -> None:
    res, _ = _eval('"rows" = 2', ["rows"], [[2]])
    assert res.status == "pass"
    res, _ = _eval('"Match Count" >= 1', ["Match Count"], [[1]])
    assert res.status == "pass"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expectation"),
        ("x", "expected a comparison"),
        ("x = ", "expected a value or a column at the end"),
        ("x === 1", "expected a value or a column"),
        ("x = 1 2", "unexpected '2'"),
        ("x between 1", "expected 'and'"),
        ("rows = 'a'", "whole number"),
        ("rows = 1.5", "whole number"),
        ("x = null", "NULL is not a value"),
        ("__import__('os') = 1", "unexpected '('"),
        ("x = 1; drop", "unexpected ';'"),
        ("every = 1", "expected a column name"),
    ],
)
def test_syntax_errors_say_what_was_expected(text: str, message: str) -> None:
    with pytest.raises(
        ExpectationSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        parse_expectation(text)


def test_parsed_text_is_normalised_for_reports() -> None:
    e = parse_expectation("  both_null   =  0 ")
    assert e.text == "both_null = 0"
    assert e.shape == "one-row"
    assert parse_expectation("rows = 0").shape == "rows"
    assert parse_expectation("every x = 1").shape == "rows"
