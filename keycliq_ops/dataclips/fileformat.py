"""The Dataclip file format: one ``.sql`` file per check, metadata in its leading comments.

::

    -- id: E1
    -- title: key_signatures XOR
    -- description: Each signature belongs to a key or to a scan, never both, never
    --   neither. (Lines indented by two or more spaces continue the field above.)
    -- param: userId text required  the user's id (cuid)
    -- param: graceHours integer optional default=24  hours before a token is stale
    -- severity: critical            (critical | high | medium | low; default medium)
    -- tags: integrity, before-promote
    -- returns: one-row              (one-row | rows; default: from the expectations)
    -- expect: both_null = 0         (fails the check; repeatable)
    -- warn: both_set = 0            (warns; repeatable)
    --   why: a key created from an unmatched scan keeps that scan's id
    --   (app/routes/keys.$id.jsx)   (optional, under an expect/warn: what produces such
    --                                rows; shown after the count when it does not pass)
    SELECT …;

The header is the block of ``--`` lines at the top; the first other line starts the SQL,
which is exactly one statement (a trailing ``;`` is allowed). ``:name`` (or psql's
``:'name'``) marks a parameter: it is sent to the server as a bound parameter ``$n``, never
spliced into the text; comments are not sent (each becomes white space). In psql,
``\\set userId '''abc'''`` then ``\\i E1.sql`` runs the file unchanged.

The statement must be a read-only ``SELECT`` by the rule of :mod:`.readonly` (checked with
PostgreSQL's own parser when the catalogue loads, so ``dataclips list``/``validate`` and a
deploy's preflight refuse it before anything runs). A file is at most
:data:`MAX_FILE_BYTES`; it is read in time linear in its size (nested comments included).
Any mistake is a :class:`ConfigError` naming the file and line (exit 2).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from keycliq_ops.base.errors import ConfigError
from keycliq_ops.dataclips.clips import (
    PARAM_TYPES,
    SEVERITIES,
    Catalog,
    Dataclip,
    Expectation,
    Param,
    ParamType,
    Severity,
    Shape,
)
from keycliq_ops.dataclips.expect import ExpectationSyntaxError, parse_expectation
from keycliq_ops.dataclips.readonly import refusal

if TYPE_CHECKING:
    from keycliq_ops.config.loading import CatalogFolders

MAX_FILE_BYTES = 1_000_000  # a Dataclip is a query, not a data file
FIELDS = ("id", "title", "description", "param", "expect", "warn", "severity", "tags", "returns")
_REPEATABLE = {"param", "expect", "warn"}
_CONTINUABLE = {"title", "description"}
_HEADER = re.compile(r"^--\s?(?P<key>[A-Za-z_-]+)\s*:\s*(?P<value>.*)$")
_CONTINUATION = re.compile(r"^--\s{2,}(?P<value>\S.*)$")
_WHY = re.compile(r"^why\s*:\s*(?P<value>.*)$", re.IGNORECASE)
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_COMMENT_MARK = re.compile(r"/\*|\*/")
_BIND = re.compile(r":(?:'([A-Za-z_][A-Za-z0-9_]*)'|([A-Za-z_][A-Za-z0-9_]*))")


def _err(path: Path, line: int, message: str, hint: str | None = None) -> ConfigError:
    return ConfigError(message, location=f"{path}:{line}", hint=hint)


def _parse_param(value: str, path: Path, line: int) -> Param:
    parts = value.split()
    if len(parts) < 3:
        raise _err(
            path,
            line,
            f"param: expected 'NAME TYPE required|optional [default=VALUE] [description]', "
            f"got {value!r}",
        )
    name, ptype, need, *rest = parts
    if not _NAME.match(name):
        raise _err(path, line, f"param: {name!r} is not a valid parameter name")
    if ptype not in PARAM_TYPES:
        raise _err(
            path, line, f"param {name}: type {ptype!r} is not one of {', '.join(PARAM_TYPES)}"
        )
    if need not in ("required", "optional"):
        raise _err(path, line, f"param {name}: expected 'required' or 'optional', got {need!r}")
    default = None
    if rest and rest[0].startswith("default="):
        default = rest.pop(0)[len("default=") :]
        if need == "required":
            raise _err(path, line, f"param {name}: a required parameter has no default")
        if default == "":
            raise _err(path, line, f"param {name}: default= needs a value")
    return Param(
        name=name,
        type=cast(ParamType, ptype),
        required=need == "required",
        default=default,
        description=" ".join(rest),
    )


def _blank(comment: str) -> str:
    """What a comment becomes in the query sent: its line breaks, else one space."""
    breaks = comment.count("\n")
    return "\n" * breaks if breaks else " "


def _scan_sql(body: str, path: Path, first_line: int) -> tuple[str, list[str], int]:
    """Replace ``:name``/``:'name'`` with ``$n`` outside literals and comments, and each
    comment with white space (line breaks kept); enforce one statement. One pass, linear
    in the body's length. Returns the query, the parameter name for each ``$n`` and the
    number of line breaks stripped from the query's start."""
    out: list[str] = []
    numbers: dict[str, int] = {}  # parameter name -> n of its $n
    i, n = 0, len(body)
    ended_at: int | None = None  # index of a top-level ';'

    def line_at(pos: int) -> int:
        return first_line + body.count("\n", 0, pos)

    while i < n:
        ch = body[i]
        if ended_at is not None and not ch.isspace() and not body.startswith(("--", "/*"), i):
            raise _err(
                path,
                line_at(i),
                "a Dataclip is one SQL statement; text follows the ';' that ends it",
            )
        if body.startswith("--", i):
            j = body.find("\n", i)
            j = n if j < 0 else j
            out.append(" ")
            i = j
        elif body.startswith("/*", i):
            # Nested, as PostgreSQL's are: one scan for the '/*' and '*/' that follow,
            # linear however deep the nesting.
            depth, j = 1, i + 2
            for mark in _COMMENT_MARK.finditer(body, i + 2):
                depth += 1 if mark.group(0) == "/*" else -1
                if not depth:
                    j = mark.end()
                    break
            if depth:
                raise _err(path, line_at(i), "unterminated /* comment")
            out.append(_blank(body[i:j]))
            i = j
        elif ch == "'":
            escapes = (
                i > 0 and body[i - 1] in "eE" and (i < 2 or not _IDENT_CHAR.match(body[i - 2]))
            )
            j = i + 1
            while j < n:
                if escapes and body[j] == "\\":
                    j += 2
                    continue
                if body[j] == "'":
                    if body.startswith("''", j):
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise _err(path, line_at(i), "unterminated string literal")
            out.append(body[i : j + 1])
            i = j + 1
        elif ch == '"':
            j = i + 1
            while j < n:
                if body[j] == '"':
                    if body.startswith('""', j):
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                raise _err(path, line_at(i), "unterminated quoted identifier")
            out.append(body[i : j + 1])
            i = j + 1
        elif ch == "$":
            m = _DOLLAR_TAG.match(body, i)
            if m and (i == 0 or not _IDENT_CHAR.match(body[i - 1])):
                end = body.find(m.group(0), m.end())
                if end < 0:
                    raise _err(path, line_at(i), f"unterminated {m.group(0)} quoted string")
                out.append(body[i : end + len(m.group(0))])
                i = end + len(m.group(0))
            elif i + 1 < n and body[i + 1].isdigit():
                raise _err(
                    path,
                    line_at(i),
                    "positional parameters ($1) are not allowed; declare a param and write :name",
                )
            else:
                out.append(ch)
                i += 1
        elif ch == ":":
            if body.startswith("::", i):
                out.append("::")
                i += 2
                continue
            m = _BIND.match(body, i)
            if body.startswith(':"', i):
                raise _err(
                    path,
                    line_at(i),
                    'identifier parameters (:"name") are not supported; only values can be bound',
                )
            if not m:
                out.append(ch)
                i += 1
                continue
            name = m.group(1) or m.group(2)
            number = numbers.setdefault(name, len(numbers) + 1)
            out.append(f"${number}")
            i = m.end()
        elif ch == ";":
            ended_at = i
            i += 1
        else:
            out.append(ch)
            i += 1
    raw = "".join(out)  # comments are white space in it
    query = raw.strip()
    if not query:
        raise _err(path, first_line, "the Dataclip has no SQL after its header")
    return query, list(numbers), raw[: len(raw) - len(raw.lstrip())].count("\n")


def _read(path: Path) -> str:
    """The file's text; larger than :data:`MAX_FILE_BYTES`, not UTF-8 or unreadable is a
    ConfigError naming it (nothing beyond the bound is read)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", location=str(path)) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            f"larger than {MAX_FILE_BYTES:,} bytes: a Dataclip is one query, not data",
            location=str(path),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", location=str(path)) from None
    if "\x00" in text:
        raise ConfigError("holds a NUL byte: not a text file", location=str(path))
    # As Path.read_text does: universal newlines.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_dataclip(path: Path) -> Dataclip:
    """Parse one ``.sql`` file strictly."""
    text = _read(path)
    lines = text.splitlines()
    values: dict[str, Any] = {}
    where: dict[str, int] = {}
    params: list[Param] = []
    expectations: list[Expectation] = []
    # Continuation lines are collected and joined once (a long header stays linear).
    more: dict[str, list[str]] = {}
    notes: dict[int, list[str]] = {}  # expectation index -> its why: lines
    declared: set[str] = set()
    last: str | None = None
    n = 0
    for n, raw in enumerate(lines, start=1):
        line = raw.rstrip()
        if not line.startswith("--"):
            break
        if line.strip("- ") == "":
            last = None
            continue
        cont = _CONTINUATION.match(line)
        if cont and last in _CONTINUABLE:
            more.setdefault(last, []).append(cont.group("value").strip())
            continue
        if cont and last in ("expect", "warn"):
            why = _WHY.match(cont.group("value").strip())
            if why is None or not why.group("value").strip():
                raise _err(
                    path,
                    n,
                    f"a line under '{last}:' is its note and starts with 'why:' "
                    "(e.g. '--   why: what writes such rows')",
                )
            notes[len(expectations) - 1] = [why.group("value").strip()]
            last = "why"
            continue
        if cont and last == "why":
            notes[len(expectations) - 1].append(cont.group("value").strip())
            continue
        m = _HEADER.match(line)
        if not m:
            raise _err(
                path,
                n,
                f"expected a header line '-- FIELD: value' (fields: {', '.join(FIELDS)})",
                hint="indent a continuation line by two spaces after '--'",
            )
        key, value = m.group("key").lower(), m.group("value").strip()
        if key not in FIELDS:
            raise _err(
                path, n, f"unknown header field {key!r} (expected one of: {', '.join(FIELDS)})"
            )
        if not value:
            raise _err(path, n, f"{key}: a value is required")
        if key not in _REPEATABLE and key in values:
            raise _err(path, n, f"{key}: given twice (first on line {where[key]})")
        last = key
        where.setdefault(key, n)
        if key == "param":
            p = _parse_param(value, path, n)
            if p.name in declared:
                raise _err(path, n, f"param {p.name}: declared twice")
            declared.add(p.name)
            params.append(p)
        elif key in ("expect", "warn"):
            try:
                expectations.append(
                    parse_expectation(value, "expect" if key == "expect" else "warn", line=n)
                )
            except ExpectationSyntaxError as exc:
                raise _err(path, n, f"{key}: {exc}") from None
        else:
            values[key] = value
    else:
        n = len(lines) + 1
    header_lines = n - 1
    for key, extra in more.items():
        values[key] = " ".join([values[key], *extra])
    for index, note in notes.items():
        expectations[index] = expectations[index].with_note(" ".join(note))
    for required in ("id", "title"):
        if required not in values:
            raise _err(path, 1, f"the header has no '-- {required}:' line")
    check_id = values["id"]
    if not _ID.match(check_id):
        raise _err(
            path,
            where["id"],
            f"id {check_id!r}: letters, digits, '_' or '-', starting with a letter",
        )
    severity = values.get("severity", "medium")
    if severity not in SEVERITIES:
        raise _err(
            path, where["severity"], f"severity {severity!r} is not one of {', '.join(SEVERITIES)}"
        )
    tags = tuple(t.strip() for t in values.get("tags", "").split(",") if t.strip())
    shapes = {e.shape for e in expectations}
    if len(shapes) > 1:
        raise _err(
            path,
            expectations[-1].line,
            "expectations mix one-row columns with 'rows'/'every' (a check returns one shape)",
        )
    returns: Shape
    if "returns" in values:
        if values["returns"] not in ("one-row", "rows"):
            raise _err(path, where["returns"], "returns: expected 'one-row' or 'rows'")
        returns = cast(Shape, values["returns"])
        if shapes and returns not in shapes:
            raise _err(
                path,
                where["returns"],
                f"returns: {returns} contradicts the expectations, which need {shapes.pop()}",
            )
    else:
        returns = shapes.pop() if shapes else "rows"
    body = "\n".join(lines[header_lines:])
    query, bind_names, lead = _scan_sql(body, path, header_lines + 1)
    for name in bind_names:
        if name not in declared:
            raise _err(
                path,
                header_lines + 1 + body[: body.find(":" + name)].count("\n"),
                f":{name} is used but not declared",
                hint=f"add '-- param: {name} text required' to the header",
            )
    used = set(bind_names)
    for p in params:
        if p.name not in used:
            raise _err(
                path, where["param"], f"param {p.name} is declared but the SQL never uses :{p.name}"
            )
    refused = refusal(query)
    if refused is not None:
        at = header_lines + 1 + lead
        if refused.offset is not None:
            at += query.encode("utf-8")[: refused.offset].count(b"\n")
        raise _err(
            path,
            at,
            refused.message,
            hint="a Dataclip is one SELECT that only reads; it was not run",
        )
    return Dataclip(
        id=check_id,
        title=values["title"],
        path=path,
        sql=body.strip() + "\n",
        query=query,
        bind_names=tuple(bind_names),
        description=values.get("description", ""),
        params=tuple(params),
        expectations=tuple(expectations),
        severity=cast(Severity, severity),
        tags=tags,
        returns=returns,
        header_lines=header_lines,
    )


def _sort_key(check_id: str) -> tuple[str, int, str]:
    m = re.match(r"^([A-Za-z]+)(\d*)(.*)$", check_id)
    if not m:  # pragma: no cover - ids are validated
        return (check_id, 0, "")
    return (m.group(1).upper(), int(m.group(2) or 0), m.group(3))


def _load_layer(folder: Path, layer: Literal["shipped", "repo"]) -> dict[str, Dataclip]:
    """Every ``*.sql`` of one folder by lower-cased id; an id twice in it is an error."""
    seen: dict[str, Dataclip] = {}
    for path in sorted(folder.glob("*.sql")):
        clip = parse_dataclip(path)
        other = seen.get(clip.id.lower())
        if other is not None:
            raise _err(path, 1, f"id {clip.id!r} is also the id of {other.path.name}")
        seen[clip.id.lower()] = replace(clip, layer=layer)
    return seen


def load_catalog(folder: Path | CatalogFolders) -> Catalog:
    """Parse every ``*.sql`` of the catalogue: one folder, or the layered folders of
    :class:`~keycliq_ops.config.loading.CatalogFolders` (``loaded.dataclips_dir``), where a
    check of the repository's folder replaces the shipped check of the same id. Ids are
    unique within a folder (case-insensitively)."""
    from keycliq_ops.config.loading import SHIPPED_DATACLIPS, CatalogFolders, Layer

    if isinstance(folder, CatalogFolders):
        folders = folder
    else:
        folder = Path(folder)
        if not folder.is_dir():
            raise ConfigError("the Dataclips folder does not exist", location=str(folder))
        source: Literal["shipped", "repo"] = (
            "shipped" if folder.resolve() == SHIPPED_DATACLIPS.resolve() else "repo"
        )
        folders = CatalogFolders("dataclips", (Layer(source, folder, explicit=True),))
    merged: dict[str, Dataclip] = {}
    present: list[Path] = []
    for layer in folders:
        if not layer.folder.is_dir():
            if layer.explicit or layer.source == "shipped":
                raise ConfigError(
                    "the Dataclips folder does not exist",
                    location=str(layer.folder),
                    hint="create it, or fix paths.dataclips in keycliq.yaml",
                )
            continue
        present.append(layer.folder)
        for key, clip in _load_layer(layer.folder, layer.source).items():
            below = merged.get(key)
            merged[key] = clip if below is None else replace(clip, overrides=below.path)
    ordered = sorted(merged.values(), key=lambda c: _sort_key(c.id))
    return Catalog(
        folder=present[-1] if present else folders.top,
        checks={c.id: c for c in ordered},
        folders=tuple(reversed(present)),
        description=folders.describe(),
    )
