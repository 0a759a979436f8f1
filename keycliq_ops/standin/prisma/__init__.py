"""An offline emulation of the Prisma CLI for the stand-in's dynos.

Run as ``python -m keycliq_ops.standin.prisma <args>`` (the dyno's ``prisma`` and ``npx
prisma`` shims do that, see :mod:`keycliq_ops.standin.dynorunner`). It has Prisma's
observable behaviour for what a Heroku release of the KeyCliq app runs: ``migrate deploy``
and ``migrate status`` (the ``_prisma_migrations`` table with Prisma's columns, checksums,
messages, error codes and exit statuses), ``db push`` (the schema parsed from
``prisma/schema.prisma``, the DDL Prisma generates, the live database introspected and
brought in line, data loss refused as Prisma refuses it) and ``generate`` (nothing is
generated). It talks to PostgreSQL only through :mod:`keycliq_ops.standin.pgclient` and
reaches nothing else.

- :mod:`.schema_parse`: ``schema.prisma`` → models, fields, enums, datasource.
- :mod:`.ddl`: the schema as tables, indexes, foreign keys; Prisma's ``CREATE`` DDL.
- :mod:`.migrate`: ``migrate deploy`` and ``migrate status``.
- :mod:`.push`: introspection of a live database and ``db push``.
- :mod:`.cli`: argument parsing, Prisma's output texts and exit codes.
"""
