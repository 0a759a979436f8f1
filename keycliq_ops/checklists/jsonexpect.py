"""JSON expectations of ``dyno`` items: paths into the last JSON document of an output.

A path is ``$`` (the document itself) or keys and indexes: ``keys.total``,
``matchings.byType.MATCH_FOUND``, ``[0].query.id``, ``[*].matchings[*].matchType``
(``[*]`` is every element of an array, or every value of an object). An expectation says
what the value at the path must be (``present``, ``type``, ``nullable``, ``equals``,
``one_of``, ``min``/``max``, ``min_items``/``max_items``, ``order``); a path with ``[*]``
holds for every value it reaches. See docs/checklists.md.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# A step of a path: a key, an index, or None for [*] (every element / value).
Step = str | int | None
JsonType = Literal["string", "integer", "number", "boolean", "object", "array", "null"]
_MISSING: Any = object()
_SEGMENT = re.compile(r"\[(\*|-?\d+)\]|\.?([^.\[\]]+)")


def parse_path(path: str) -> list[Step]:
    """The steps of ``path``; ValueError says what is wrong with it."""
    text = path.strip()
    if not text:
        raise ValueError("empty (write $ for the whole document)")
    if text == "$":
        return []
    if text.startswith("$."):
        text = text[2:]
    elif text.startswith("$["):
        text = text[1:]
    elif text.startswith("$"):
        raise ValueError("after $ comes . or [ (e.g. $.keys.total, $[0].id)")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        m = _SEGMENT.match(text, pos)
        dotted = m is not None and m.group(0).startswith(".")
        if m is None or (m.group(2) is not None and dotted == (pos == 0)):
            raise ValueError(f"cannot read it at {text[pos:]!r} (write keys.total, [0].id, [*].id)")
        if m.group(1) is not None:
            steps.append(None if m.group(1) == "*" else int(m.group(1)))
        else:
            name = m.group(2)
            if name.strip() != name or not name:
                raise ValueError(f"key {name!r} has spaces around it")
            if name == "*":
                raise ValueError("write [*] for every element, not .*")
            steps.append(name)
        pos = m.end()
    return steps


def format_path(steps: list[Step]) -> str:
    out = ""
    for step in steps:
        if step is None:
            out += "[*]"
        elif isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out or "$"


class JsonExpectation(BaseModel):
    """What the value at one path must be. ``present: false``: the path must not exist."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    present: bool = Field(default=True, description="The path exists (false: it must not).")
    type: JsonType | None = Field(default=None, description="JSON type of the value.")
    nullable: bool = Field(default=False, description="null is accepted besides `type`.")
    equals: Any = Field(default=None, description="The value, exactly (null too, when given).")
    one_of: list[Any] | None = Field(default=None, min_length=1, description="Allowed values.")
    min: int | float | None = Field(default=None, description="Smallest number allowed.")
    max: int | float | None = Field(default=None, description="Largest number allowed.")
    min_items: int | None = Field(default=None, ge=0, description="Fewest elements (array/object).")
    max_items: int | None = Field(default=None, ge=0, description="Most elements (array/object).")
    order: Literal["ascending", "descending"] | None = Field(
        default=None, description="The values a [*] path reaches are in this order."
    )

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, data: object) -> object:
        if not isinstance(data, Mapping):
            raise ValueError(
                "an expectation is a mapping, e.g. {type: integer, min: 1} or {present: true}"
            )
        return data

    @model_validator(mode="after")
    def _consistent(self) -> JsonExpectation:
        if not self.present and self.model_fields_set - {"present"}:
            raise ValueError("`present: false` cannot be combined with other expectations")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is larger than max {self.max:g}")
        lo, hi = self.min_items, self.max_items
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"min_items {lo} is larger than max_items {hi}")
        return self

    @property
    def has_equals(self) -> bool:
        return "equals" in self.model_fields_set


def _resolve(doc: Any, steps: list[Step]) -> Iterator[tuple[list[Step], Any]]:
    """Every (concrete path, value) ``steps`` reaches; where the path breaks off, the value
    is ``_MISSING`` and the path is the concrete part followed by the rest as asked."""
    todo: list[tuple[list[Step], Any, int]] = [([], doc, 0)]
    while todo:
        where, value, i = todo.pop(0)
        if i == len(steps):
            yield where, value
            continue
        step = steps[i]
        if step is None:
            if isinstance(value, list):
                todo[0:0] = [([*where, n], v, i + 1) for n, v in enumerate(value)]
                continue
            if isinstance(value, dict):
                todo[0:0] = [([*where, str(k)], v, i + 1) for k, v in value.items()]
                continue
        elif isinstance(step, int):
            if isinstance(value, list) and -len(value) <= step < len(value):
                todo.insert(0, ([*where, step], value[step], i + 1))
                continue
        elif isinstance(value, dict) and step in value:
            todo.insert(0, ([*where, step], value[step], i + 1))
            continue
        yield [*where, *steps[i:]], _MISSING


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(where: str, value: Any, exp: JsonExpectation) -> str | None:
    if value is None and exp.nullable:
        return None
    if exp.type is not None:
        got = json_type(value)
        ok = got == exp.type or (exp.type == "number" and got == "integer")
        if not ok:
            return f"{where} is {_shown(value)} ({got}), expected {exp.type}"
    if exp.has_equals and not _same(value, exp.equals):
        return f"{where} is {_shown(value)}, expected {_shown(exp.equals)}"
    if exp.one_of is not None and not any(_same(value, v) for v in exp.one_of):
        allowed = ", ".join(_shown(v) for v in exp.one_of)
        return f"{where} is {_shown(value)}, expected one of {allowed}"
    if exp.min is not None or exp.max is not None:
        if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
            return f"{where} is {_shown(value)}, expected a number"
        if exp.min is not None and value < exp.min:
            return f"{where} is {_shown(value)}, expected at least {exp.min:g}"
        if exp.max is not None and value > exp.max:
            return f"{where} is {_shown(value)}, expected at most {exp.max:g}"
    if exp.min_items is not None or exp.max_items is not None:
        if not isinstance(value, list | dict):
            return f"{where} is {_shown(value)} ({json_type(value)}), expected an array or object"
        n = len(value)
        if exp.min_items is not None and n < exp.min_items:
            return f"{where} has {n} element(s), expected at least {exp.min_items}"
        if exp.max_items is not None and n > exp.max_items:
            return f"{where} has {n} element(s), expected at most {exp.max_items}"
    return None


def _check_order(path: str, values: list[Any], order: str) -> str | None:
    present = [v for v in values if v is not _MISSING and v is not None]
    for a, b in itertools.pairwise(present):
        if not ((_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))):
            return f"{path}: cannot compare {_shown(a)} and {_shown(b)} for order"
        wrong = a > b if order == "ascending" else a < b
        if wrong:
            return f"{path} is not in {order} order ({_shown(a)} before {_shown(b)})"
    return None


def check_json(doc: Any, expectations: Mapping[str, JsonExpectation]) -> tuple[int, list[str]]:
    """(values checked, problems) of ``expectations`` on ``doc``."""
    problems: list[str] = []
    checked = 0
    for path, exp in expectations.items():
        steps = parse_path(path)
        reached = list(_resolve(doc, steps))
        for where_steps, value in reached:
            where = format_path(where_steps)
            checked += 1
            if value is _MISSING:
                if exp.present:
                    problems.append(f"{where} is missing")
                continue
            if not exp.present:
                problems.append(f"{where} is present ({_shown(value)}), expected absent")
                continue
            problem = _check_value(where, value, exp)
            if problem:
                problems.append(problem)
        if exp.order is not None:
            problem = _check_order(path, [v for _, v in reached], exp.order)
            if problem:
                problems.append(problem)
    return checked, list(dict.fromkeys(problems))  # one line per distinct problem


def last_json_document(text: str) -> tuple[Any, bool]:
    """(the last JSON object or array of ``text`` that starts a line, found). Lines before
    it (banners, log lines) and after it are ignored; a document may span lines."""
    decoder = json.JSONDecoder()
    starts = [m.start(1) for m in re.finditer(r"(?m)^[ \t]*([\[{])", text)]
    found: Any = None
    ok = False
    end = 0
    for start in starts:
        if start < end:
            continue
        try:
            value, stop = decoder.raw_decode(text, start)
        except ValueError:
            continue
        found, ok, end = value, True, stop
    return found, ok
