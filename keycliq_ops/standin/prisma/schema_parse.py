"""``schema.prisma`` → datasources, models (fields, attributes), enums.

The Prisma schema language as the KeyCliq schema and most PostgreSQL schemas use it:
``datasource``, ``generator``, ``model`` and ``enum`` blocks; fields ``name Type[]?`` with
attributes (``@id``, ``@default(…)``, ``@unique``, ``@updatedAt``, ``@map``, ``@relation``,
``@db.*``); block attributes (``@@map``, ``@@index``, ``@@unique``, ``@@id``); ``//`` and
``///`` comments. A syntax error raises :class:`SchemaError` naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

SCALARS = ("String", "Int", "BigInt", "Float", "Decimal", "Boolean", "DateTime", "Json", "Bytes")


class SchemaError(Exception):
    """The schema cannot be read; the message names ``file:line``."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Call:
    """``name(args…)``: a function (``now()``) or a field with arguments (``a(sort: Desc)``)."""

    name: str
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class Ident:
    name: str


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Num:
    text: str


Expr = Union[Call, Ident, Str, Num, "ListExpr"]


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Arg:
    name: str | None
    value: Expr


@dataclass(frozen=True)
class Attribute:
    name: str  # without the @ / @@: "id", "default", "db.VarChar", "index"
    args: tuple[Arg, ...]
    line: int

    def arg(self, name: str, position: int | None = 0) -> Expr | None:
        """The argument called ``name``, else the unnamed one at ``position``."""
        for a in self.args:
            if a.name == name:
                return a.value
        unnamed = [a.value for a in self.args if a.name is None]
        if position is not None and position < len(unnamed):
            return unnamed[position]
        return None


@dataclass
class Field:
    name: str
    type_name: str
    optional: bool
    is_list: bool
    attributes: list[Attribute]
    line: int

    def attr(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    @property
    def column(self) -> str:
        mapped = self.attr("map")
        value = mapped.arg("name") if mapped else None
        return value.value if isinstance(value, Str) else self.name


@dataclass
class Model:
    name: str
    fields: list[Field]
    attributes: list[Attribute]
    line: int

    def attr(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def attrs(self, name: str) -> list[Attribute]:
        return [a for a in self.attributes if a.name == name]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def table(self) -> str:
        mapped = self.attr("map")
        value = mapped.arg("name") if mapped else None
        return value.value if isinstance(value, Str) else self.name


@dataclass
class EnumValue:
    name: str
    db_name: str


@dataclass
class Enum:
    name: str
    values: list[EnumValue]
    db_name: str
    line: int


@dataclass
class Setting:
    """A ``key = value`` line of a datasource or generator block."""

    value: Expr
    line: int


@dataclass
class Block:
    kind: str  # datasource | generator
    name: str
    settings: dict[str, Setting]
    line: int

    def env_var(self, key: str) -> tuple[str | None, str | None, int]:
        """(``env("X")``'s X, else None; a literal string, else None; the line)."""
        setting = self.settings.get(key)
        if setting is None:
            return None, None, self.line
        value = setting.value
        if isinstance(value, Call) and value.name == "env" and value.args:
            inner = value.args[0].value
            if isinstance(inner, Str):
                return inner.value, None, setting.line
        if isinstance(value, Str):
            return None, value.value, setting.line
        return None, None, setting.line


@dataclass
class Schema:
    models: list[Model] = field(default_factory=list)
    enums: list[Enum] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def model(self, name: str) -> Model | None:
        return next((m for m in self.models if m.name == name), None)

    def enum(self, name: str) -> Enum | None:
        return next((e for e in self.enums if e.name == name), None)

    @property
    def datasource(self) -> Block | None:
        return next((b for b in self.blocks if b.kind == "datasource"), None)


# ------------------------------------------------------------------------- lexer
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)
      | (?P<comment>//[^\n]*)
      | (?P<nl>\n)
      | (?P<str>"(?:[^"\\\n]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<attr2>@@)
      | (?P<punct>[@(){}\[\],:=?])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.X,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    line, pos = 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SchemaError(f"unexpected character {text[pos]!r}", line)
        kind = m.lastgroup or ""
        if kind == "nl":
            toks.append(_Tok("nl", "\n", line))
            line += 1
        elif kind not in ("ws", "comment"):
            toks.append(_Tok(kind, m.group(), line))
        pos = m.end()
    toks.append(_Tok("eof", "", line))
    return toks


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.next()
        if tok.text != text:
            shown = tok.text if tok.kind != "nl" else "end of line"
            raise SchemaError(f"expected {text!r}, found {shown!r}", tok.line)
        return tok

    def skip_nl(self) -> None:
        while self.tok.kind == "nl":
            self.i += 1

    def skip_nl_in_parens(self) -> None:
        self.skip_nl()

    def ident(self) -> str:
        tok = self.next()
        if tok.kind != "ident":
            raise SchemaError(f"expected a name, found {tok.text!r}", tok.line)
        return tok.text

    # expressions -------------------------------------------------------------
    def expr(self) -> Expr:
        self.skip_nl_in_parens()
        tok = self.tok
        if tok.kind == "str":
            self.i += 1
            return Str(_unquote(tok.text))
        if tok.kind == "num":
            self.i += 1
            return Num(tok.text)
        if tok.text == "[":
            self.i += 1
            items: list[Expr] = []
            self.skip_nl_in_parens()
            while self.tok.text != "]":
                items.append(self.expr())
                self.skip_nl_in_parens()
                if self.tok.text == ",":
                    self.i += 1
                    self.skip_nl_in_parens()
            self.expect("]")
            return ListExpr(tuple(items))
        if tok.kind == "ident":
            self.i += 1
            if self.tok.text == "(":
                return Call(tok.text, self.args())
            return Ident(tok.text)
        raise SchemaError(f"unexpected {tok.text!r}", tok.line)

    def args(self) -> tuple[Arg, ...]:
        self.expect("(")
        out: list[Arg] = []
        self.skip_nl_in_parens()
        while self.tok.text != ")":
            name: str | None = None
            if self.tok.kind == "ident" and self.toks[self.i + 1].text == ":":
                name = self.next().text
                self.i += 1
            out.append(Arg(name, self.expr()))
            self.skip_nl_in_parens()
            if self.tok.text == ",":
                self.i += 1
                self.skip_nl_in_parens()
            elif self.tok.text != ")":
                raise SchemaError(f"expected ',' or ')', found {self.tok.text!r}", self.tok.line)
        self.expect(")")
        return tuple(out)

    def attribute(self) -> Attribute:
        line = self.tok.line
        name = self.ident()
        args = self.args() if self.tok.text == "(" else ()
        return Attribute(name, args, line)

    # blocks --------------------------------------------------------------------
    def schema(self) -> Schema:
        out = Schema()
        while True:
            self.skip_nl()
            tok = self.tok
            if tok.kind == "eof":
                return out
            keyword = self.ident()
            if keyword in ("datasource", "generator"):
                out.blocks.append(self.settings_block(keyword, tok.line))
            elif keyword in ("model", "view"):
                out.models.append(self.model(tok.line))
            elif keyword == "enum":
                out.enums.append(self.enum(tok.line))
            elif keyword == "type":
                raise SchemaError("composite types are only available with MongoDB", tok.line)
            else:
                raise SchemaError(
                    f"this line is not a valid definition within the datamodel: {keyword!r}",
                    tok.line,
                )

    def settings_block(self, kind: str, line: int) -> Block:
        name = self.ident()
        self.expect("{")
        settings: dict[str, Setting] = {}
        while True:
            self.skip_nl()
            if self.tok.text == "}":
                self.i += 1
                return Block(kind, name, settings, line)
            key_tok = self.tok
            key = self.ident()
            self.expect("=")
            settings[key] = Setting(self.expr(), key_tok.line)

    def model(self, line: int) -> Model:
        name = self.ident()
        self.expect("{")
        fields: list[Field] = []
        attributes: list[Attribute] = []
        while True:
            self.skip_nl()
            tok = self.tok
            if tok.text == "}":
                self.i += 1
                return Model(name, fields, attributes, line)
            if tok.kind == "attr2":
                self.i += 1
                attributes.append(self.attribute())
                continue
            fname = self.ident()
            if self.tok.kind in ("nl", "eof") or self.tok.text == "}":
                raise SchemaError(f"field {fname!r} has no type", tok.line)
            ftype = self.ident()
            is_list = optional = False
            if self.tok.text == "[":
                self.i += 1
                self.expect("]")
                is_list = True
            if self.tok.text == "?":
                self.i += 1
                optional = True
            fattrs: list[Attribute] = []
            while self.tok.text == "@":
                self.i += 1
                fattrs.append(self.attribute())
            if self.tok.kind not in ("nl", "eof") and self.tok.text != "}":
                raise SchemaError(f"unexpected {self.tok.text!r} after field {fname!r}", tok.line)
            fields.append(Field(fname, ftype, optional, is_list, fattrs, tok.line))

    def enum(self, line: int) -> Enum:
        name = self.ident()
        self.expect("{")
        values: list[EnumValue] = []
        db_name = name
        while True:
            self.skip_nl()
            tok = self.tok
            if tok.text == "}":
                self.i += 1
                return Enum(name, values, db_name, line)
            if tok.kind == "attr2":
                self.i += 1
                attr = self.attribute()
                mapped = attr.arg("name")
                if attr.name == "map" and isinstance(mapped, Str):
                    db_name = mapped.value
                continue
            value = self.ident()
            mapped_value = value
            while self.tok.text == "@":
                self.i += 1
                attr = self.attribute()
                arg = attr.arg("name")
                if attr.name == "map" and isinstance(arg, Str):
                    mapped_value = arg.value
            values.append(EnumValue(value, mapped_value))


def parse_schema(text: str) -> Schema:
    """The schema in ``text``; :class:`SchemaError` (with its line) when it cannot be read."""
    schema = _Parser(_lex(text)).schema()
    schema.lines = text.splitlines()
    _validate(schema)
    return schema


def load_schema(path: Path) -> Schema:
    return parse_schema(path.read_text(encoding="utf-8"))


def _validate(schema: Schema) -> None:
    known = set(SCALARS) | {m.name for m in schema.models} | {e.name for e in schema.enums}
    for model in schema.models:
        for f in model.fields:
            if f.type_name not in known and f.type_name != "Unsupported":
                raise SchemaError(
                    f'Type "{f.type_name}" is neither a built-in type, nor refers to '
                    "another model, composite type, or enum.",
                    f.line,
                )
