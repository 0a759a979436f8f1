"""Many processes appending at once never interleave or lose a record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from keycliq_ops.ledger import Ledger

WORKERS = 8
EACH = 50

_APPENDER = """
import sys
from keycliq_ops.ledger import Ledger, Record

path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ledger = Ledger(path)
print("ready", flush=True)
sys.stdin.read()  # wait for the start signal: every worker begins at once
for n in range(count):
    ledger.append(Record(
        action="config-change", outcome="succeeded", environment="staging",
        details={"worker": worker, "n": n, "pad": "p" * (40 * (n % 7))},
    ))
"""


def test_eight_processes_times_fifty_appends(ledger_path: Path, tmp_path: Path) -> None:
    ledger_path.parent.mkdir(parents=True)
    logs = [(tmp_path / f"worker{w}.err").open("wb") for w in range(WORKERS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(ledger_path), str(w), str(EACH)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=logs[w],
        )
        for w in range(WORKERS)
    ]
    for p in procs:  # every worker has imported and is waiting...
        assert p.stdout is not None
        assert p.stdout.readline() == b"ready\n"
    for p in procs:  # ...then all start at once
        assert p.stdin is not None
        p.stdin.close()
    for w, p in enumerate(procs):
        assert p.wait(timeout=240) == 0, (tmp_path / f"worker{w}.err").read_text()[-2000:]
        assert p.stdout is not None
        p.stdout.close()
        logs[w].close()

    ledger = Ledger(ledger_path)
    report = ledger.verify()
    assert report.ok, report.problem
    assert report.records == WORKERS * EACH
    records = list(ledger.iter())
    seen = [(r.details["worker"], r.details["n"]) for r in records]
    assert sorted(seen) == [(w, n) for w in range(WORKERS) for n in range(EACH)]
    for w in range(WORKERS):  # each worker's records are in its own order
        assert [n for worker, n in seen if worker == w] == list(range(EACH))
    ids = [r.id for r in records]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert not ledger.partial_path.exists()


def test_threads_sharing_one_ledger(ledger: Ledger) -> None:
    import threading

    from keycliq_ops.ledger import Record

    def work(k: int) -> None:
        for i in range(25):
            ledger.append(Record(action="checklist", outcome="succeeded", details={"t": k, "i": i}))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = ledger.verify()
    assert report.ok and report.records == 100
    assert sorted((r.details["t"], r.details["i"]) for r in ledger.iter()) == [
        (k, i) for k in range(4) for i in range(25)
    ]
