"""Strict YAML loading that remembers where each value came from.

``load_yaml`` uses ``yaml.SafeLoader`` only, rejects duplicate keys, and returns the data
with a line lookup so that a validation error can say ``file:line: field.path: what``.
``validate`` turns pydantic's errors into one :class:`ConfigError` with that location.
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
    loader: yaml.SafeLoader, node: yaml.Node, loc: Loc, lines: dict[Loc, int], where: str
) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
        raise ConfigError(
            f"invalid YAML: unsupported tag {node.tag}",
            location=f"{where}:{node.start_mark.line + 1}",
        )
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _walk(loader, key_node, (*loc, "<key>"), {}, where)
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
            out[key] = _walk(loader, value_node, child_loc, lines, where)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(loader, item, (*loc, i), lines, where) for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"invalid YAML: {problem}", location=f"{where}:{node.start_mark.line + 1}"
        ) from None


def parse_yaml(text: str, path: Path) -> YamlDoc:
    """Parse YAML ``text`` (from ``path``, for messages) into a :class:`YamlDoc`."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", location=f"{path}{line}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", location=str(path)) from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    data = None if node is None else _walk(loader, node, (), lines, str(path))
    return YamlDoc(path=path, data=data, lines=lines)


def read_text(path: Path) -> str:
    """A config-like file's text; a missing or unreadable file is a ConfigError."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", location=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {exc}", location=str(path)) from None


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
