"""Loading checklist files with ``file:line: field: what`` errors, and the layered
catalogue (the shipped checklists, then the repository's)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from keycliq_ops.base.errors import ConfigError, UsageError
from keycliq_ops.base.yamlfile import YamlDoc, describe_error, format_loc, parse_yaml
from keycliq_ops.checklists.items import KINDS, Checklist, Item, is_manual
from keycliq_ops.checklists.template import BUILTINS, placeholders

if TYPE_CHECKING:
    from keycliq_ops.config.loading import CatalogFolders

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


def _template_fields(item: Item) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for name in ("text", "help", "url", "command", "expect_text"):
        value = getattr(item, name, None)
        if isinstance(value, str):
            yield (name,), value
        elif isinstance(value, list):
            for n, text in enumerate(value):
                if isinstance(text, str):
                    yield (name, n), text
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


def _as_folders(folder: Path | CatalogFolders) -> CatalogFolders:
    from keycliq_ops.config.loading import SHIPPED_CHECKLISTS, CatalogFolders, Layer

    if isinstance(folder, CatalogFolders):
        return folder
    folder = Path(folder)
    source: Literal["shipped", "repo"] = (
        "shipped" if folder.resolve() == SHIPPED_CHECKLISTS.resolve() else "repo"
    )
    return CatalogFolders("checklists", (Layer(source, folder),))


@dataclass(frozen=True)
class ChecklistEntry:
    """Where checklist ``name`` comes from: its file, its layer, the file it replaces."""

    name: str
    path: Path
    layer: Literal["shipped", "repo"]
    overrides: Path | None = None

    @property
    def origin(self) -> str:
        """``shipped``, ``repo`` or ``repo (overrides shipped)``."""
        return "repo (overrides shipped)" if self.overrides is not None else self.layer


class ChecklistCatalog:
    """The checklists of a catalogue by name (the file name without ``.yaml``): the shipped
    folder's, then the repository's, where a file replaces the shipped one of its name."""

    def __init__(self, folders: Path | CatalogFolders) -> None:
        self.folders = _as_folders(folders)

    def _layer_files(self, folder: Path, explicit: bool) -> dict[str, Path]:
        if not folder.is_dir():
            if explicit:
                raise ConfigError(
                    "the checklists folder does not exist",
                    location=str(folder),
                    hint="create it, or fix paths.checklists in keycliq.yaml",
                )
            return {}
        stray = sorted(p for p in folder.glob("*.yml") if p.is_file())
        if stray:
            raise ConfigError(
                "a checklist file must end in .yaml",
                location=str(stray[0]),
                hint=f"rename it to {stray[0].with_suffix(SUFFIX).name}",
            )
        return {
            p.name.removesuffix(SUFFIX): p for p in sorted(folder.glob(f"*{SUFFIX}")) if p.is_file()
        }

    def entries(self) -> dict[str, ChecklistEntry]:
        """Every checklist by name, sorted by name."""
        merged: dict[str, ChecklistEntry] = {}
        for layer in self.folders:
            for name, path in self._layer_files(layer.folder, layer.explicit).items():
                below = merged.get(name)
                merged[name] = ChecklistEntry(
                    name, path, layer.source, below.path if below is not None else None
                )
        return dict(sorted(merged.items()))

    def names(self) -> list[str]:
        return list(self.entries())

    def has(self, name: str) -> bool:
        return name in self.entries()

    def find(self, name: str) -> Path:
        """The file of checklist ``name`` (a path to a .yaml file also works)."""
        as_path = Path(name)
        if name.endswith(SUFFIX) and as_path.is_file():
            return as_path
        entries = self.entries()
        if name in entries:
            return entries[name].path
        known = ", ".join(entries) or "none"
        raise UsageError(
            f"no checklist {name!r} in {self.folders.describe()} (known: {known})",
            hint="`keycliq checklist list` shows the catalogue",
        )

    def load(self, name: str) -> Checklist:
        return load_checklist(self.find(name))

    def infos(self) -> list[ChecklistInfo]:
        """Every checklist, broken ones included (with their error)."""
        out: list[ChecklistInfo] = []
        for entry in self.entries().values():
            base = ChecklistInfo(
                name=entry.name,
                path=entry.path,
                source=entry.layer,
                overrides=entry.overrides,
            )
            try:
                cl = load_checklist(entry.path)
            except ConfigError as exc:
                out.append(replace(base, error=exc.message))
                continue
            items = [item for _, item in cl.items()]
            manual = sum(1 for item in items if is_manual(item))
            out.append(
                replace(
                    base,
                    title=cl.title,
                    items=len(items),
                    manual=manual,
                    automated=len(items) - manual,
                )
            )
        return out


def checklist_names(folder: Path | CatalogFolders) -> list[str]:
    return ChecklistCatalog(folder).names()


def find_checklist(folder: Path | CatalogFolders, name: str) -> Path:
    """The file of checklist ``name`` in ``folder`` or the layered folders
    (``loaded.checklists_dir``); a path to a .yaml file also works."""
    return ChecklistCatalog(folder).find(name)


@dataclass(frozen=True)
class ChecklistInfo:
    """One line of the catalogue; ``error`` is set when the file does not validate.
    ``source`` is the layer (``shipped`` or ``repo``); ``overrides`` the shipped file a
    repository file replaces."""

    name: str
    path: Path
    title: str | None = None
    items: int = 0
    manual: int = 0
    automated: int = 0
    error: str | None = None
    source: Literal["shipped", "repo"] = "shipped"
    overrides: Path | None = None

    @property
    def origin(self) -> str:
        return "repo (overrides shipped)" if self.overrides is not None else self.source


def list_checklists(folder: Path | CatalogFolders) -> list[ChecklistInfo]:
    """Every checklist of ``folder`` or the layered folders, broken ones included."""
    return ChecklistCatalog(folder).infos()
