"""A release's code identity (``Release.code``): the slug on Cedar, the OCI image on Fir,
and the rules that use it (rollback's "has no code", status's build of a release)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from keycliq_ops.adapters.heroku.resources import App, Build, Release
from keycliq_ops.base.errors import GateFailed
from keycliq_ops.ops.status import build_of, release_commit
from keycliq_ops.release.oneoff import launched
from keycliq_ops.release.rollback import _check_target

NOW = datetime(2026, 11, 28, 3, 5, tzinfo=UTC)


def _release(
    version: int, *, slug: str | None = None, image: str | None = None, **kw: Any
) -> Release:
    artifacts = [{"type": "slug", "id": slug}] if slug else []
    artifacts += [{"type": "oci-image", "id": image}] if image else []
    return Release.model_validate(
        {
            "id": str(uuid.uuid4()),
            "version": version,
            "status": "succeeded",
            "created_at": NOW.isoformat(),
            "slug": {"id": slug} if slug else None,
            "artifacts": artifacts,
            **kw,
        }
    )


def test_the_code_is_the_slug_on_cedar_and_the_image_on_fir() -> None:
    slug, image = str(uuid.uuid4()), str(uuid.uuid4())
    cedar, fir, none = _release(3, slug=slug), _release(4, image=image), _release(1)
    assert (cedar.code_id, cedar.code and cedar.code.kind) == (slug, "slug")
    assert (fir.code_id, fir.code and fir.code.kind, fir.image_id) == (image, "oci-image", image)
    assert none.code is None and none.code_id is None
    assert cedar.code_record() == {"slug_id": slug, "image_id": None}
    assert fir.code_record() == {"slug_id": None, "image_id": image}


def test_rollback_refuses_only_a_release_without_slug_or_image() -> None:
    current = _release(9, image=str(uuid.uuid4()), current=True)
    _check_target("keycliq-production", _release(5, image=str(uuid.uuid4())), current)
    with pytest.raises(GateFailed, match="has no code"):
        _check_target("keycliq-production", _release(1), current)


def test_a_promoted_fir_release_finds_the_build_of_the_staging_release_with_its_image() -> None:
    image = str(uuid.uuid4())
    staging = _release(7, image=image)
    production = _release(12, image=image)
    build = Build.model_validate(
        {
            "id": str(uuid.uuid4()),
            "status": "succeeded",
            "created_at": NOW.isoformat(),
            "source_blob": {"version": "a" * 40},
            "release": {"id": staging.id},
            "slug": None,
        }
    )
    assert build_of(production, [build]) is None  # no slug to match without the releases
    assert build_of(production, [build], [staging, production]) is build
    assert release_commit(production, [build], None, [staging]) == "a" * 40


def test_generation_stack_and_launcher() -> None:
    fir = App.model_validate(
        {
            "id": "1",
            "name": "a",
            "generation": {"id": "g", "name": "fir"},
            "stack": {"id": "s", "name": "cnb"},
        }
    )
    cedar = App.model_validate({"id": "2", "name": "b", "stack": {"id": "s", "name": "heroku-24"}})
    assert fir.is_fir and fir.uses_launcher
    assert not cedar.is_fir and not cedar.uses_launcher and cedar.generation_name == "cedar"
    assert launched("npx prisma migrate deploy", "launcher") == "launcher npx prisma migrate deploy"
    assert launched("launcher npm run x", "launcher") == "launcher npm run x"
    assert launched("npm run x", None) == "npm run x"
