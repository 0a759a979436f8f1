"""``prisma db push``: bring a live database in line with ``schema.prisma``, as Prisma does.

The database's ``public`` schema (or the URL's ``?schema=``) is introspected from
``pg_catalog`` (enums, tables, columns, defaults, primary keys, indexes, foreign keys;
``_prisma_migrations`` is not Prisma's to push) and compared with
:func:`~.ddl.target`. The differences become Prisma's steps (``CreateEnum``/``AlterEnum``,
``DropForeignKey``, ``DropIndex``, ``AlterTable``, ``DropTable``, ``CreateTable``,
``CreateIndex``, ``AddForeignKey``, ``DropEnum``; renames for indexes and constraints whose
only change is the name). Steps that lose data are *warnings* (Prisma's texts: dropping a
non-empty table or a column with values, a cast, removed enum values, a new unique index
on a table with rows), refused without ``--accept-data-loss``; steps that cannot run at
all (a required column without a default on a table with rows; making a column with NULLs
required) are *unexecutable* and refused unless ``--force-reset``.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from keycliq_ops.standin.prisma.context import (
    Ctx,
    Datasource,
    PrismaExit,
    datasource,
    db_error,
    is_db_error,
    load,
    open_database,
    print_datasource,
)
from keycliq_ops.standin.prisma.ddl import (
    Column,
    ForeignKey,
    Index,
    Statement,
    Table,
    Target,
    literal,
    quote,
    quote_list,
    target,
)

_ACTION_CODES = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}


# ------------------------------------------------------------------ introspection
@dataclass(frozen=True)
class DbColumn:
    name: str
    pg_type: str  # format_type(): text, timestamp(3) without time zone, "Role", text[]
    not_null: bool
    default: str | None  # pg_get_expr()
    enum: str | None  # the enum type's name


@dataclass(frozen=True)
class DbIndex:
    name: str
    table: str
    columns: tuple[tuple[str, bool], ...]
    unique: bool
    constraint: bool  # backs a UNIQUE constraint (dropped with ALTER TABLE … DROP CONSTRAINT)
    plain: bool  # only columns, no expression, no predicate


@dataclass
class DbTable:
    name: str
    columns: list[DbColumn] = field(default_factory=list)
    pk_name: str | None = None
    pk_columns: tuple[str, ...] = ()

    def column(self, name: str) -> DbColumn | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass
class DbSchema:
    enums: dict[str, list[str]] = field(default_factory=dict)
    tables: dict[str, DbTable] = field(default_factory=dict)
    indexes: list[DbIndex] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


def introspect(conn: Any, namespace: str = "public") -> DbSchema:
    """The Prisma-relevant shape of ``namespace`` in the connected database."""
    out = DbSchema()
    for name, labels in conn.execute(
        "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
        "FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid "
        "JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = %s "
        "GROUP BY t.typname ORDER BY t.typname",
        (namespace,),
    ).fetchall():
        out.enums[name] = list(labels)
    for (name,) in conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations' "
        "ORDER BY c.relname",
        (namespace,),
    ).fetchall():
        out.tables[name] = DbTable(name)
    for table, name, pg_type, not_null, default, typtype, typname in conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), t.typtype, t.typname "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        (namespace,),
    ).fetchall():
        if table in out.tables:
            enum = typname if typtype == "e" else None
            if enum is None and typname.startswith("_") and typname[1:] in out.enums:
                enum = typname[1:]
            out.tables[table].columns.append(DbColumn(name, pg_type, not_null, default, enum))
    for table, conname, contype, cols, ref_table, ref_cols, deltype, updtype in conn.execute(
        "SELECT c.relname, con.conname, con.contype, "
        "array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o), "
        "rc.relname, "
        "array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o), "
        "con.confdeltype, con.confupdtype "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_class rc ON rc.oid = con.confrelid "
        "WHERE n.nspname = %s AND con.contype IN ('p', 'f') ORDER BY c.relname, con.conname",
        (namespace,),
    ).fetchall():
        if table not in out.tables:
            continue
        if contype == "p":
            out.tables[table].pk_name = conname
            out.tables[table].pk_columns = tuple(cols)
        else:
            out.foreign_keys.append(
                ForeignKey(
                    conname,
                    table,
                    tuple(cols),
                    ref_table,
                    tuple(ref_cols),
                    _ACTION_CODES.get(deltype, "NO ACTION"),
                    _ACTION_CODES.get(updtype, "NO ACTION"),
                )
            )
    for table, name, unique, constraint, cols, descs, plain in conn.execute(
        "SELECT t.relname, i.relname, ix.indisunique, "
        "EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid "
        "        AND con.contype = 'u'), "
        "array(SELECT coalesce(a.attname, '') FROM unnest(ix.indkey) WITH ORDINALITY k(n, o) "
        "      LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), "
        "array(SELECT (ix.indoption[k.o - 1] & 1) = 1 FROM unnest(ix.indkey) "
        "      WITH ORDINALITY k(n, o) ORDER BY k.o), "
        "ix.indpred IS NULL AND ix.indexprs IS NULL "
        "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
        "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = %s AND NOT ix.indisprimary ORDER BY t.relname, i.relname",
        (namespace,),
    ).fetchall():
        if table in out.tables:
            out.indexes.append(
                DbIndex(
                    name,
                    table,
                    tuple(zip(cols, descs, strict=True)),
                    unique,
                    constraint,
                    plain,
                )
            )
    return out


# ---------------------------------------------------------------------- comparing
_TYPE_NAMES = {
    "TEXT": "text",
    "INTEGER": "integer",
    "SERIAL": "integer",
    "BIGINT": "bigint",
    "BIGSERIAL": "bigint",
    "SMALLINT": "smallint",
    "SMALLSERIAL": "smallint",
    "DOUBLE PRECISION": "double precision",
    "REAL": "real",
    "BOOLEAN": "boolean",
    "JSONB": "jsonb",
    "JSON": "json",
    "BYTEA": "bytea",
    "UUID": "uuid",
    "DATE": "date",
    "CITEXT": "citext",
    "XML": "xml",
    "INET": "inet",
    "MONEY": "money",
    "OID": "oid",
}


def pg_type_name(sql_type: str) -> str:
    """The ``format_type()`` spelling of a type as Prisma writes it in DDL."""
    base, is_list = (sql_type[:-2], True) if sql_type.endswith("[]") else (sql_type, False)
    m = re.fullmatch(r"([A-Z ]+?)(?:\((\d+(?:,\d+)?)\))?", base)
    if base.startswith('"'):
        name = base
    elif m is None:
        name = base.lower()
    else:
        word, args = m.group(1), m.group(2)
        suffix = f"({args})" if args else ""
        if word in ("TIMESTAMP", "TIMESTAMPTZ", "TIME", "TIMETZ"):
            zone = "with time zone" if word.endswith("TZ") else "without time zone"
            kind = "timestamp" if word.startswith("TIMESTAMP") else "time"
            name = f"{kind}{suffix} {zone}"
        elif word == "DECIMAL":
            name = f"numeric{suffix}"
        elif word == "VARCHAR":
            name = f"character varying{suffix}"
        elif word == "CHAR":
            name = f"character{suffix or '(1)'}"
        elif word in ("BIT", "VARBIT"):
            name = ("bit" if word == "BIT" else "bit varying") + suffix
        else:
            name = _TYPE_NAMES.get(word, word.lower()) + suffix
    return name + ("[]" if is_list else "")


def _same_type(want: Column, have: DbColumn) -> bool:
    if want.enum is not None or have.enum is not None:
        is_list = want.sql_type.endswith("[]") == have.pg_type.endswith("[]")
        return want.enum == have.enum and is_list
    return pg_type_name(want.sql_type) == have.pg_type


_CAST = re.compile(r"^(.*?)(::[\w\" \[\]().,]+)+$", re.S)


def _normal_default(expr: str | None) -> str | None:
    if expr is None:
        return None
    if expr.startswith("nextval("):
        return "autoincrement"
    m = _CAST.match(expr)
    out = m.group(1) if m and not expr.startswith("ARRAY[") else expr
    if out.startswith("(") and out.endswith(")") and out.count("(") == 1:
        out = out[1:-1]
    return out.strip()


def _want_default(col: Column) -> str | None:
    if col.sql_type.endswith("SERIAL"):
        return "autoincrement"
    if col.default is None:
        return None
    if col.default.startswith("ARRAY["):
        return _normal_default(col.default)
    return col.default


def _same_index(want: Index, have: DbIndex) -> bool:
    return have.plain and want.columns == have.columns and want.unique == have.unique


def _same_fk(want: ForeignKey, have: ForeignKey) -> bool:
    return (
        want.table == have.table
        and want.columns == have.columns
        and want.ref_table == have.ref_table
        and want.ref_columns == have.ref_columns
        and want.on_delete == have.on_delete
        and want.on_update == have.on_update
    )


# ------------------------------------------------------------------------- the plan
@dataclass
class Plan:
    steps: list[Statement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unexecutable: list[str] = field(default_factory=list)


class _Counter:
    """Row and value counts of the live tables, asked once each."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._rows: dict[str, int] = {}

    def rows(self, table: str) -> int:
        if table not in self._rows:
            row = self.conn.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
            self._rows[table] = int(row[0]) if row else 0
        return self._rows[table]

    def non_null(self, table: str, column: str) -> int:
        if self.rows(table) == 0:
            return 0
        row = self.conn.execute(f"SELECT count({quote(column)}) FROM {quote(table)}").fetchone()
        return int(row[0]) if row else 0


def plan(want: Target, have: DbSchema, counter: _Counter) -> Plan:
    """The steps from ``have`` to ``want``, with Prisma's warnings and refusals."""
    out = Plan()
    enum_steps: list[Statement] = []
    drop_fks: list[Statement] = []
    drop_indexes: list[Statement] = []
    renames: list[Statement] = []
    alter_tables: list[Statement] = []
    drop_tables: list[Statement] = []
    create_tables: list[Statement] = []
    create_indexes: list[Statement] = []
    add_fks: list[Statement] = []
    drop_enums: list[Statement] = []

    # enums ---------------------------------------------------------------------------
    enum_users: dict[str, list[tuple[str, DbColumn]]] = defaultdict(list)
    for db_table in have.tables.values():
        for db_col in db_table.columns:
            if db_col.enum:
                enum_users[db_col.enum].append((db_table.name, db_col))
    for enum in want.enums:
        labels = have.enums.get(enum.name)
        if labels is None:
            enum_steps.append(Statement("CreateEnum", enum.ddl()))
            continue
        removed = [v for v in labels if v not in enum.values]
        if removed:
            out.warnings.append(
                f"The values [{','.join(removed)}] on the enum `{enum.name}` will be removed. "
                "If these variants are still used in the database, this will fail."
            )
            enum_steps.append(
                Statement("AlterEnum", _recreate_enum(enum.name, enum.values, enum_users, want))
            )
        else:
            for value in (v for v in enum.values if v not in labels):
                enum_steps.append(
                    Statement(
                        "AlterEnum", f"ALTER TYPE {quote(enum.name)} ADD VALUE {literal(value)};"
                    )
                )
    wanted_enums = {e.name for e in want.enums}
    for name in have.enums:
        if name not in wanted_enums:
            drop_enums.append(Statement("DropEnum", f"DROP TYPE {quote(name)};"))

    # foreign keys that go (before the columns and indexes they hold on to) ---------------
    kept_fks: set[str] = set()
    for fk in have.foreign_keys:
        same_name = next((w for w in want.foreign_keys if w.name == fk.name), None)
        if same_name is not None and _same_fk(same_name, fk):
            kept_fks.add(fk.name)
            continue
        renamed_fk = next(
            (
                w
                for w in want.foreign_keys
                if _same_fk(w, fk)
                and w.name not in kept_fks
                and not any(h.name == w.name for h in have.foreign_keys)
            ),
            None,
        )
        if renamed_fk is not None:
            kept_fks.add(renamed_fk.name)
            renames.append(
                Statement(
                    "RenameForeignKey",
                    f"ALTER TABLE {quote(fk.table)} RENAME CONSTRAINT {quote(fk.name)} "
                    f"TO {quote(renamed_fk.name)};",
                )
            )
            continue
        if fk.table in have.tables:
            drop_fks.append(
                Statement(
                    "DropForeignKey",
                    f"ALTER TABLE {quote(fk.table)} DROP CONSTRAINT {quote(fk.name)};",
                )
            )

    # tables ----------------------------------------------------------------------------
    wanted_tables = {t.name for t in want.tables}
    for name in have.tables:
        if name not in wanted_tables:
            rows = counter.rows(name)
            if rows:
                out.warnings.append(
                    f"You are about to drop the `{name}` table, which is not empty ({rows} rows)."
                )
            drop_tables.append(Statement("DropTable", f"DROP TABLE {quote(name)};"))
    for table in want.tables:
        current = have.tables.get(table.name)
        if current is None:
            create_tables.append(Statement("CreateTable", table.ddl()))
            continue
        clauses, pk_steps = _alter_table(table, current, counter, out)
        if clauses:
            alter_tables.append(
                Statement(
                    "AlterTable", f"ALTER TABLE {quote(table.name)} " + ",\n".join(clauses) + ";"
                )
            )
        renames.extend(pk_steps)

    # indexes ---------------------------------------------------------------------------
    kept: set[str] = set()
    for idx in have.indexes:
        if idx.table not in wanted_tables:
            continue  # goes with its table
        same = next((w for w in want.indexes if w.name == idx.name), None)
        if same is not None and _same_index(same, idx):
            kept.add(idx.name)
            continue
        renamed = next(
            (
                w
                for w in want.indexes
                if w.table == idx.table
                and _same_index(w, idx)
                and w.name not in kept
                and not any(h.name == w.name for h in have.indexes)
            ),
            None,
        )
        if renamed is not None and not idx.constraint:
            kept.add(renamed.name)
            renames.append(
                Statement(
                    "RenameIndex", f"ALTER INDEX {quote(idx.name)} RENAME TO {quote(renamed.name)};"
                )
            )
            continue
        if idx.constraint:
            sql = f"ALTER TABLE {quote(idx.table)} DROP CONSTRAINT {quote(idx.name)};"
        else:
            sql = f"DROP INDEX {quote(idx.name)};"
        drop_indexes.append(Statement("DropIndex", sql))
    for want_idx in want.indexes:
        if want_idx.name in kept:
            continue
        existing_table = want_idx.table in have.tables
        if want_idx.unique and existing_table and counter.rows(want_idx.table):
            cols = ",".join(c for c, _ in want_idx.columns)
            out.warnings.append(
                f"A unique constraint covering the columns `[{cols}]` on the table "
                f"`{want_idx.table}` will be added. If there are existing duplicate values, "
                "this will fail."
            )
        create_indexes.append(Statement("CreateIndex", want_idx.ddl()))

    for want_fk in want.foreign_keys:
        if want_fk.name not in kept_fks:
            add_fks.append(Statement("AddForeignKey", want_fk.ddl()))

    out.steps = (
        enum_steps
        + drop_fks
        + drop_indexes
        + renames
        + alter_tables
        + drop_tables
        + create_tables
        + create_indexes
        + add_fks
        + drop_enums
    )
    return out


def _recreate_enum(
    name: str,
    values: list[str],
    users: dict[str, list[tuple[str, DbColumn]]],
    want: Target,
) -> str:
    """Prisma's way of removing enum values: a new type, the columns cast, renames."""
    new = f"{name}_new"
    lines = [
        "BEGIN;",
        f"CREATE TYPE {quote(new)} AS ENUM ({', '.join(literal(v) for v in values)});",
    ]
    restore: list[str] = []
    for table, col in users.get(name, []):
        wanted = want.table(table)
        wanted_col = wanted.column(col.name) if wanted else None
        if wanted_col is None or wanted_col.enum != name:
            continue  # the column goes or changes type in its own step
        if col.default is not None:
            lines.append(f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(col.name)} DROP DEFAULT;")
        suffix = "[]" if col.pg_type.endswith("[]") else ""
        lines.append(
            f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(col.name)} TYPE {quote(new)}{suffix} "
            f"USING ({quote(col.name)}::text{suffix}::{quote(new)}{suffix});"
        )
        if wanted_col.default is not None:
            restore.append(
                f"ALTER TABLE {quote(table)} ALTER COLUMN {quote(col.name)} "
                f"SET DEFAULT {wanted_col.default};"
            )
    lines += [
        f"ALTER TYPE {quote(name)} RENAME TO {quote(name + '_old')};",
        f"ALTER TYPE {quote(new)} RENAME TO {quote(name)};",
        f"DROP TYPE {quote(name + '_old')};",
        *restore,
        "COMMIT;",
    ]
    return "\n".join(lines)


def _alter_table(
    table: Table, current: DbTable, counter: _Counter, out: Plan
) -> tuple[list[str], list[Statement]]:
    drops: list[str] = []
    adds: list[str] = []
    alters: list[str] = []
    pk_steps: list[Statement] = []
    wanted = {c.name for c in table.columns}
    for old in current.columns:
        if old.name not in wanted:
            values = counter.non_null(table.name, old.name)
            if values:
                out.warnings.append(
                    f"You are about to drop the column `{old.name}` on the `{table.name}` "
                    f"table, which still contains {values} non-null values."
                )
            drops.append(f"DROP COLUMN {quote(old.name)}")
    if current.pk_columns and current.pk_columns != table.pk_columns and current.pk_name:
        drops.insert(0, f"DROP CONSTRAINT {quote(current.pk_name)}")
    for col in table.columns:
        have = current.column(col.name)
        if have is None:
            rows = counter.rows(table.name)
            if (
                col.not_null
                and col.default is None
                and not col.sql_type.endswith("SERIAL")
                and rows
            ):
                out.unexecutable.append(
                    f"Added the required column `{col.name}` to the `{table.name}` table without "
                    f"a default value. There are {rows} rows in this table, it is not possible "
                    "to execute this step."
                )
            adds.append(f"ADD COLUMN {col.ddl()}")
            continue
        name = quote(col.name)
        type_changed = not _same_type(col, have)
        want_default = _want_default(col)
        have_default = _normal_default(have.default)
        if type_changed:
            values = counter.non_null(table.name, col.name)
            if values:
                out.warnings.append(
                    f"You are about to alter the column `{col.name}` on the `{table.name}` "
                    f"table, which contains {values} non-null values. The data in that column "
                    f"will be cast from `{have.pg_type}` to `{pg_type_name(col.sql_type)}`."
                )
            if have.default is not None:
                alters.append(f"ALTER COLUMN {name} DROP DEFAULT")
            sql_type = {"SERIAL": "INTEGER", "BIGSERIAL": "BIGINT", "SMALLSERIAL": "SMALLINT"}.get(
                col.sql_type, col.sql_type
            )
            via = f"{name}::text::{sql_type}" if col.enum else f"{name}::{sql_type}"
            alters.append(f"ALTER COLUMN {name} SET DATA TYPE {sql_type} USING ({via})")
            if col.default is not None:
                alters.append(f"ALTER COLUMN {name} SET DEFAULT {col.default}")
        elif want_default not in (have_default, "autoincrement"):
            if col.default is None:
                alters.append(f"ALTER COLUMN {name} DROP DEFAULT")
            else:
                alters.append(f"ALTER COLUMN {name} SET DEFAULT {col.default}")
        if col.not_null and not have.not_null:
            nulls = counter.rows(table.name) - counter.non_null(table.name, col.name)
            if nulls:
                out.unexecutable.append(
                    f"Made the column `{col.name}` on table `{table.name}` required, but there "
                    f"are {nulls} existing NULL values."
                )
            alters.append(f"ALTER COLUMN {name} SET NOT NULL")
        elif not col.not_null and have.not_null and col.name not in table.pk_columns:
            alters.append(f"ALTER COLUMN {name} DROP NOT NULL")
    if table.pk_columns and table.pk_columns != current.pk_columns:
        adds.append(
            f"ADD CONSTRAINT {quote(table.pk_name or '')} "
            f"PRIMARY KEY ({quote_list(table.pk_columns)})"
        )
    elif table.pk_columns and current.pk_name and table.pk_name != current.pk_name:
        pk_steps.append(
            Statement(
                "RenamePrimaryKey",
                f"ALTER TABLE {quote(table.name)} RENAME CONSTRAINT {quote(current.pk_name)} "
                f"TO {quote(table.pk_name or '')};",
            )
        )
    return drops + adds + alters, pk_steps


# ------------------------------------------------------------------------ the command
def db_push(
    ctx: Ctx,
    schema_arg: str | None,
    *,
    accept_data_loss: bool,
    force_reset: bool,
    skip_generate: bool,
) -> int:
    schema, rel = load(ctx, schema_arg)
    ds = datasource(ctx, schema, rel)
    print_datasource(ctx, ds)
    want = target(schema)
    with open_database(ds) as conn:
        if force_reset:
            ctx.out()
            _reset(conn, ds)
            ctx.out(
                f'The PostgreSQL database "{ds.database}" schema "{ds.schema}" at '
                f'"{ds.location}" was successfully reset.'
            )
        before = time.monotonic()
        todo = plan(want, introspect(conn, ds.schema), _Counter(conn))
        if todo.unexecutable:
            ctx.out()
            items = "\n".join(f"  • {item}" for item in todo.unexecutable)
            raise PrismaExit(
                f"Error: \n⚠️ We found changes that cannot be executed:\n\n{items}\n\n"
                "You may use the --force-reset flag to drop the database before push like "
                f"{ctx.command('prisma db push --force-reset')}\nAll data will be lost.\n"
            )
        if todo.warnings:
            ctx.out()
            ctx.out("⚠️  There might be data loss when applying the changes:")
            ctx.out()
            for warning in todo.warnings:
                ctx.out(f"  • {warning}")
                ctx.out()
            ctx.out()
            if not accept_data_loss:
                raise PrismaExit(
                    "Error: Use the --accept-data-loss flag to ignore the data loss warnings "
                    f"like {ctx.command('prisma db push --accept-data-loss')}"
                )
        _execute(conn, todo.steps, ds)
        elapsed = int((time.monotonic() - before) * 1000)
    ctx.out()
    if not force_reset and not todo.warnings and not todo.steps:
        ctx.out("The database is already in sync with the Prisma schema.")
    else:
        ctx.out(f"🚀  Your database is now in sync with your Prisma schema. Done in {_ms(elapsed)}")
    if not skip_generate and not ctx.env.get("PRISMA_MIGRATE_SKIP_GENERATE"):
        ctx.out()
        ctx.out(generated_line(ctx))
        ctx.out()
    return 0


def generated_line(ctx: Ctx) -> str:
    from keycliq_ops.standin.prisma.context import PRISMA_VERSION

    return f"✔ Generated Prisma Client (v{PRISMA_VERSION}) to ./node_modules/@prisma/client in 0ms"


def _ms(ms: int) -> str:
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.2f}s"


def _reset(conn: Any, ds: Datasource) -> None:
    conn.execute(f"DROP SCHEMA IF EXISTS {quote(ds.schema)} CASCADE")
    conn.execute(f"CREATE SCHEMA {quote(ds.schema)}")


def _execute(conn: Any, steps: list[Statement], ds: Datasource) -> None:
    if ds.schema != "public":
        conn.execute(f"SET search_path TO {quote(ds.schema)}")
    for step in steps:
        try:
            conn.execute(step.sql)
        except Exception as exc:
            if not is_db_error(exc):
                raise
            _, message = db_error(exc)
            raise PrismaExit(f"Error: {message}") from None


def migrate_diff(
    ctx: Ctx, from_url: str | None, to_schema: str | None, *, exit_code: bool, script: bool
) -> int:
    """``prisma migrate diff --from-url URL --to-schema-datamodel FILE``: what it would
    take to bring the database to the schema, changing nothing. ``--exit-code``: 0 empty,
    2 a difference (1 an error, as Prisma)."""
    from keycliq_ops.standin.prisma.context import url_datasource

    if not from_url or not to_schema:
        raise PrismaExit(
            "Error: this emulation supports `prisma migrate diff --from-url URL "
            "--to-schema-datamodel FILE [--exit-code] [--script]`"
        )
    schema, _ = load(ctx, to_schema)
    ds = url_datasource(from_url)
    want = target(schema)
    with open_database(ds) as conn:
        todo = plan(want, introspect(conn, ds.schema), _Counter(conn))
    changes = [*todo.steps]
    if not changes and not todo.unexecutable:
        ctx.out("-- This is an empty migration." if script else "No difference detected.")
        return 0
    if script:
        for step in changes:
            ctx.out(f"-- {step.kind}\n{step.sql}\n")
    else:
        kinds: dict[str, int] = {}
        for step in changes:
            kinds[step.kind] = kinds.get(step.kind, 0) + 1
        for kind, count in kinds.items():
            ctx.out(f"[*] {kind} ×{count}")
        for item in todo.unexecutable:
            ctx.out(f"[!] {item}")
    return 2 if exit_code else 0
