"""Strict, bounded YAML loading that remembers where each value came from.

``load_yaml`` uses ``yaml.SafeLoader`` only, rejects duplicate keys, and returns the data
with a line lookup so that a validation error can say ``file:line: field.path: what``.
``validate`` turns pydantic's errors into one :class:`ConfigError` with that location.

keycliq's YAML files (keycliq.yaml, checklists, answers files) are small and hand-written,
so the loader bounds what a hostile or broken file can cost; past a bound the answer is a
:class:`ConfigError` (exit 2) naming the file, and the line when known:

- size: at most :data:`MAX_BYTES` (128 KiB; the largest shipped checklist is 12 KiB), read
  no further than that (``/dev/zero`` is refused, not read);
- nesting: at most :data:`MAX_DEPTH` levels of mappings and sequences (checked as the file
  is composed, so 50,000 ``[`` cost nothing);
- anchors and aliases are allowed (``dataclips: *gate``) but bounded: at most
  :data:`MAX_ALIASES` aliases in a file, and the document, with every alias expanded, at
  most :data:`MAX_VALUES` values (a "billion laughs" stops there, at once). An aliased value
  keeps the line where it is written (the anchor).
- a character YAML forbids (a NUL byte), or a scalar Python cannot hold (an integer of
  5,000 digits, the date 2001-02-30), is invalid YAML at its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from keycliq_ops.base.errors import ConfigError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

MAX_BYTES = 128 * 1024  # a file's size (characters, for text read from elsewhere)
MAX_DEPTH = 64  # levels of nested mappings and sequences
MAX_ALIASES = 100  # aliases (``*name``) in one file
MAX_VALUES = 100_000  # values in the document, every alias expanded


class _Limit(Exception):
    """A bound of this module was passed (turned into a ConfigError by :func:`parse_yaml`)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader counting nesting depth and aliases as it composes the node graph."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Limit(f"more than {MAX_ALIASES} aliases (*name)", line)
            return super().compose_node(parent, index)
        if not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Limit(f"nested more than {MAX_DEPTH} levels deep", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Budget:
    """How many more values the document may hold, aliases expanded."""

    def __init__(self) -> None:
        self.left = MAX_VALUES

    def spend(self, node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
        self.left -= 1
        if self.left < 0:
            # the line of the top-level key being expanded (an aliased node's own line is
            # where its anchor is, not where it multiplies)
            line = lines.get(loc[:1]) or node.start_mark.line + 1
            raise _Limit(
                f"more than {MAX_VALUES:,} values (with aliases expanded): "
                "keycliq's files are small; aliases that repeat aliases multiply",
                line,
            )


@dataclass
class YamlDoc:
    """Parsed YAML data plus the line (1-based) of every mapping key and sequence item."""

    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the deepest known prefix of ``loc``."""
        key = tuple(loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def where(self, loc: Sequence[str | int] = ()) -> str:
        line = self.line_of(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def _walk(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    where: str,
    budget: _Budget,
) -> Any:
    budget.spend(node, loc, lines)
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise ConfigError(
            f"invalid YAML: unsupported tag {node.tag}",
            location=f"{where}:{node.start_mark.line + 1}",
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _walk(loader, key_node, (*loc, "<key>"), {}, where, budget)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ConfigError(
                    "mapping keys must be plain scalars",
                    location=f"{where}:{key_node.start_mark.line + 1}",
                )
            if key in out:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    location=f"{where}:{key_node.start_mark.line + 1}",
                )
            child_loc = (*loc, key if isinstance(key, str | int) else str(key))
            lines[child_loc] = key_node.start_mark.line + 1
            out[key] = _walk(loader, value_node, child_loc, lines, where, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(loader, item, (*loc, i), lines, where, budget)
            for i, item in enumerate(node.value)
        ]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"invalid YAML: {problem}", location=f"{where}:{node.start_mark.line + 1}"
        ) from None
    except (ValueError, OverflowError) as exc:  # 5,000 digits, 2001-02-30, …
        raise ConfigError(
            f"invalid YAML: {node.value[:40]!r}: {str(exc)[:120]}",
            location=f"{where}:{node.start_mark.line + 1}",
        ) from None


def _too_large(path: Path | str) -> ConfigError:
    return ConfigError(
        f"the file is larger than {MAX_BYTES // 1024} KiB: keycliq's YAML files are small "
        "(is this the right file?)",
        location=str(path),
    )


def _reader_error(exc: yaml.reader.ReaderError, text: str, path: Path) -> ConfigError:
    line = text.count("\n", 0, max(exc.position, 0)) + 1
    if isinstance(exc.character, int):
        what = "a NUL byte" if exc.character == 0 else f"the character #x{exc.character:04x}"
        problem = f"{what}: YAML files may not hold control characters (is this a text file?)"
    else:
        problem = str(exc).splitlines()[0]
    return ConfigError(f"invalid YAML: {problem}", location=f"{path}:{line}")


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML ``text`` (from ``path``, for messages) into a :class:`YamlDoc`, within the
    bounds of this module (a ConfigError past them)."""
    if len(text) > MAX_BYTES:
        raise _too_large(path)
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = None if node is None else _walk(loader, node, (), lines, str(path), _Budget())
    except _Limit as exc:
        line = f":{exc.line}" if exc.line else ""
        raise ConfigError(exc.message, location=f"{path}{line}") from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", location=f"{path}{line}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", location=str(path)) from None
    finally:
        loader.dispose()
    return YamlDoc(path=path, data=data, lines=lines)


def read_text(path: Path) -> str:
    """A config-like file's text (at most :data:`MAX_BYTES`, read no further); a missing,
    unreadable, too large or non-UTF-8 file is a ConfigError."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError("file not found", location=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", location=str(path)) from None
    if len(raw) > MAX_BYTES:
        raise _too_large(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"cannot read file: not UTF-8 text (byte {exc.start + 1})",
            location=f"{path}:{line}",
        ) from None
    # universal newlines, as Path.read_text gives (a checklist's digest is of this text)
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse a YAML file; a missing or unreadable file is a ConfigError."""
    return parse_yaml(read_text(path), path)


def describe_error(err: Any) -> str:
    """One human sentence for a pydantic error dict."""
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required but missing"
    got = err.get("input")
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{msg.lower()} (got {type(got).__name__}: {got!r})"[:200]
    return msg


def format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def validate(model: type[M], doc: YamlDoc, *, context: dict[str, Any] | None = None) -> M:
    """Validate ``doc.data`` into ``model``; the first error becomes one ConfigError line."""
    try:
        return model.model_validate(doc.data if doc.data is not None else {}, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(
            describe_error(first) + more,
            location=doc.where(loc),
            field=format_loc(loc),
        ) from None
