"""Benchmark: all shipped Dataclips through keycliq vs. the same SQL one after another.

Seeds a KeyCliq-shaped database with ≥ 1,000,000 key_matchings (``--scale``, default 1000),
then, in the same run and in alternating rounds (median of ``--rounds``), once with the
server's defaults and once with parallel query off (``max_parallel_workers_per_gather=0``,
so that each statement is one process, as on small plans):

- baseline: one psycopg connection running each check's SQL (same bound values) in turn,
- keycliq: ``load_catalog`` + ``run_dataclips`` on all shipped checks (default concurrency 4),
- keycliq sequential: the same with concurrency 1, to isolate keycliq's own cost per check.

Prints the wall times, ``ratio = keycliq / baseline`` (target ≤ 0.6) and the overhead per
check ``(keycliq sequential - baseline) / checks`` (target ≤ 50 ms).

Usage: ``uv run python bench/dataclips.py [--scale 1000] [--rounds 3]``. The database comes
from ``KEYCLIQ_DATABASE_URL`` (a server you can create databases on) or an embedded
PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from keycliq_ops.config.loading import SHIPPED_DATACLIPS
from keycliq_ops.config.settings import DataclipSettings
from keycliq_ops.dataclips import load_catalog, run_dataclips
from keycliq_ops.dataclips.executor import bind_values
from keycliq_ops.standin.pgembed import start_postgres
from keycliq_ops.standin.sample.seed import seed

DB_NAME = "kc_bench_dataclips"


def baseline(url: str, clips: list[Any], params: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Each check's SQL, one after another on one connection (as psql would)."""
    per: dict[str, float] = {}
    t0 = time.perf_counter()
    with psycopg.connect(url) as conn:
        cur = psycopg.RawCursor(conn)
        for clip in clips:
            t = time.perf_counter()
            cur.execute(clip.query, bind_values(clip, params))
            cur.fetchall()
            conn.rollback()
            per[clip.id] = (time.perf_counter() - t) * 1000
    return (time.perf_counter() - t0) * 1000, per


def keycliq(url: str, params: dict[str, str], concurrency: int) -> tuple[float, dict[str, float]]:
    t0 = time.perf_counter()
    catalog = load_catalog(SHIPPED_DATACLIPS)
    run = run_dataclips(
        catalog,
        catalog.ids(),
        url,
        params=params,
        settings=DataclipSettings(concurrency=concurrency),
    )
    wall = (time.perf_counter() - t0) * 1000
    bad = [r.id for r in run.results if r.verdict in ("fail", "error")]
    if bad:
        raise SystemExit(f"unexpected verdicts on clean data: {bad}")
    return wall, {r.id: r.duration_ms for r in run.results}


def measure(label: str, url: str, clips: list[Any], params: dict[str, str], rounds: int) -> None:
    """Alternate the three ways ``rounds`` times; print medians, the ratio and the overhead."""
    n = len(clips)
    base_w: list[float] = []
    par_w: list[float] = []
    seq_w: list[float] = []
    per_base: dict[str, list[float]] = {c.id: [] for c in clips}
    per_kc: dict[str, list[float]] = {c.id: [] for c in clips}
    concurrency = DataclipSettings().concurrency
    for _ in range(rounds):
        w, per = baseline(url, clips, params)
        base_w.append(w)
        for k, v in per.items():
            per_base[k].append(v)
        w, per = keycliq(url, params, concurrency)
        par_w.append(w)
        w, per = keycliq(url, params, 1)
        seq_w.append(w)
        for k, v in per.items():
            per_kc[k].append(v)
    b, p, s = (statistics.median(x) for x in (base_w, par_w, seq_w))
    print(f"\n== {label}")
    print(f"{'check':<6}{'baseline ms':>12}{'keycliq ms':>12}  (keycliq at concurrency 1; medians)")
    for c in clips:
        print(
            f"{c.id:<6}{statistics.median(per_base[c.id]):>12.1f}"
            f"{statistics.median(per_kc[c.id]):>12.1f}"
        )
    ratio = p / b
    overhead = (s - b) / n
    print(f"checks: {n}, rounds: {rounds} (medians)")
    print(f"baseline, sequential psycopg:   {b:8.1f} ms")
    print(f"keycliq, concurrency {concurrency}:        {p:8.1f} ms")
    print(f"keycliq, concurrency 1:         {s:8.1f} ms")
    print(
        f"ratio keycliq / baseline:       {ratio:8.2f}   "
        f"(target <= 0.60: {'met' if ratio <= 0.6 else 'NOT met'})"
    )
    print(
        f"overhead per check:             {overhead:8.1f} ms "
        f"(target <= 50 ms: {'met' if overhead <= 50 else 'NOT met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1000, help="seed scale (1000 → 1M matchings)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (median)")
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as state:
        server = start_postgres(Path(state))
        try:
            url = server.create_database(DB_NAME)
            t = time.perf_counter()
            summary = seed(url, scale=args.scale)
            seeded = time.perf_counter() - t
            params = {"userId": summary.sample_user_id}
            print(
                f"seeded {summary.counts['key_matchings']:,} key_matchings, "
                f"{summary.counts['key_queries']:,} key_queries, "
                f"{summary.counts['key_signatures']:,} key_signatures, "
                f"{summary.counts['keys']:,} keys in {seeded:.1f} s ({server.kind} PostgreSQL)"
            )
            clips = load_catalog(SHIPPED_DATACLIPS).all()
            baseline(url, clips, params)  # warm the caches for everyone
            no_parallel = make_conninfo(url, options="-c max_parallel_workers_per_gather=0")
            for label, target in (
                ("PostgreSQL defaults (parallel query on)", url),
                ("parallel query off (one process per statement)", no_parallel),
            ):
                measure(label, target, clips, params, args.rounds)
        finally:
            try:
                server.drop_database(DB_NAME)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
