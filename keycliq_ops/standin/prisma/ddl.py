"""A parsed schema as PostgreSQL objects, and the DDL Prisma writes for them.

:func:`target` turns a :class:`~.schema_parse.Schema` into what the database must hold:
enums, tables (columns with Prisma's types, nullability and defaults; the primary key),
indexes and unique indexes, foreign keys, each with Prisma's default names
(``<table>_pkey``, ``<table>_<cols>_key|idx|fkey``, cut to PostgreSQL's 63 characters).
:func:`create_statements` is ``prisma migrate diff --from-empty --to-schema-datamodel``:
``-- CreateEnum``, ``-- CreateTable``, ``-- CreateIndex``, ``-- AddForeignKey`` in Prisma's
order; :func:`migration_sql` renders statements as a ``migration.sql`` file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from keycliq_ops.standin.prisma.schema_parse import (
    SCALARS,
    Attribute,
    Call,
    Expr,
    Field,
    Ident,
    ListExpr,
    Model,
    Num,
    Schema,
    SchemaError,
    Str,
)

MAX_NAME = 63

_SCALAR_SQL = {
    "String": "TEXT",
    "Int": "INTEGER",
    "BigInt": "BIGINT",
    "Float": "DOUBLE PRECISION",
    "Decimal": "DECIMAL(65,30)",
    "Boolean": "BOOLEAN",
    "DateTime": "TIMESTAMP(3)",
    "Json": "JSONB",
    "Bytes": "BYTEA",
}
# @db.X native types: the SQL Prisma writes (arguments appended as written).
_NATIVE_SQL = {
    "Text": "TEXT",
    "VarChar": "VARCHAR",
    "Char": "CHAR",
    "Uuid": "UUID",
    "Citext": "CITEXT",
    "Xml": "XML",
    "Inet": "INET",
    "Bit": "BIT",
    "VarBit": "VARBIT",
    "SmallInt": "SMALLINT",
    "Integer": "INTEGER",
    "BigInt": "BIGINT",
    "Oid": "OID",
    "Real": "REAL",
    "DoublePrecision": "DOUBLE PRECISION",
    "Decimal": "DECIMAL",
    "Money": "MONEY",
    "Boolean": "BOOLEAN",
    "Timestamp": "TIMESTAMP",
    "Timestamptz": "TIMESTAMPTZ",
    "Date": "DATE",
    "Time": "TIME",
    "Timetz": "TIMETZ",
    "Json": "JSON",
    "JsonB": "JSONB",
    "ByteA": "BYTEA",
}
_SERIAL = {"INTEGER": "SERIAL", "BIGINT": "BIGSERIAL", "SMALLINT": "SMALLSERIAL"}
_ACTIONS = {
    "Cascade": "CASCADE",
    "Restrict": "RESTRICT",
    "NoAction": "NO ACTION",
    "SetNull": "SET NULL",
    "SetDefault": "SET DEFAULT",
}
_CLIENT_DEFAULTS = ("cuid", "uuid", "nanoid", "ulid")


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # as Prisma writes it: TEXT, "Role", TIMESTAMP(3), SERIAL, TEXT[]
    not_null: bool
    default: str | None  # the SQL default expression, as Prisma writes it
    enum: str | None = None  # the enum type's name when the column is an enum
    prisma_type: str = ""

    def ddl(self) -> str:
        parts = [quote(self.name), self.sql_type]
        if self.not_null:
            parts.append("NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        return " ".join(parts)


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[tuple[str, bool], ...]  # (column, descending)
    unique: bool

    def ddl(self) -> str:
        cols = ", ".join(quote(c) + (" DESC" if desc else "") for c, desc in self.columns)
        kind = "UNIQUE INDEX" if self.unique else "INDEX"
        return f"CREATE {kind} {quote(self.name)} ON {quote(self.table)}({cols});"


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str
    on_update: str

    def ddl(self) -> str:
        return (
            f"ALTER TABLE {quote(self.table)} ADD CONSTRAINT {quote(self.name)} FOREIGN KEY "
            f"({quote_list(self.columns)}) REFERENCES {quote(self.ref_table)}"
            f"({quote_list(self.ref_columns)}) ON DELETE {self.on_delete} "
            f"ON UPDATE {self.on_update};"
        )


@dataclass
class Table:
    name: str
    columns: list[Column]
    pk_name: str | None
    pk_columns: tuple[str, ...]
    model: str = ""

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def ddl(self) -> str:
        lines = [f"    {c.ddl()}" for c in self.columns]
        if self.pk_name:
            body = ",\n".join(lines) + ",\n\n"
            body += (
                f"    CONSTRAINT {quote(self.pk_name)} PRIMARY KEY ({quote_list(self.pk_columns)})"
            )
        else:
            body = ",\n".join(lines)
        return f"CREATE TABLE {quote(self.name)} (\n{body}\n);"


@dataclass
class EnumType:
    name: str
    values: list[str]

    def ddl(self) -> str:
        values = ", ".join(literal(v) for v in self.values)
        return f"CREATE TYPE {quote(self.name)} AS ENUM ({values});"


@dataclass
class Target:
    enums: list[EnumType] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class Statement:
    kind: str  # CreateEnum, CreateTable, CreateIndex, AddForeignKey, AlterTable, …
    sql: str


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote(n) for n in names)


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def constraint_name(table: str, columns: list[str] | tuple[str, ...], suffix: str) -> str:
    """Prisma's default name, ``<table>_<col>_<col>_<suffix>``, cut to 63 characters."""
    prefix = "_".join([table, *columns])
    room = MAX_NAME - len(suffix) - 1
    return f"{prefix[:room]}_{suffix}"


def _str_arg(attr: Attribute | None, name: str) -> str | None:
    if attr is None:
        return None
    value = attr.arg(name, position=None)
    return value.value if isinstance(value, Str) else None


def _field_refs(expr: Expr | None, model: Model, line: int) -> list[tuple[str, bool]]:
    """``[a, b(sort: Desc)]`` → [(column of a, False), (column of b, True)]."""
    if not isinstance(expr, ListExpr):
        raise SchemaError("expected a list of fields, e.g. [a, b]", line)
    out: list[tuple[str, bool]] = []
    for item in expr.items:
        desc = False
        if isinstance(item, Call):
            sort = next((a.value for a in item.args if a.name == "sort"), None)
            desc = isinstance(sort, Ident) and sort.name == "Desc"
            name = item.name
        elif isinstance(item, Ident):
            name = item.name
        else:
            raise SchemaError("expected a field name", line)
        try:
            out.append((model.field(name).column, desc))
        except KeyError:
            raise SchemaError(
                f'The index definition refers to the unknown field "{name}" in model '
                f'"{model.name}".',
                line,
            ) from None
    return out


def _names(expr: Expr | None) -> list[str]:
    if isinstance(expr, ListExpr):
        return [i.name for i in expr.items if isinstance(i, Ident)]
    return []


def _column_type(f: Field, schema: Schema) -> tuple[str, str | None]:
    """(SQL type, enum type name or None) of a scalar or enum field."""
    enum = schema.enum(f.type_name)
    if enum is not None:
        sql, enum_name = quote(enum.db_name), enum.db_name
    else:
        sql, enum_name = _SCALAR_SQL[f.type_name], None
        native = next((a for a in f.attributes if a.name.startswith("db.")), None)
        if native is not None:
            base = _NATIVE_SQL.get(native.name[3:])
            if base is None:
                raise SchemaError(f"Native type {native.name[3:]} is not supported", native.line)
            args = [a.value.text for a in native.args if isinstance(a.value, Num)]
            sql = f"{base}({','.join(args)})" if args else base
    if f.is_list:
        sql += "[]"
    return sql, enum_name


def _default_sql(f: Field, schema: Schema, sql_type: str) -> tuple[str | None, bool]:
    """(the SQL default, whether the field is autoincrement)."""
    attr = f.attr("default")
    if attr is None:
        return None, False
    value = attr.arg("value")
    if isinstance(value, Call):
        if value.name == "now":
            return "CURRENT_TIMESTAMP", False
        if value.name == "autoincrement":
            return None, True
        if value.name in _CLIENT_DEFAULTS:
            return None, False
        if value.name == "dbgenerated":
            inner = value.args[0].value if value.args else None
            return (inner.value if isinstance(inner, Str) else None), False
        raise SchemaError(f"unknown default function {value.name}()", attr.line)
    return _literal_default(value, f, schema, sql_type, attr.line), False


def _literal_default(value: Expr | None, f: Field, schema: Schema, sql_type: str, line: int) -> str:
    if isinstance(value, Str):
        return literal(value.value)
    if isinstance(value, Num):
        return value.text
    if isinstance(value, Ident):
        enum = schema.enum(f.type_name)
        if enum is not None:
            match = next((v for v in enum.values if v.name == value.name), None)
            if match is None:
                raise SchemaError(
                    f"The defined default value `{value.name}` is not a valid value of the "
                    f"enum specified for the field.",
                    line,
                )
            return literal(match.db_name)
        if value.name in ("true", "false"):
            return value.name
    if isinstance(value, ListExpr):
        items = [_literal_default(i, f, schema, sql_type, line) for i in value.items]
        return f"ARRAY[{', '.join(items)}]::{sql_type}"
    raise SchemaError("unsupported default value", line)


def _is_relation(f: Field, schema: Schema) -> bool:
    return schema.model(f.type_name) is not None


def target(schema: Schema) -> Target:
    """What the database must hold for ``schema``, with Prisma's names."""
    out = Target()
    used_enums = {f.type_name for m in schema.models for f in m.fields}
    for enum in schema.enums:
        if enum.name in used_enums:
            out.enums.append(EnumType(enum.db_name, [v.db_name for v in enum.values]))
    uniques: list[Index] = []
    for model in schema.models:
        table = model.table
        columns: list[Column] = []
        pk_cols: list[str] = []
        pk_map: str | None = None
        model_indexes: list[Index] = []
        for f in model.fields:
            if _is_relation(f, schema):
                continue
            sql_type, enum_name = _column_type(f, schema)
            default, serial = _default_sql(f, schema, sql_type)
            if serial:
                sql_type = _SERIAL.get(sql_type, sql_type)
            columns.append(
                Column(
                    f.column,
                    sql_type,
                    not_null=not f.optional and not f.is_list,  # Prisma: lists nullable
                    default=default,
                    enum=enum_name,
                    prisma_type=f.type_name,
                )
            )
            id_attr = f.attr("id")
            if id_attr is not None:
                pk_cols = [f.column]
                pk_map = _str_arg(id_attr, "map")
            unique = f.attr("unique")
            if unique is not None:
                name = _str_arg(unique, "map") or constraint_name(table, [f.column], "key")
                model_indexes.append(Index(name, table, ((f.column, False),), unique=True))
        for attr in model.attributes:
            if attr.name == "id":
                pk_cols = [c for c, _ in _field_refs(attr.arg("fields"), model, attr.line)]
                pk_map = _str_arg(attr, "map")
            elif attr.name in ("index", "unique"):
                refs = _field_refs(attr.arg("fields"), model, attr.line)
                suffix = "key" if attr.name == "unique" else "idx"
                name = _str_arg(attr, "map") or constraint_name(table, [c for c, _ in refs], suffix)
                model_indexes.append(Index(name, table, tuple(refs), unique=attr.name == "unique"))
        pk_name = (pk_map or f"{table}_pkey"[:MAX_NAME]) if pk_cols else None
        out.tables.append(Table(table, columns, pk_name, tuple(pk_cols), model=model.name))
        uniques.extend(model_indexes)
    out.indexes = uniques
    for model in schema.models:
        for f in model.fields:
            relation = f.attr("relation")
            if relation is None or not _is_relation(f, schema):
                continue
            local = _names(relation.arg("fields", position=None))
            if not local:
                continue  # the other side of the relation holds the foreign key
            other = schema.model(f.type_name)
            assert other is not None
            ref_names = _names(relation.arg("references", position=None))
            cols = tuple(model.field(n).column for n in local)
            ref_cols = tuple(other.field(n).column for n in ref_names)
            on_delete = relation.arg("onDelete", position=None)
            on_update = relation.arg("onUpdate", position=None)
            any_optional = any(model.field(n).optional for n in local)
            delete = (
                _ACTIONS[on_delete.name]
                if isinstance(on_delete, Ident)
                else ("SET NULL" if any_optional else "RESTRICT")
            )
            update = _ACTIONS[on_update.name] if isinstance(on_update, Ident) else "CASCADE"
            name = _str_arg(relation, "map") or constraint_name(model.table, cols, "fkey")
            out.foreign_keys.append(
                ForeignKey(name, model.table, cols, other.table, ref_cols, delete, update)
            )
    return out


def create_statements(schema: Schema) -> list[Statement]:
    """The DDL that creates ``schema`` in an empty database, in Prisma's order."""
    t = target(schema)
    out = [Statement("CreateEnum", e.ddl()) for e in t.enums]
    out += [Statement("CreateTable", table.ddl()) for table in t.tables]
    out += [Statement("CreateIndex", i.ddl()) for i in t.indexes]
    out += [Statement("AddForeignKey", fk.ddl()) for fk in t.foreign_keys]
    return out


def migration_sql(statements: list[Statement]) -> str:
    """``statements`` as Prisma writes a ``migration.sql``: ``-- Kind`` above each."""
    return "\n".join(f"-- {s.kind}\n{s.sql}\n" for s in statements)


def is_scalar(type_name: str) -> bool:
    return type_name in SCALARS
