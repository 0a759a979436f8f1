"""``keycliq logs`` and ``keycliq watch`` on a Fir app (the ``fir_world``): no history to
show, sessions that Heroku closes and keycliq reopens, Heroku's ``heroku-*`` sources and
Fir's dyno names (``web-1234abcde-123ab``), over real log sessions of the stand-in."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from keycliq_ops.adapters.heroku.client import HerokuClient
from keycliq_ops.ops.logs import is_heroku_source, process_type, read_logs
from keycliq_ops.standin import applog
from tests.world import World

STAGING = "keycliq-staging"
USER = "cmhu2k1y70003l104q9xv3b2n"
KEY = applog.cuid("key of the e2e user")
FIR_DYNO = re.compile(r"^web-[0-9a-z]{9}-[0-9a-z]{5}$")


def _sessions(world: World) -> int:
    engine = world.sandbox.engine
    app_id = engine.app(STAGING).id
    with engine.lock:
        return sum(1 for s in engine.sessions.values() if s.app_id == app_id)


def _when(condition: Callable[[], bool], then: Callable[[], None]) -> threading.Thread:
    """Run ``then`` on a thread once ``condition`` holds (checked every 50 ms, 60 s at
    most): the app "writes" its lines once keycliq's log session is open."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        then()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_logs_on_fir_say_there_is_no_history(fir_world: World, cli) -> None:  # type: ignore[no-untyped-def]
    fir_world.sandbox.write_log(STAGING, "an earlier line Fir does not keep")
    result = cli("logs", "staging")
    assert result.code == 0, result
    assert result.stdout == ""
    assert "keycliq-staging is a Fir app: Heroku keeps no log history" in result.stderr
    summary = cli("logs", "staging", "--summary", "--json")
    assert summary.code == 0, summary
    doc = json.loads(summary.stdout)
    assert doc["history"] is False and doc["lines"] == 0 and "no log history" in doc["note"]


def test_watch_on_fir_reopens_closed_sessions_and_knows_herokus_sources(
    fir_world: World, cli: Any
) -> None:
    world = fir_world
    world.sandbox.engine.fir_log_session_seconds = 2.0  # Heroku: about 15 minutes
    before = _sessions(world)
    crashed = "State changed from up to crashed"

    def first() -> None:  # in the first session: Heroku's dyno line and the router's
        world.sandbox.write_log(STAGING, crashed, source="heroku", dyno="web.1")
        world.sandbox.write_log(
            STAGING, 'at=info path="/" status=503', source="heroku", dyno="router"
        )

    def second() -> None:  # after Heroku closed it and keycliq opened another one
        scan = applog.scan("OPENAI_FAILED", user_id=USER, key_ids=(KEY,))
        world.sandbox.write_log(STAGING, scan.text, source=scan.source, dyno=scan.dyno)

    threads = [
        _when(lambda: _sessions(world) > before, first),
        _when(lambda: _sessions(world) > before + 1, second),
    ]
    result = cli("watch", "staging", "--for", "10s", "--max", "http-5xx=0", "--json")
    for thread in threads:
        thread.join(timeout=60)
    assert result.code == 1, result
    doc = json.loads(result.stdout)
    assert doc["generation"] == "fir" and doc["history"] is False
    assert any("no log history" in note for note in doc["notes"])
    assert doc["since"] is None
    # `crashed` and `http-5xx` are Heroku-only kinds: heroku-dyno / heroku-router count.
    assert {b["kind"] for b in doc["breaches"]} >= {"crashed", "http-5xx", "openai-failed"}
    assert _sessions(world) >= before + 2  # reopened after the first session closed


def test_read_logs_on_fir_reads_fir_dyno_names(fir_world: World) -> None:
    world = fir_world
    before = _sessions(world)
    web = world.sandbox.dyno_name(STAGING, "web.1")
    assert FIR_DYNO.match(web), web

    def write() -> None:
        world.sandbox.write_log(STAGING, "hello from the web dyno")
        world.sandbox.write_log(STAGING, "at=info status=200", source="heroku", dyno="router")

    thread = _when(lambda: _sessions(world) > before, write)
    with HerokuClient.from_environment() as client:
        events = read_logs(client, STAGING, tail=True)
        got, router = next(events), next(events)
        if isinstance(events, Generator):
            events.close()
    thread.join(timeout=60)
    assert (got.source, got.dyno, got.message) == ("app", web, "hello from the web dyno")
    assert process_type(got.dyno) == "web"
    assert (router.source, router.dyno) == ("heroku-router", "router")
    assert is_heroku_source(router.source)


def test_fir_sources_classify_as_herokus_own() -> None:
    from keycliq_ops.ops.logs import Classifier

    c = Classifier()
    line = "2026-11-28T03:05:00.000000+00:00 heroku-router[router]: at=info status=503"
    event = c.event(line)
    assert (event.source, event.dyno, event.kind) == ("heroku-router", "router", "http-5xx")
    app = c.event("2026-11-28T03:05:00.000000+00:00 app[web-1234abcde-123ab]: x status=503")
    assert app.kind == "other" and process_type(app.dyno) == "web"
    crashed = c.event(
        "2026-11-28T03:05:00.000000+00:00 heroku-dyno[web-1234abcde-123ab]: "
        "State changed from up to crashed"
    )
    assert crashed.kind == "crashed"
    assert process_type("web.1") == "web" and process_type("router") == "router"
