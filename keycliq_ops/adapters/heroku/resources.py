"""What keycliq reads from the Platform API, as pydantic models.

Only the fields keycliq uses are declared; anything else Heroku sends is ignored
(``extra="ignore"``), so new API fields never break parsing. Statuses are plain strings
(Heroku adds values over time); the known ones are listed on each field.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ref(_Resource):
    """A reference to another resource: ``{"id": ...}`` (sometimes with a name)."""

    id: str
    name: str | None = None


class UserRef(_Resource):
    id: str
    email: str | None = None


class ReleaseRef(_Resource):
    id: str
    version: int | None = None


class Account(_Resource):
    id: str
    email: str
    name: str | None = None


class RateLimits(_Resource):
    remaining: int


class App(_Resource):
    id: str
    name: str
    generation: Ref | None = Field(
        default=None, description="The platform generation: name `cedar` or `fir`."
    )
    web_url: str | None = None
    git_url: str | None = None
    region: Ref | None = None
    stack: Ref | None = None
    released_at: datetime | None = None
    maintenance: bool = False

    @property
    def generation_name(self) -> str:
        """``cedar`` or ``fir`` (``cedar`` when Heroku does not say)."""
        return self.generation.name if self.generation and self.generation.name else "cedar"

    @property
    def is_fir(self) -> bool:
        return self.generation_name == "fir"

    @property
    def uses_launcher(self) -> bool:
        """A Cloud Native Buildpacks stack (``cnb``, Fir): one-off commands run through
        ``launcher`` (which sets the image's environment up first)."""
        return self.stack is not None and self.stack.name == "cnb"


class SourceBlob(_Resource):
    url: str | None = None
    version: str | None = Field(default=None, description="The git commit of a git push.")
    version_description: str | None = None
    checksum: str | None = None


class Build(_Resource):
    id: str
    status: str = Field(description="pending | succeeded | failed")
    source_blob: SourceBlob = Field(default_factory=SourceBlob)
    release: Ref | None = None
    slug: Ref | None = None
    output_stream_url: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    user: UserRef | None = None
    app: Ref | None = None

    @property
    def commit(self) -> str | None:
        return self.source_blob.version


class Artifact(_Resource):
    """What a release runs: ``{"type": "slug" | "oci-image", "id": ...}``."""

    type: str = Field(description="slug (Cedar) | oci-image (Fir)")
    id: str


class Code(_Resource):
    """A release's code identity: its slug (Cedar) or its OCI image (Fir)."""

    kind: str = Field(description="slug | oci-image")
    id: str

    @property
    def label(self) -> str:
        return f"{'image' if self.kind == 'oci-image' else 'slug'} {self.id}"


class Release(_Resource):
    id: str
    version: int
    status: str = Field(description="pending | succeeded | failed | expired")
    current: bool = False
    description: str = ""
    slug: Ref | None = None
    output_stream_url: str | None = None
    created_at: datetime
    updated_at: datetime | None = None
    user: UserRef | None = None
    app: Ref | None = None
    eligible_for_rollback: bool | None = None
    artifacts: list[Artifact] = Field(default_factory=list)

    @property
    def image_id(self) -> str | None:
        """The OCI image a Fir release runs (None on Cedar)."""
        return next((a.id for a in self.artifacts if a.type == "oci-image"), None)

    @property
    def code(self) -> Code | None:
        """What this release runs, the one rule everyone compares releases by: its slug
        (Cedar), else its ``oci-image`` artifact (Fir: ``slug`` is null), else None (a
        release with no code, e.g. an app's first config release)."""
        if self.slug is not None:
            return Code(kind="slug", id=self.slug.id)
        image = self.image_id
        if image is not None:
            return Code(kind="oci-image", id=image)
        slug_artifact = next((a.id for a in self.artifacts if a.type == "slug"), None)
        return Code(kind="slug", id=slug_artifact) if slug_artifact else None

    @property
    def code_id(self) -> str | None:
        """The slug id (Cedar) or image id (Fir) of :attr:`code`."""
        code = self.code
        return code.id if code else None

    def code_record(self) -> dict[str, str | None]:
        """``{"slug_id", "image_id"}`` as the ledger records them (one is None)."""
        code = self.code
        return {
            "slug_id": code.id if code and code.kind == "slug" else None,
            "image_id": code.id if code and code.kind == "oci-image" else None,
        }


class Pipeline(_Resource):
    id: str
    name: str
    generation: Ref | None = None


class PipelineCoupling(_Resource):
    id: str
    app: Ref
    pipeline: Ref
    stage: str = Field(description="review | development | staging | production | test")


class PromotionSource(_Resource):
    app: Ref
    release: Ref | None = None


class PipelinePromotion(_Resource):
    id: str
    status: str = Field(description="pending | completed")
    pipeline: Ref
    source: PromotionSource
    created_at: datetime
    updated_at: datetime | None = None


class PromotionTarget(_Resource):
    id: str
    status: str = Field(description="pending | succeeded | failed")
    app: Ref
    release: Ref | None = None
    error_message: str | None = None
    pipeline_promotion: Ref | None = None


class Dyno(_Resource):
    id: str
    name: str
    state: str = Field(description="starting | up | complete | crashed | down | idle")
    command: str
    type: str
    size: str | None = None
    attach_url: str | None = None
    release: ReleaseRef | None = None
    app: Ref | None = None
    created_at: datetime | None = None


class LogSession(_Resource):
    id: str
    logplex_url: str
    created_at: datetime | None = None


class Formation(_Resource):
    id: str
    type: str
    quantity: int
    size: str
    command: str | None = None
    app: Ref | None = None
