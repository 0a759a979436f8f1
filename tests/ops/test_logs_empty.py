"""``keycliq logs --only …`` with no matching line says so on stderr (exit 0), and stdout
stays empty for a pipe; with matches, nothing extra is said."""

from __future__ import annotations

import re

from tests.world import World

STAGING = "keycliq-staging"


def test_no_match_says_so_with_the_lines_read(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        world.sandbox.write_log(STAGING, f"GET /inventory 200 in {i}ms")
    done = cli("logs", "staging", "--only", "errors")
    assert done.code == 0, done.output
    assert done.stdout == ""
    found = re.search(
        r"no log lines matched --only errors \((\d+) lines? read from (\S+)\)", done.stderr
    )
    assert found, done.stderr
    assert int(found.group(1)) >= 3 and found.group(2) == STAGING
    as_json = cli("logs", "staging", "--only", "errors", "--json")
    assert as_json.code == 0 and as_json.stdout == ""
    assert "no log lines matched --only errors" in as_json.stderr


def test_a_match_prints_no_note(world: World, cli) -> None:  # type: ignore[no-untyped-def]
    world.sandbox.write_log(
        STAGING,
        'at=error code=H12 desc="Request timeout" method=GET path="/" '
        "host=keycliq-staging.herokuapp.com dyno=web.1 connect=1ms service=30000ms status=503",
        source="heroku",
        dyno="router",
    )
    done = cli("logs", "staging", "--only", "errors")
    assert done.code == 0, done.output
    assert "H12" in done.stdout
    assert "no log lines" not in done.stderr
