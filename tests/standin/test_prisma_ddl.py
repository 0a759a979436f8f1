"""The Prisma emulation's schema reader and DDL: the real app's schema.prisma gives exactly
the catalogue's schema.sql, and each schema feature the emulation supports is written as
Prisma writes it."""

from __future__ import annotations

import pytest

from keycliq_ops.standin.prisma.ddl import create_statements, migration_sql, target
from keycliq_ops.standin.prisma.schema_parse import SchemaError, parse_schema
from keycliq_ops.standin.sample.repo import SCHEMA_SQL, app_schema_prisma, migrations


def _normal(sql: str) -> list[str]:
    body = "\n".join(ln for ln in sql.splitlines() if not ln.lstrip().startswith("--"))
    return [" ".join(s.split()) + ";" for s in body.split(";") if s.strip()]


def test_the_apps_schema_gives_schema_sql_statement_by_statement() -> None:
    generated = [
        " ".join(s.sql.split()) for s in create_statements(parse_schema(app_schema_prisma()))
    ]
    expected = _normal(SCHEMA_SQL.read_text(encoding="utf-8"))
    assert len(generated) == len(expected) == 26
    for mine, theirs in zip(generated, expected, strict=True):
        assert mine == theirs


def test_the_samples_two_migrations_together_are_schema_sql() -> None:
    init_sql, index_sql = migrations()
    assert _normal(init_sql) + _normal(index_sql) != []
    assert sorted(_normal(init_sql) + _normal(index_sql)) == sorted(
        _normal(SCHEMA_SQL.read_text(encoding="utf-8"))
    )
    assert [ln for ln in index_sql.splitlines() if ln.startswith("-- ")] == ["-- CreateIndex"] * 7
    kinds = [ln for ln in init_sql.splitlines() if ln.startswith("-- ")]
    assert (
        kinds
        == ["-- CreateEnum"]
        + ["-- CreateTable"] * 7
        + ["-- CreateIndex"] * 2
        + ["-- AddForeignKey"] * 9
    )


def test_migration_sql_is_prismas_file_format() -> None:
    init_sql, _ = migrations()
    assert init_sql.startswith("-- CreateEnum\nCREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');\n\n")
    assert init_sql.endswith("ON DELETE SET NULL ON UPDATE CASCADE;\n")
    assert '    "updatedAt" TIMESTAMP(3) NOT NULL,\n\n    CONSTRAINT "User_pkey"' in init_sql


FEATURES = """
// a comment line
datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// documentation comment
model Account {
  id        Int      @id @default(autoincrement())
  big       BigInt   @default(5)
  price     Decimal?
  ratio     Float    @default(0.5)
  active    Boolean  @default(true)
  blob      Bytes?
  data      Json     @default("{}")
  homepage  String   @default("http://example.com/a//b") // not a comment inside
  tags      String[]
  level     Level    @default(LOW)
  code      String   @unique(map: "account_code_unique") @db.VarChar(12)
  uid       String   @default(uuid()) @db.Uuid
  createdAt DateTime @default(now()) @map("created_at") @db.Timestamptz(6)
  owner     Owner    @relation(fields: [ownerId], references: [id],
                               onDelete: Restrict, onUpdate: NoAction)
  ownerId   String   @map("owner_id")
  parent    Account? @relation("tree", fields: [parentId], references: [id])
  parentId  Int?
  children  Account[] @relation("tree")

  @@unique([ownerId, code])
  @@index([createdAt(sort: Desc), level])
  @@map("accounts")
}

model Owner {
  first    String
  last     String
  id       String    @unique
  accounts Account[]

  @@id([first, last])
}

enum Level {
  LOW
  HIGH @map("high")

  @@map("level")
}
"""


def test_every_supported_feature_is_written_as_prisma_writes_it() -> None:
    sql = [s.sql for s in create_statements(parse_schema(FEATURES))]
    assert sql[0] == "CREATE TYPE \"level\" AS ENUM ('LOW', 'high');"
    table = sql[1]
    for line in (
        '"id" SERIAL NOT NULL,',
        '"big" BIGINT NOT NULL DEFAULT 5,',
        '"price" DECIMAL(65,30),',
        '"ratio" DOUBLE PRECISION NOT NULL DEFAULT 0.5,',
        '"active" BOOLEAN NOT NULL DEFAULT true,',
        '"blob" BYTEA,',
        "\"data\" JSONB NOT NULL DEFAULT '{}',",
        "\"homepage\" TEXT NOT NULL DEFAULT 'http://example.com/a//b',",
        '"tags" TEXT[],',
        '"level" "level" NOT NULL DEFAULT \'LOW\',',
        '"code" VARCHAR(12) NOT NULL,',
        '"uid" UUID NOT NULL,',
        '"created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,',
        '"owner_id" TEXT NOT NULL,',
        '"parentId" INTEGER,',
        'CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")',
    ):
        assert line in table, line
    assert table.startswith('CREATE TABLE "accounts" (')
    assert 'CONSTRAINT "Owner_pkey" PRIMARY KEY ("first", "last")' in sql[2]
    assert sql[3:] == [
        'CREATE UNIQUE INDEX "account_code_unique" ON "accounts"("code");',
        'CREATE UNIQUE INDEX "accounts_owner_id_code_key" ON "accounts"("owner_id", "code");',
        'CREATE INDEX "accounts_created_at_level_idx" ON "accounts"("created_at" DESC, "level");',
        'CREATE UNIQUE INDEX "Owner_id_key" ON "Owner"("id");',
        'ALTER TABLE "accounts" ADD CONSTRAINT "accounts_owner_id_fkey" FOREIGN KEY ("owner_id") '
        'REFERENCES "Owner"("id") ON DELETE RESTRICT ON UPDATE NO ACTION;',
        'ALTER TABLE "accounts" ADD CONSTRAINT "accounts_parentId_fkey" FOREIGN KEY ("parentId") '
        'REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;',
    ]


def test_long_names_are_cut_to_63_characters_as_prisma_cuts_them() -> None:
    schema = parse_schema(
        "model VeryLongModelNameForTesting {\n  id Int @id\n"
        "  anExtremelyLongColumnNameThatGoesOnAndOn String\n"
        "  @@index([anExtremelyLongColumnNameThatGoesOnAndOn])\n}\n"
    )
    (index,) = target(schema).indexes
    assert len(index.name) == 63 and index.name.endswith("_idx")
    assert index.name.startswith("VeryLongModelNameForTesting_anExtremelyLong")


def test_a_required_relation_without_ondelete_restricts() -> None:
    schema = parse_schema(
        "model A {\n  id String @id\n  bs B[]\n}\n"
        "model B {\n  id String @id\n  aId String\n"
        "  a A @relation(fields: [aId], references: [id])\n}\n"
    )
    (fk,) = target(schema).foreign_keys
    assert (fk.on_delete, fk.on_update) == ("RESTRICT", "CASCADE")
    assert migration_sql(create_statements(schema)).count("-- AddForeignKey") == 1


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("model A {\n  id String @id\n  b Nope\n}\n", 3, 'Type "Nope" is neither'),
        ("model A {\n  id String @id\n  x\n}\n", 3, "has no type"),
        ("modle A {\n}\n", 1, "not a valid definition"),
        ("model A {\n  id String @id @default(\n}\n", 3, "unexpected"),
    ],
)
def test_a_schema_error_names_its_line(text: str, line: int, says: str) -> None:
    with pytest.raises(SchemaError, match=says) as raised:
        parse_schema(text)
    assert raised.value.line == line
