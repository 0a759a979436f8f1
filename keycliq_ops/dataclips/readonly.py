"""The read-only rule: which SQL a Dataclip may be, decided by PostgreSQL's own parser.

A Dataclip runs in a read-only transaction, but that does not stop everything: on a
privileged role ``COPY … TO PROGRAM`` runs a shell command, ``pg_terminate_backend`` ends
other sessions, ``pg_read_file`` reads the server's files, none of which is a write the
transaction refuses. So each check is parsed with PostgreSQL's parser (``pglast``, which
embeds it) when the catalogue is loaded, and accepted only when it is:

- exactly one ``SELECT`` statement (``WITH`` queries, ``VALUES``, ``TABLE``, set operations
  and subqueries included): no ``COPY``, ``EXPLAIN``, ``SHOW``, ``SET``, ``DO``, ``CALL``
  or any other statement;
- with no data-modifying ``WITH`` query (``INSERT``/``UPDATE``/``DELETE``/``MERGE``
  anywhere in the tree), no ``SELECT … INTO`` and no locking clause (``FOR UPDATE``,
  ``FOR NO KEY UPDATE``, ``FOR SHARE``, ``FOR KEY SHARE``);
- calling none of the functions below, matched on the function's own name (the last part
  of a qualified name such as ``pg_catalog.pg_sleep``, case-insensitively): a name in
  :data:`REFUSED_FUNCTIONS`, or one starting with a prefix in :data:`REFUSED_PREFIXES`.

The denylist covers server administration (signalling and ending backends, reloading the
configuration, rotating logs, WAL and backup control, replication slots, statistics
resets), the server's files (``pg_read_*``, ``pg_ls_*``, ``pg_stat_file``, adminpack's
``pg_file_*``), large objects (``lo_*``, ``loread``, ``lowrite``: they read and write the
server's files too), advisory locks (``pg_advisory_*``, ``pg_try_advisory_*``: they outlive
the check and block the app), other connections (``dblink*``), run-time settings
(``set_config``), ``pg_sleep*`` (a check that waits on purpose is a hang), notifications,
sequences (``nextval``, ``setval``) and the functions that run a query given as text
(``query_to_xml*``, ``cursor_to_xml*``), which would carry any of the above past the parser.

What the parser cannot see is what a function defined in the database does when called
(a ``SECURITY DEFINER`` wrapper around ``pg_terminate_backend``, say). The read-only
transaction stays as the second line of defence, and the app's database role, which on
Heroku is not a superuser, is the third.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

REFUSED_PREFIXES: tuple[str, ...] = (
    "pg_advisory_",  # advisory locks: pg_advisory_lock, _xact_lock, _unlock_all, …
    "pg_try_advisory_",
    "pg_read_",  # server files: pg_read_file, pg_read_binary_file
    "pg_ls_",  # pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, pg_ls_archive_statusdir
    "pg_file_",  # adminpack: pg_file_write, pg_file_rename, pg_file_unlink, pg_file_sync
    "lo_",  # large objects: lo_import, lo_export, lo_get, lo_put, lo_unlink, lo_open, …
    "dblink",  # dblink, dblink_exec, dblink_connect, … (other connections)
    "pg_sleep",  # pg_sleep, pg_sleep_for, pg_sleep_until
    "pg_terminate_",  # pg_terminate_backend
    "pg_cancel_",  # pg_cancel_backend
    "pg_signal_",
    "pg_reload_",  # pg_reload_conf
    "pg_rotate_",  # pg_rotate_logfile
    "pg_switch_",  # pg_switch_wal (pg_switch_xlog before PostgreSQL 10)
    "pg_create_",  # pg_create_restore_point, pg_create_physical/logical_replication_slot
    "pg_drop_",  # pg_drop_replication_slot
    "pg_copy_",  # pg_copy_physical/logical_replication_slot
    "pg_replication_",  # pg_replication_slot_advance, pg_replication_origin_*
    "pg_logical_",  # pg_logical_slot_get_changes (consumes the slot), pg_logical_emit_message
    "pg_wal_replay_",  # pg_wal_replay_pause, pg_wal_replay_resume
    "pg_xlog_replay_",
    "pg_backup_",  # pg_backup_start, pg_backup_stop
    "pg_stat_reset",  # pg_stat_reset, _shared, _single_table_counters, _slru, …
    "pg_log_",  # pg_log_backend_memory_contexts, pg_log_standby_snapshot
    "pg_import_",  # pg_import_system_collations
    "pg_sync_",  # pg_sync_replication_slots
    "query_to_xml",  # query_to_xml, query_to_xmlschema, query_to_xml_and_xmlschema
    "cursor_to_xml",  # cursor_to_xml, cursor_to_xmlschema
)

REFUSED_FUNCTIONS: frozenset[str] = frozenset(
    {
        "pg_stat_file",
        "pg_logdir_ls",
        "loread",
        "lowrite",
        "set_config",
        "pg_promote",
        "pg_start_backup",
        "pg_stop_backup",
        "pg_export_snapshot",
        "pg_notify",
        "nextval",
        "setval",
        "pg_prewarm",
        "pg_truncate_visibility_map",
        "pg_nextoid",
    }
)

_WRITES = {
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
}

_STATEMENTS = {
    "CopyStmt": "COPY",
    "ExplainStmt": "EXPLAIN",
    "VariableShowStmt": "SHOW",
    "VariableSetStmt": "SET",
    "DoStmt": "DO",
    "CallStmt": "CALL",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "TransactionStmt": "a transaction command",
    "LockStmt": "LOCK",
    "NotifyStmt": "NOTIFY",
    "ListenStmt": "LISTEN",
    "DeclareCursorStmt": "DECLARE CURSOR",
    "PrepareStmt": "PREPARE",
    "ExecuteStmt": "EXECUTE",
    **_WRITES,
}


@dataclass(frozen=True)
class Refusal:
    """Why a query is not a read-only Dataclip; ``offset`` is the byte offset (UTF-8) of
    the offending part in the text given to :func:`refusal`, when the parser knows it."""

    message: str
    offset: int | None = None


def function_refused(name: str) -> bool:
    """Whether the read-only rule refuses a call of the function ``name`` (unqualified)."""
    low = name.lower()
    return low in REFUSED_FUNCTIONS or low.startswith(REFUSED_PREFIXES)


def _function_name(call: dict[str, Any]) -> str:
    parts = [p.get("String", {}).get("sval", "") for p in call.get("funcname", [])]
    return ".".join(p for p in parts if p)


def _parse(query: str) -> dict[str, Any] | Refusal:
    from pglast import parser

    try:
        text = parser.parse_sql_json(query)
    except parser.ParseError as exc:
        message = str(exc.args[0]) if exc.args else "syntax error"
        where = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        if where is not None:
            # pglast reports a character index; the Refusal holds a byte offset.
            where = len(query[:where].encode("utf-8"))
        if "stack depth" in message or "memory exhausted" in message:
            message = f"{message}: the SQL is nested too deeply"
        return Refusal(f"PostgreSQL cannot parse the SQL: {message}", where)
    try:
        tree = json.loads(text)
    except RecursionError:
        return Refusal("the SQL is nested too deeply to check")
    if not isinstance(tree, dict):  # pragma: no cover - the parser's JSON is an object
        return Refusal("the parser returned no statement")
    return tree


def refusal(query: str) -> Refusal | None:
    """``None`` when ``query`` (one statement, parameters as ``$n``) is a read-only
    Dataclip by the rule of this module; else why not."""
    tree = _parse(query)
    if isinstance(tree, Refusal):
        return tree
    stmts = tree.get("stmts") or []
    if len(stmts) != 1:
        return Refusal(f"a Dataclip is one SELECT statement; this is {len(stmts)} statements")
    raw = stmts[0]
    stmt = raw.get("stmt") or {}
    kind = next(iter(stmt), "")
    if kind != "SelectStmt":
        what = _STATEMENTS.get(kind) or _words(kind.removesuffix("Stmt")) or "not a statement"
        return Refusal(
            f"a Dataclip is a single SELECT; {what} is refused (Dataclips only read)",
            raw.get("stmt_location"),
        )
    # Walk the whole tree without recursion (a deep expression must not exhaust the stack).
    todo: list[Any] = [stmt]
    select_location: int | None = raw.get("stmt_location")
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            todo.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in _WRITES and isinstance(value, dict):
                return Refusal(
                    f"a data-modifying {_WRITES[key]} inside the SELECT is refused "
                    "(Dataclips only read)",
                    _location(value),
                )
            if key == "SelectStmt" and isinstance(value, dict):
                if "intoClause" in value:
                    return Refusal(
                        "SELECT … INTO creates a table; Dataclips only read",
                        _location(value.get("intoClause", {}).get("rel", {})) or select_location,
                    )
                if "lockingClause" in value:
                    return Refusal(
                        "a locking clause (FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE) takes "
                        "row locks the app then waits for; Dataclips only read",
                        select_location,
                    )
            if key == "FuncCall" and isinstance(value, dict):
                name = _function_name(value)
                if function_refused(name.rsplit(".", 1)[-1]):
                    return Refusal(
                        f"{name}() is refused: Dataclips may not call server-administration, "
                        "file, large-object, advisory-lock, connection or sleep functions",
                        _location(value),
                    )
            if isinstance(value, dict | list):
                todo.append(value)
    return None


def _words(kind: str) -> str:
    """``AlterSystem`` -> ``ALTER SYSTEM`` (a statement's node name as SQL words)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", kind).upper()


def _location(node: dict[str, Any]) -> int | None:
    where = node.get("location")
    return where if isinstance(where, int) and where >= 0 else None
