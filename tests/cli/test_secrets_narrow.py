"""``keycliq secrets list`` at 80 columns into a pipe: every variable's name and its
(masked) value are printed whole, never cut with ``…`` nor broken across lines."""

from __future__ import annotations

import json

import pytest

from tests.world import World


@pytest.mark.parametrize("columns", ["80", "60", "200"])
def test_names_and_values_are_never_cut(  # type: ignore[no-untyped-def]
    world: World, cli, monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    listing = cli("secrets", "list", "staging", "--json")
    assert listing.code == 0, listing.output
    rows = json.loads(listing.stdout)["vars"]
    names = [row["name"] for row in rows]
    assert any(n.startswith("CLOUDINARY_A") for n in names), names  # the report's case
    done = cli("secrets", "list", "staging")
    assert done.code == 0, done.output
    # no row continues on a next line (a table row whose first cell is blank)
    assert not any(
        line.startswith("│ ") and line[2:].lstrip().startswith("│")
        for line in done.stdout.splitlines()
    ), done.stdout
    lines = done.stdout.splitlines()
    for row in rows:
        # the name and its value whole on one line
        assert any(row["name"] in line and row["value"] in line for line in lines), (
            row,
            done.stdout,
        )
