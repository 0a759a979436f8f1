"""Heroku's Platform API JSON hyper-schema: find the link a request matches, validate bodies.

Used by the contract tests of :mod:`keycliq_ops.adapters.heroku.client` and by the local Heroku
stand-in to check its own responses. The schema is vendored in ``_schema/platform-api.json``
(identical to ``shared/reference/heroku-platform-api-schema.json``; a test checks that).

Needs ``jsonschema`` (a dev dependency): it is imported when a validator is first built.

Heroku's schema has one keyword of its own, ``strictProperties: true``: the object has
exactly the listed properties. With ``strict=True`` (the default) a response must therefore
carry every listed property (``null`` where the type allows) and nothing else. A request
body must never carry a property its link's ``schema`` does not list.

Usage::

    api = ApiSchema.load()
    link = api.validate_request("POST", "/apps/keycliq-staging/releases", {"release": rid})
    api.validate_response("GET", "/apps/keycliq-staging/releases", releases_json)
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

VENDORED_SCHEMA = Path(__file__).resolve().parent / "_schema" / "platform-api.json"

_PARAM = re.compile(r"\{\(([^)]*)\)\}")
# "version ..; order=desc, max=10" or a Next-Range echoed back: "id ]<last id>..; max=200".
_RANGE_FIELD = re.compile(r"^\s*([A-Za-z_][\w.]*)\s+(?:\]|\.\.|[^;\s]*\.\.)")


class SchemaViolation(ValueError):
    """A request or response does not fit the Platform API schema.

    ``problems`` lists each violation as ``<json path>: <what>``.
    """

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        detail = "; ".join(self.problems[:5])
        more = f" (+{len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"{message}: {detail}{more}" if detail else message)


@dataclass(frozen=True)
class Link:
    """One ``links[]`` entry of a resource: an API call."""

    resource: str
    title: str
    method: str
    href: str
    rel: str | None
    schema: dict[str, Any] | None
    target_schema: dict[str, Any] | None
    ranges: tuple[str, ...] | None
    # href split on "/": a literal segment, or the JSON pointer of a parameter's schema.
    segments: tuple[tuple[bool, str], ...] = field(repr=False)

    @property
    def key(self) -> str:
        """``METHOD href`` with parameters shown as ``{resource.param}``, for messages."""
        parts = []
        for is_param, text in self.segments:
            if is_param:
                bits = text.strip("#/").split("/")
                parts.append("{" + ".".join(b for b in bits if b != "definitions") + "}")
            else:
                parts.append(text)
        return f"{self.method} " + "/".join(parts)

    def match(self, path: str) -> dict[str, str] | None:
        """Parameters (pointer -> raw value) when ``path`` fits this link's href, else None."""
        got = path.split("/")
        if len(got) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for (is_param, text), value in zip(self.segments, got, strict=True):
            if is_param:
                if not value:
                    return None
                params[text] = unquote(value)
            elif text != value:
                return None
        return params

    @property
    def literal_count(self) -> int:
        return sum(1 for is_param, _ in self.segments if not is_param)


def _segments(href: str) -> tuple[tuple[bool, str], ...]:
    out: list[tuple[bool, str]] = []
    for seg in href.split("/"):
        m = _PARAM.fullmatch(seg)
        out.append((True, unquote(m.group(1))) if m else (False, seg))
    return tuple(out)


def _strict_copy(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with ``strictProperties`` spelled out in standard JSON Schema."""
    doc = copy.deepcopy(doc)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if node.get("strictProperties") is True and isinstance(props, dict):
                node.setdefault("additionalProperties", False)
                node["required"] = sorted(set(node.get("required", [])) | set(props))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return doc


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value:
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+", value))


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


class ApiSchema:
    """The loaded hyper-schema with link lookup and validators (plain and strict)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.links: list[Link] = []
        for name, definition in document.get("definitions", {}).items():
            for raw in definition.get("links", []):
                if "method" not in raw or not str(raw.get("href", "")).startswith("/"):
                    continue
                ranges = raw.get("ranges")
                self.links.append(
                    Link(
                        resource=name,
                        title=str(raw.get("title", "")),
                        method=str(raw["method"]).upper(),
                        href=str(raw["href"]),
                        rel=raw.get("rel"),
                        schema=raw.get("schema"),
                        target_schema=raw.get("targetSchema"),
                        ranges=tuple(ranges) if ranges is not None else None,
                        segments=_segments(str(raw["href"])),
                    )
                )
        self._strict_document = _strict_copy(document)
        self._roots: dict[bool, Any] = {}  # jsonschema validators (untyped library)

    @classmethod
    def load(cls, path: Path | None = None) -> ApiSchema:
        """The schema at ``path`` (default: the vendored copy; loaded once per process)."""
        return _load(str((path or VENDORED_SCHEMA).resolve()))

    # -- finding links -----------------------------------------------------------------

    def links_for(self, method: str, path: str) -> list[Link]:
        """Links whose method and href fit; only the most literal ones, and whose path
        parameters validate against their schemas (an app name, a release version…)."""
        path = urlsplit(path).path.rstrip("/") or "/"
        method = method.upper()
        candidates: list[Link] = []
        for link in self.links:
            if link.method != method:
                continue
            params = link.match(path)
            if params is None or not all(self._param_ok(p, v) for p, v in params.items()):
                continue
            candidates.append(link)
        if not candidates:
            return []
        best = max(link.literal_count for link in candidates)
        return [link for link in candidates if link.literal_count == best]

    def find_link(self, method: str, path: str) -> Link:
        """The one link for ``method path``; :class:`SchemaViolation` when none fits."""
        links = self.links_for(method, path)
        if not links:
            raise SchemaViolation(f"{method.upper()} {path} matches no link of the Platform API")
        return links[0]

    def _param_ok(self, pointer: str, raw: str) -> bool:
        schema = {"$ref": pointer}
        if not self._errors(schema, raw, strict=False):
            return True
        # Path segments are text; a version number is an integer in the schema.
        return raw.isdigit() and not self._errors(schema, int(raw), strict=False)

    # -- validating --------------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        range_header: str | None = None,
    ) -> Link:
        """Check a request: a link fits and the body validates against its ``schema``.

        A body property the link's schema does not list is refused. A ``Range`` header must
        name one of the link's ``ranges`` when the link declares them. Returns the link.
        """
        links = self.links_for(method, path)
        if not links:
            raise SchemaViolation(f"{method.upper()} {path} matches no link of the Platform API")
        failures: list[str] = []
        for link in links:
            problems = self._request_problems(link, body, range_header)
            if not problems:
                return link
            failures.extend(f"[{link.title}] {p}" for p in problems)
        raise SchemaViolation(f"{method.upper()} {path}: request does not fit", failures)

    def _request_problems(self, link: Link, body: Any, range_header: str | None) -> list[str]:
        problems: list[str] = []
        if link.schema is None:
            if body not in (None, {}):
                problems.append("the link takes no body")
        else:
            problems.extend(self._errors(link.schema, {} if body is None else body, strict=True))
            declared = self._declared_properties(link.schema)
            if isinstance(body, dict) and declared is not None:
                problems.extend(
                    f"$.{k}: not a property of the request schema"
                    for k in body
                    if k not in declared
                )
        if range_header is not None and link.ranges is not None:
            m = _RANGE_FIELD.match(range_header)
            if not m or m.group(1) not in link.ranges:
                problems.append(
                    f"Range {range_header!r}: field must be one of {', '.join(link.ranges)}"
                )
        return problems

    def _declared_properties(self, schema: dict[str, Any]) -> set[str] | None:
        if "patternProperties" in schema or schema.get("additionalProperties") is True:
            return None
        props = schema.get("properties")
        return set(props) if isinstance(props, dict) else None

    def validate_response(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        strict: bool = True,
    ) -> Link:
        """Check a 2xx response body against the link's ``targetSchema``. Returns the link."""
        links = self.links_for(method, path)
        if not links:
            raise SchemaViolation(f"{method.upper()} {path} matches no link of the Platform API")
        failures: list[str] = []
        for link in links:
            if link.target_schema is None:
                return link
            problems = self._errors(link.target_schema, body, strict=strict)
            if not problems:
                return link
            failures.extend(problems)
        raise SchemaViolation(f"{method.upper()} {path}: response does not fit", failures)

    def validate_resource(self, resource: str, instance: Any, *, strict: bool = True) -> None:
        """Check one object against ``definitions.<resource>`` (e.g. ``release``)."""
        if resource not in self.document.get("definitions", {}):
            raise SchemaViolation(f"no resource {resource!r} in the Platform API schema")
        problems = self._errors({"$ref": f"#/definitions/{resource}"}, instance, strict=strict)
        if problems:
            raise SchemaViolation(f"{resource}: does not fit", problems)

    def errors(self, schema: dict[str, Any], instance: Any, *, strict: bool = True) -> list[str]:
        """Every violation of ``schema`` (``$ref``s resolve within the document)."""
        return self._errors(schema, instance, strict=strict)

    def _errors(self, schema: dict[str, Any], instance: Any, *, strict: bool) -> list[str]:
        validator = self._root(strict).evolve(schema=schema)
        return [
            f"{e.json_path}: {e.message}"
            for e in sorted(validator.iter_errors(instance), key=lambda e: e.json_path)
        ]

    def _root(self, strict: bool) -> Any:
        if strict not in self._roots:
            jsonschema: Any = importlib.import_module("jsonschema")
            checker = jsonschema.FormatChecker(formats=())
            checker.checks("uuid")(_is_uuid)
            checker.checks("date-time")(_is_datetime)
            checker.checks("date")(_is_date)
            checker.checks("email")(_is_email)
            checker.checks("uri")(_is_uri)
            doc = self._strict_document if strict else self.document
            self._roots[strict] = jsonschema.Draft4Validator(doc, format_checker=checker)
        return self._roots[strict]

    # -- examples ----------------------------------------------------------------------

    def example(self, resource: str) -> dict[str, Any]:
        """A complete instance of ``definitions.<resource>`` built from the schema's own
        ``example`` values (every property present): a base for fixtures and stand-ins."""
        value = self._example({"$ref": f"#/definitions/{resource}"}, depth=0)
        if not isinstance(value, dict):
            raise SchemaViolation(f"{resource}: not an object resource")
        return value

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in node:
            target: Any = self.document
            for part in str(node["$ref"]).lstrip("#/").split("/"):
                target = target[unquote(part).replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 50:
                raise SchemaViolation(f"reference loop at {node}")
        return node

    def _example(self, node: dict[str, Any], depth: int) -> Any:
        node = self._resolve(node)
        if "example" in node:
            return copy.deepcopy(node["example"])
        if depth > 8:
            return None
        if isinstance(node.get("properties"), dict):
            return {k: self._example(v, depth + 1) for k, v in node["properties"].items()}
        for key in ("anyOf", "oneOf"):
            if node.get(key):
                return self._example(node[key][0], depth + 1)
        if isinstance(node.get("items"), dict):
            return [self._example(node["items"], depth + 1)]
        return None

    def iter_links(self) -> Iterator[Link]:
        yield from self.links


@cache
def _load(path: str) -> ApiSchema:
    with open(path, encoding="utf-8") as fh:
        return ApiSchema(_amended(json.load(fh)))


def _amended(document: dict[str, Any]) -> dict[str, Any]:
    """The published schema with the one Fir fact it lags behind: Release Create takes
    ``oci_image`` *instead of* ``slug`` on a Fir app (the schema lists the property but
    still requires ``slug``; see the reference's "The Fir generation")."""
    for link in document.get("definitions", {}).get("release", {}).get("links", []):
        schema = link.get("schema")
        if (
            link.get("title") == "Create"
            and isinstance(schema, dict)
            and schema.get("required") == ["slug"]
            and "oci_image" in schema.get("properties", {})
        ):
            schema.pop("required")
            schema["anyOf"] = [{"required": ["slug"]}, {"required": ["oci_image"]}]
    return document
