"""The stand-in's apps reach their database as Heroku's do: a role of their own that owns
the database and is not a superuser, so tests meet production's privileges."""

from __future__ import annotations

import psycopg
import pytest

from tests.world import World


def test_an_apps_database_url_is_not_a_superuser(world: World) -> None:
    with psycopg.connect(world.database_url()) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, current_user,"
            " pg_get_userbyid(d.datdba) FROM pg_roles r, pg_database d"
            " WHERE r.rolname = current_user AND d.datname = current_database()"
        ).fetchone()
    assert row is not None
    superuser, createdb, createrole, user, owner = row
    assert (superuser, createdb, createrole) == (False, False, False)
    assert owner == user  # it owns its database, as on Heroku Postgres


def test_what_a_superuser_could_do_is_refused(world: World) -> None:
    with psycopg.connect(world.database_url(), autocommit=True) as conn:
        for statement in (
            "COPY (SELECT 1) TO PROGRAM 'true'",
            "SELECT pg_read_file('postgresql.conf')",
            "SELECT pg_reload_conf()",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_the_other_apps_database_is_out_of_reach(world: World) -> None:
    staging = psycopg.conninfo.conninfo_to_dict(world.database_url())
    production = psycopg.conninfo.conninfo_to_dict(world.database_url("keycliq-production"))
    assert staging["user"] != production["user"]
    intruder = {**production, "user": staging["user"], "password": staging["password"]}
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(**intruder).close()  # type: ignore[arg-type]
