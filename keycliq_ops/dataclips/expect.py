"""The expectation grammar: parsed into a small tree and evaluated in Python (never ``eval``).

::

    expectation := "rows" predicate                 -- the number of rows returned
                 | "every" column predicate         -- holds for each returned row
                 | column predicate                 -- the single row's column
    predicate   := op operand | "between" operand "and" operand
    op          := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    operand     := number | 'string' | true | false | column
    column      := name | "Quoted Name"

Keywords are case-insensitive; quote a column called ``rows`` or ``every`` (``"rows"``).
``between`` is inclusive. A NULL value, a missing column or a one-row check that does not
return exactly one row make the expectation an ``error`` (never a pass). ``every`` on zero
rows holds (there is no row that breaks it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from keycliq_ops.dataclips.clips import Expectation, ExpectationResult, Level, Operand

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:[^']|'')*')
    | (?P<qident>"(?:[^"]|"")+")
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op><=|>=|<>|!=|==|=|<|>)
    )""",
    re.VERBOSE,
)
_OPS = {"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_KEYWORDS = {"rows", "every", "between", "and", "true", "false", "null"}


class ExpectationSyntaxError(ValueError):
    """The expectation text does not follow the grammar; the message says what was expected."""


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str, int]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                bad = text[pos:].strip()[:1]
                raise ExpectationSyntaxError(f"unexpected {bad!r} at character {pos + 1}")
            kind = m.lastgroup or ""
            self.items.append((kind, m.group(kind), m.start(kind) + 1))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.items[self.i] if self.i < len(self.items) else None

    def take(self, what: str) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpectationSyntaxError(f"expected {what} at the end")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "ident" and tok[1].lower() == word:
            self.i += 1
            return True
        return False


def _column(tokens: _Tokens) -> str:
    kind, text, pos = tokens.take("a column name")
    if kind == "qident":
        return text[1:-1].replace('""', '"')
    if kind == "ident" and text.lower() not in _KEYWORDS:
        return text
    raise ExpectationSyntaxError(f"expected a column name at character {pos}, found {text!r}")


def _operand(tokens: _Tokens) -> Operand:
    kind, text, pos = tokens.take("a value or a column")
    if kind == "number":
        is_int = re.fullmatch(r"-?\d+", text) is not None
        return Operand("number", int(text) if is_int else float(text))
    if kind == "string":
        return Operand("string", text[1:-1].replace("''", "'"))
    if kind == "qident":
        return Operand("column", text[1:-1].replace('""', '"'))
    if kind == "ident":
        low = text.lower()
        if low in ("true", "false"):
            return Operand("bool", low == "true")
        if low == "null":
            raise ExpectationSyntaxError(
                f"NULL is not a value to compare with (character {pos}); "
                "a NULL result is always an error"
            )
        if low in _KEYWORDS:
            raise ExpectationSyntaxError(f"expected a value or a column at character {pos}")
        return Operand("column", text)
    raise ExpectationSyntaxError(f"expected a value or a column at character {pos}, found {text!r}")


def parse_expectation(text: str, level: Level = "expect", *, line: int = 0) -> Expectation:
    """Parse one expectation; raises :class:`ExpectationSyntaxError` with what was expected."""
    tokens = _Tokens(text)
    if not tokens.items:
        raise ExpectationSyntaxError("empty expectation")
    subject: Any
    column: str | None
    if tokens.keyword("rows"):
        subject, column = "rows", None
    elif tokens.keyword("every"):
        subject, column = "every", _column(tokens)
    else:
        subject, column = "column", _column(tokens)
    low = high = right = None
    if tokens.keyword("between"):
        op = "between"
        low = _operand(tokens)
        if not tokens.keyword("and"):
            raise ExpectationSyntaxError("expected 'and' in 'between … and …'")
        high = _operand(tokens)
    else:
        kind, op_text, pos = tokens.take("a comparison (= != < <= > >= between)")
        if kind != "op":
            raise ExpectationSyntaxError(
                f"expected a comparison (= != < <= > >= between) at character {pos}, "
                f"found {op_text!r}"
            )
        op = _OPS[op_text]
        right = _operand(tokens)
    extra = tokens.peek()
    if extra is not None:
        raise ExpectationSyntaxError(f"unexpected {extra[1]!r} at character {extra[2]}")
    if subject == "rows":
        for o in (right, low, high):
            if o is not None and (o.kind != "number" or not isinstance(o.value, int)):
                raise ExpectationSyntaxError("'rows' compares with a whole number")
    return Expectation(
        level=level,
        text=" ".join(text.split()),
        subject=subject,
        column=column,
        op=op,
        right=right,
        low=low,
        high=high,
        line=line,
    )


# --------------------------------------------------------------------------- evaluation


class _ShapeError(Exception):
    pass


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float | Decimal):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, datetime | date):
        return "timestamp"
    return type(v).__name__


def _check(a: Any, op: str, b: Any, left_name: str, right_name: str) -> bool:
    if a is None:
        raise _ShapeError(f"{left_name} is NULL")
    if b is None:
        raise _ShapeError(f"{right_name} is NULL")
    ka, kb = _kind(a), _kind(b)
    if ka != kb:
        raise _ShapeError(f"cannot compare {left_name} ({ka}) with {right_name} ({kb})")
    if ka not in ("number", "text", "boolean", "timestamp"):
        raise _ShapeError(f"{left_name} is a {ka}, which expectations cannot compare")
    if isinstance(a, Decimal) and isinstance(b, float):
        a = float(a)
    elif isinstance(b, Decimal) and isinstance(a, float):
        b = float(b)
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise AssertionError(op)  # pragma: no cover


def _index(columns: Sequence[str], name: str) -> int:
    if name in columns:
        return list(columns).index(name)
    folded = [i for i, c in enumerate(columns) if c.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    raise _ShapeError(f"no column {name!r} in the result (columns: {', '.join(columns) or 'none'})")


def _value(o: Operand, columns: Sequence[str], row: Sequence[Any]) -> tuple[Any, str]:
    if o.kind == "column":
        return row[_index(columns, o.value)], str(o.value)
    return o.value, str(o)


def _holds(e: Expectation, columns: Sequence[str], row: Sequence[Any], left: Any) -> bool:
    name = e.column or "rows"
    if e.op == "between":
        assert e.low is not None and e.high is not None
        lo, lo_name = _value(e.low, columns, row)
        hi, hi_name = _value(e.high, columns, row)
        return _check(left, ">=", lo, name, lo_name) and _check(left, "<=", hi, name, hi_name)
    assert e.right is not None
    right, right_name = _value(e.right, columns, row)
    return _check(left, e.op, right, name, right_name)


def _show(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return "NULL" if v is None else str(v)


def evaluate(
    e: Expectation, columns: Sequence[str], rows: Sequence[Sequence[Any]], row_count: int
) -> tuple[ExpectationResult, list[int]]:
    """Evaluate ``e`` on a result; return its outcome and the indexes of rows that broke it.

    ``rows`` holds the rows fetched (all of them for ``every``); ``row_count`` the total.
    """
    failed_status = "fail" if e.level == "expect" else "warn"
    bad_rows: list[int] = []
    try:
        if e.subject == "rows":
            ok = _holds(e, columns, (), row_count)
            actual = f"rows = {row_count}"
            if not ok:
                bad_rows = list(range(len(rows)))
        elif e.subject == "every":
            assert e.column is not None
            col = _index(columns, e.column)
            for i, row in enumerate(rows):
                if not _holds(e, columns, row, row[col]):
                    bad_rows.append(i)
            ok = not bad_rows
            actual = f"{len(bad_rows)} of {row_count} rows break it"
        else:
            assert e.column is not None
            if row_count != 1:
                raise _ShapeError(f"expected exactly one row, got {row_count}")
            row = rows[0]
            left = row[_index(columns, e.column)]
            ok = _holds(e, columns, row, left)
            actual = f"{e.column} = {_show(left)}"
            if e.right is not None and e.right.kind == "column" and e.op != "between":
                actual += f", {e.right.value} = {_show(_value(e.right, columns, row)[0])}"
    except _ShapeError as exc:
        return (
            ExpectationResult(
                text=e.text, level=e.level, status="error", detail=str(exc), note=e.note or None
            ),
            [],
        )
    status = "pass" if ok else failed_status
    note = e.note or None
    if note and not ok:
        actual = f"{actual}: {note}"
    result = ExpectationResult(text=e.text, level=e.level, status=status, actual=actual, note=note)
    return result, bad_rows
