"""Loading checklist files with ``file:line: field: what`` errors, and the catalogue."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.base.yamlfile import YamlDoc, describe_error, format_loc, parse_yaml
from keycliq_ops.checklists.items import KINDS, Checklist, Item, is_manual
from keycliq_ops.checklists.template import BUILTINS, placeholders

SUFFIX = ".yaml"
_KIND_LIST = ", ".join(KINDS)


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop the union tag pydantic puts in the location (``items[1].confirm.text``)."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if part in KINDS and i >= 2 and loc[i - 2] == "items" and isinstance(loc[i - 1], int):
            continue
        if isinstance(part, str | int):
            out.append(part)
    return tuple(out)


def _message(err: Any) -> tuple[str, tuple[str | int, ...]]:
    loc = _clean_loc(tuple(err["loc"]))
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "union_tag_invalid":
        return f"unknown kind {ctx.get('tag')!r} (expected one of: {_KIND_LIST})", (*loc, "kind")
    if kind == "union_tag_not_found":
        return f"required but missing (one of: {_KIND_LIST})", (*loc, "kind")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "id":
        return (
            f"{err.get('input')!r} is not a valid id "
            "(lower case letters, digits, '-', '_', '.'; starting with a letter or digit)",
            loc,
        )
    if kind == "value_error":
        return str(err.get("msg", "")).removeprefix("Value error, "), loc
    return describe_error(err), loc


def _validate(doc: YamlDoc) -> Checklist:
    if not isinstance(doc.data, dict):
        raise ConfigError(
            "a checklist must be a mapping with title and sections", location=doc.where()
        )
    try:
        return Checklist.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        message, loc = _message(errors[0])
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(message + more, location=doc.where(loc), field=format_loc(loc)) from None


def _template_fields(item: Item) -> Iterator[tuple[tuple[str, ...], str]]:
    for name in ("text", "help", "url", "command", "expect_text"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            yield (name,), value
    for key, value in getattr(item, "params", {}).items():
        yield ("params", key), value


def _check_references(checklist: Checklist, doc: YamlDoc) -> None:
    """Unique ids and input names; every ``{name}`` is built in or captured earlier."""
    ids: dict[str, int | None] = {}
    known: set[str] = set(BUILTINS)
    for si, section in enumerate(checklist.sections):
        for ii, item in enumerate(section.items):
            base: tuple[str | int, ...] = ("sections", si, "items", ii)
            if item.id in ids:
                first = ids[item.id]
                raise ConfigError(
                    f"duplicate item id {item.id!r}"
                    + (f" (first at line {first})" if first else ""),
                    location=doc.where((*base, "id")),
                    field=format_loc((*base, "id")),
                )
            ids[item.id] = doc.line_of((*base, "id"))
            for sub, text in _template_fields(item):
                for name in placeholders(text):
                    if name not in known:
                        loc: tuple[str | int, ...] = (*base, *sub)
                        raise ConfigError(
                            f"{{{name}}} is not a built-in variable ({', '.join(BUILTINS)}) "
                            "nor captured by an earlier input item",
                            location=doc.where(loc),
                            field=format_loc(loc),
                            hint="add an `input` item with that name before this item, "
                            "or write {{ and }} for literal braces",
                        )
            if item.kind == "input":
                if item.name in known:
                    raise ConfigError(
                        f"variable {item.name!r} is already captured by an earlier item",
                        location=doc.where((*base, "name")),
                        field=format_loc((*base, "name")),
                    )
                known.add(item.name)


def parse_checklist(text: str, path: Path, *, name: str | None = None) -> Checklist:
    """Parse and validate checklist ``text`` (``path`` is used in messages)."""
    doc = parse_yaml(text, path)
    checklist = _validate(doc)
    _check_references(checklist, doc)
    return checklist.model_copy(
        update={
            "name": name or path.name.removesuffix(SUFFIX),
            "source": str(path),
            "digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        }
    )


def load_checklist(path: Path) -> Checklist:
    """Read and validate one checklist file; any problem is a ConfigError with file:line."""
    from keycliq_ops.base.yamlfile import read_text

    return parse_checklist(read_text(path), path)


def checklist_names(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(SUFFIX) for p in folder.glob(f"*{SUFFIX}") if p.is_file())


def find_checklist(folder: Path, name: str) -> Path:
    """The file of checklist ``name`` in ``folder`` (a path to a .yaml file also works)."""
    as_path = Path(name)
    if name.endswith(SUFFIX) and as_path.is_file():
        return as_path
    candidate = folder / f"{name}{SUFFIX}"
    if candidate.is_file():
        return candidate
    known = ", ".join(checklist_names(folder)) or "none"
    raise UsageError(
        f"no checklist {name!r} in {folder} (known: {known})",
        hint="`keycliq checklist list` shows the catalogue",
    )


@dataclass(frozen=True)
class ChecklistInfo:
    """One line of the catalogue; ``error`` is set when the file does not validate."""

    name: str
    path: Path
    title: str | None = None
    items: int = 0
    manual: int = 0
    automated: int = 0
    error: str | None = None


def list_checklists(folder: Path) -> list[ChecklistInfo]:
    """Every checklist in ``folder``, broken ones included (with their error)."""
    out: list[ChecklistInfo] = []
    for name in checklist_names(folder):
        path = folder / f"{name}{SUFFIX}"
        try:
            cl = load_checklist(path)
        except ConfigError as exc:
            out.append(ChecklistInfo(name=name, path=path, error=exc.message))
            continue
        items = [item for _, item in cl.items()]
        manual = sum(1 for item in items if is_manual(item))
        out.append(
            ChecklistInfo(
                name=name,
                path=path,
                title=cl.title,
                items=len(items),
                manual=manual,
                automated=len(items) - manual,
            )
        )
    return out
