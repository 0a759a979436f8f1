"""The Heroku Platform API client keycliq uses: one method per call, returning models.

Example::

    with HerokuClient.from_environment() as heroku:
        release = heroku.releases("keycliq-staging", limit=1)[0]
        for line in heroku.stream_lines(release.output_stream_url):
            ...

Every request it can send is checked against Heroku's schema by the contract tests
(``tests/adapters/heroku/test_contract.py``): adding a method there without a schema link fails.
Retries, pacing, pagination and streams: see :mod:`keycliq_ops.adapters.heroku.transport`.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from keycliq_ops.adapters.heroku import deadlines
from keycliq_ops.adapters.heroku.auth import DEFAULT_API_URL, Token, resolve_credentials
from keycliq_ops.adapters.heroku.resources import (
    Account,
    App,
    Build,
    Dyno,
    Formation,
    LogSession,
    Pipeline,
    PipelineCoupling,
    PipelinePromotion,
    PromotionTarget,
    RateLimits,
    Release,
)
from keycliq_ops.adapters.heroku.transport import (
    CALL_TIMEOUT,
    MAX_PAGE,
    RETRY_BUDGET,
    Transport,
)
from keycliq_ops.base.errors import HerokuError

M = TypeVar("M", bound=BaseModel)


def _p(value: str | int) -> str:
    """One path segment, quoted (an app name can never reach another path)."""
    return quote(str(value), safe="")


def _range(field: str, *, newest_first: bool, limit: int | None) -> str:
    size = min(limit, MAX_PAGE) if limit else MAX_PAGE
    return f"{field} ..; order={'desc' if newest_first else 'asc'}, max={size}"


class HerokuClient:
    """A Platform API session. Thread-safe: independent calls may run concurrently.

    ``timeout``: longest silence on a socket; ``call_timeout``: one attempt of a request,
    its answer read to the end; ``retry_budget``: all attempts of one call and the waits
    between them (after it: HerokuError, exit 3). ``stream_timeout``: longest silence on a
    stream (a stream's overall deadline is ``stream_lines(..., deadline=)``).
    """

    def __init__(
        self,
        token: str | Token,
        base_url: str = DEFAULT_API_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        stream_timeout: float = 300.0,
        max_retries: int = 4,
        call_timeout: float = CALL_TIMEOUT,
        retry_budget: float = RETRY_BUDGET,
        sleep: Callable[[float], None] = deadlines.sleep,
        two_factor_code: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not isinstance(token, Token):
            token = Token(token, "argument")
        self._token = token
        self._t = Transport(
            token,
            base_url,
            transport=transport,
            timeout=timeout,
            stream_timeout=stream_timeout,
            max_retries=max_retries,
            call_timeout=call_timeout,
            retry_budget=retry_budget,
            sleep=sleep,
            rng=rng,
        )
        self._t.two_factor_code = two_factor_code

    @classmethod
    def from_environment(
        cls, *, transport: httpx.BaseTransport | None = None, **options: Any
    ) -> HerokuClient:
        """Token and base URL as the Heroku CLI finds them (see :mod:`.auth`)."""
        creds = resolve_credentials()
        return cls(creds.token, creds.base_url, transport=transport, **options)

    # -- session ---------------------------------------------------------------------------

    def __enter__(self) -> HerokuClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._t.close()

    def __repr__(self) -> str:
        return f"HerokuClient(base_url={self.base_url!r}, token=<from {self._token.source}>)"

    @property
    def base_url(self) -> str:
        return self._t.base_url

    @property
    def two_factor_code(self) -> str | None:
        return self._t.two_factor_code

    @two_factor_code.setter
    def two_factor_code(self, code: str | None) -> None:
        """Sent as ``Heroku-Two-Factor-Code`` on later requests (after TwoFactorRequired)."""
        self._t.two_factor_code = code

    @property
    def request_count(self) -> int:
        """API requests sent so far (each retry counts; streams are not API requests)."""
        return self._t.request_count

    @property
    def path_counts(self) -> Counter[str]:
        """Requests per ``METHOD /path`` (a copy)."""
        return Counter(self._t.path_counts)

    @property
    def stream_count(self) -> int:
        """Stream connections opened (``stream_lines``), reconnects included."""
        return self._t.stream_count

    @property
    def rate_limit_remaining(self) -> int | None:
        """``RateLimit-Remaining`` of the latest answer."""
        return self._t.rate_limit_remaining

    # -- helpers ---------------------------------------------------------------------------

    def _one(self, model: type[M], method: str, path: str, **kw: Any) -> M:
        what = f"{method} {path}"
        response = self._t.request(method, path, **kw)
        return self._parse(model, self._t.json(response, what), what)

    def _many(
        self,
        model: type[M],
        path: str,
        *,
        range_header: str | None = None,
        limit: int | None = None,
    ) -> list[M]:
        items = self._t.paginate(path, range_header=range_header, limit=limit)
        return [self._parse(model, item, f"GET {path}") for item in items]

    def _parse(self, model: type[M], data: Any, what: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "body"
            raise HerokuError(
                f"Heroku API {what}: unexpected {model.__name__} ({where}: {first['msg']})",
                hint=f"is the API URL ({self.base_url}) really the Heroku Platform API?",
            ) from None

    # -- account ---------------------------------------------------------------------------

    def account(self) -> Account:
        """Who the token belongs to (``GET /account``)."""
        return self._one(Account, "GET", "/account")

    def rate_limits(self) -> RateLimits:
        """The remaining request budget, without spending it."""
        return self._one(RateLimits, "GET", "/account/rate-limits")

    # -- apps and config -------------------------------------------------------------------

    def app(self, app: str) -> App:
        return self._one(App, "GET", f"/apps/{_p(app)}")

    def config_vars(self, app: str) -> dict[str, str]:
        """The app's config vars. Values are secrets: mask them before showing any."""
        path = f"/apps/{_p(app)}/config-vars"
        return self._vars(self._t.request("GET", path), f"GET {path}")

    def update_config_vars(self, app: str, changes: Mapping[str, str | None]) -> dict[str, str]:
        """Set (or, with ``None``, unset) config vars; creates a release. Returns all vars."""
        path = f"/apps/{_p(app)}/config-vars"
        response = self._t.request("PATCH", path, json=dict(changes), idempotent=True)
        return self._vars(response, f"PATCH {path}")

    def _vars(self, response: httpx.Response, what: str) -> dict[str, str]:
        data = self._t.json(response, what)
        if not isinstance(data, dict):
            raise HerokuError(f"Heroku API {what}: config vars are not a JSON object")
        return {str(k): str(v) for k, v in data.items() if v is not None}

    def formation(self, app: str) -> list[Formation]:
        return self._many(Formation, f"/apps/{_p(app)}/formation")

    # -- builds and releases ---------------------------------------------------------------

    def builds(
        self, app: str, *, newest_first: bool = True, limit: int | None = None
    ) -> list[Build]:
        rng = _range("started_at", newest_first=newest_first, limit=limit)
        return self._many(Build, f"/apps/{_p(app)}/builds", range_header=rng, limit=limit)

    def build(self, app: str, build_id: str) -> Build:
        return self._one(Build, "GET", f"/apps/{_p(app)}/builds/{_p(build_id)}")

    def releases(
        self, app: str, *, newest_first: bool = True, limit: int | None = None
    ) -> list[Release]:
        rng = _range("version", newest_first=newest_first, limit=limit)
        return self._many(Release, f"/apps/{_p(app)}/releases", range_header=rng, limit=limit)

    def release(self, app: str, id_or_version: str | int) -> Release:
        return self._one(Release, "GET", f"/apps/{_p(app)}/releases/{_p(id_or_version)}")

    def rollback(self, app: str, release_id: str) -> Release:
        """Roll back: a new release with the slug and config of ``release_id`` (a uuid;
        a version number is looked up first)."""
        if str(release_id).isdigit():
            release_id = self.release(app, int(release_id)).id
        return self._one(Release, "POST", f"/apps/{_p(app)}/releases", json={"release": release_id})

    def create_release(
        self, app: str, code_id: str, *, description: str | None = None, oci_image: bool = False
    ) -> Release:
        """A new release of code the app already has (with its current config vars), e.g. to
        run a failed release phase again: ``POST /apps/{app}/releases {"slug": id}``, or
        ``{"oci_image": id}`` for a Fir app's image (``oci_image=True``)."""
        body: dict[str, str] = {"oci_image" if oci_image else "slug": code_id}
        if description:
            body["description"] = description
        return self._one(Release, "POST", f"/apps/{_p(app)}/releases", json=body)

    # -- pipelines -------------------------------------------------------------------------

    def app_pipeline_coupling(self, app: str) -> PipelineCoupling:
        """The app's pipeline and stage (404 ``not_found`` when it is in no pipeline)."""
        return self._one(PipelineCoupling, "GET", f"/apps/{_p(app)}/pipeline-couplings")

    def pipeline(self, id_or_name: str) -> Pipeline:
        return self._one(Pipeline, "GET", f"/pipelines/{_p(id_or_name)}")

    def pipeline_couplings(self, pipeline_id: str) -> list[PipelineCoupling]:
        return self._many(PipelineCoupling, f"/pipelines/{_p(pipeline_id)}/pipeline-couplings")

    def create_promotion(
        self,
        pipeline_id: str,
        source_app_id: str,
        target_app_ids: Sequence[str],
        *,
        source_release_id: str | None = None,
    ) -> PipelinePromotion:
        """Promote the source app's current slug (or ``source_release_id``'s) to targets."""
        source: dict[str, Any] = {"app": {"id": source_app_id}}
        if source_release_id:
            source["release"] = {"id": source_release_id}
        body = {
            "pipeline": {"id": pipeline_id},
            "source": source,
            "targets": [{"app": {"id": t}} for t in target_app_ids],
        }
        return self._one(PipelinePromotion, "POST", "/pipeline-promotions", json=body)

    def promotion(self, promotion_id: str) -> PipelinePromotion:
        return self._one(PipelinePromotion, "GET", f"/pipeline-promotions/{_p(promotion_id)}")

    def promotion_targets(self, promotion_id: str) -> list[PromotionTarget]:
        return self._many(
            PromotionTarget, f"/pipeline-promotions/{_p(promotion_id)}/promotion-targets"
        )

    # -- dynos and logs --------------------------------------------------------------------

    def create_dyno(
        self,
        app: str,
        command: str,
        *,
        attach: bool = False,
        env: Mapping[str, str] | None = None,
        size: str | None = None,
        type: str = "run",
    ) -> Dyno:
        """Start a one-off dyno (``attach=True`` answers an ``attach_url``)."""
        body: dict[str, Any] = {"command": command, "attach": attach, "type": type}
        if env:
            body["env"] = dict(env)
        if size:
            body["size"] = size
        return self._one(Dyno, "POST", f"/apps/{_p(app)}/dynos", json=body)

    def dyno(self, app: str, dyno_id: str) -> Dyno:
        return self._one(Dyno, "GET", f"/apps/{_p(app)}/dynos/{_p(dyno_id)}")

    def create_log_session(
        self,
        app: str,
        *,
        lines: int | None = None,
        tail: bool = False,
        source: str | None = None,
        dyno_name: str | None = None,
    ) -> LogSession:
        """A ``logplex_url`` to read with ``stream_lines(url, reconnect=False)``."""
        body: dict[str, Any] = {"tail": tail}
        if lines is not None:
            body["lines"] = lines
        if source:
            body["source"] = source
        if dyno_name:
            body["dyno_name"] = dyno_name
        return self._one(LogSession, "POST", f"/apps/{_p(app)}/log-sessions", json=body)

    def stream_lines(
        self, url: str, *, reconnect: bool = True, deadline: float | None = None
    ) -> Iterator[str]:
        """Lines of an ``output_stream_url`` / ``logplex_url`` as they arrive; ``deadline``
        (seconds) bounds the whole stream (None: until it ends, e.g. ``logs --tail``)."""
        return self._t.stream_lines(url, reconnect=reconnect, deadline=deadline)
