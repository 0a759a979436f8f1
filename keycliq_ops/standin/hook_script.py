"""The ``pre-receive`` hook of a sandbox app's bare repository (standalone: stdlib only).

Copied into ``<app>.git/hooks/`` and run by ``git receive-pack`` with this interpreter.
For a push to ``main`` it archives the pushed commit (the objects are still in git's
quarantine, visible only to this process), posts the tarball to the running sandbox over
loopback HTTP, copies the streamed build log to stdout (git shows it as ``remote:`` lines)
and exits non-zero when the build failed, which makes git reject the push.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

STATUS_MARKER = "\uffff sandbox-build-status: "
ZERO = "0" * 40


def main() -> int:
    conf = json.loads((Path(__file__).resolve().parent.parent / "sandbox-hook.json").read_text())
    status = 0
    for line in sys.stdin:
        old, new, ref = line.split()
        if ref != "refs/heads/main":
            print(f"Pushed to non-main branch {ref}: nothing was built (push to main to deploy).")
            continue
        if new == ZERO:
            print(" !     Deleting the main branch of a Heroku app is not supported.")
            status = 1
            continue
        status = max(status, _build(conf, old, new))
    sys.stdout.flush()
    return status


def _build(conf: dict[str, str], old: str, new: str) -> int:
    tarball = subprocess.run(
        ["git", "archive", "--format=tar", new], capture_output=True, check=True
    ).stdout
    message = subprocess.run(
        ["git", "log", "-1", "--format=%s", new], capture_output=True, text=True, check=True
    ).stdout.strip()
    url = urlsplit(conf["url"])
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=3600)
    path = f"/_sandbox/apps/{conf['app']}/push?commit={new}&old={old}&message={quote(message)}"
    try:
        conn.request(
            "POST",
            path,
            body=tarball,
            headers={
                "Authorization": f"Bearer {conf['token']}",
                "Content-Type": "application/x-tar",
            },
        )
        resp = conn.getresponse()
        if resp.status != 200:
            print(f" !     The sandbox refused the push: HTTP {resp.status} {resp.read()[:200]!r}")
            return 1
        result = "failed"
        for raw in resp:
            text = raw.decode("utf-8", "replace")
            if text.startswith(STATUS_MARKER):
                result = text[len(STATUS_MARKER) :].strip()
                continue
            sys.stdout.write(text)
            sys.stdout.flush()
    except (OSError, http.client.HTTPException) as exc:
        print(f" !     The sandbox at {conf['url']} did not answer ({exc}); is it running?")
        return 1
    finally:
        conn.close()
    return 0 if result == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
