"""The dyno's ``npm``, ``npx`` and ``prisma`` shims: scripts of package.json run as npm 10
runs them, ``npx prisma`` is the offline emulation, anything else fails at once offline,
and no proxy or registry variable reaches a dyno."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from keycliq_ops.standin.dynorunner import dyno_environment, write_shims

from .prisma_helpers import closed_port


def _slug(root: Path, scripts: dict[str, str], **extra: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    package = {"name": "keycliq", "version": "1.0.0", "scripts": scripts, **extra}
    (root / "package.json").write_text(json.dumps(package))
    return root


def _dyno(
    tmp_path: Path, slug: Path, command: str, config: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    shims = write_shims(tmp_path / "shims")
    env = dyno_environment(config or {}, app_dir=slug, dyno="run.1", shims=shims)
    return subprocess.run(
        ["bash", "-c", command], cwd=slug, env=env, capture_output=True, text=True, check=False
    )


def test_npm_run_runs_the_script_with_bash_and_npms_banner(tmp_path: Path) -> None:
    slug = _slug(
        tmp_path / "app",
        {
            "prehello": "echo before",
            "hello": 'echo "hi from $npm_lifecycle_event ($npm_package_name) args:"',
            "posthello": "echo after",
        },
    )
    done = _dyno(tmp_path, slug, "npm run hello -- one 'two words'")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "",
        "> keycliq@1.0.0 prehello",
        "> echo before",
        "",
        "before",
        "",
        "> keycliq@1.0.0 hello",
        "> echo \"hi from $npm_lifecycle_event ($npm_package_name) args:\" one 'two words'",
        "",
        "hi from hello (keycliq) args: one two words",
        "",
        "> keycliq@1.0.0 posthello",
        "> echo after",
        "",
        "after",
    ]


def test_a_missing_script_is_npm_10s_error(tmp_path: Path) -> None:
    slug = _slug(tmp_path / "app", {"build": "true"})
    for command, name in (("npm test", "test"), ("npm run-script db:push", "db:push")):
        done = _dyno(tmp_path, slug, command)
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f'npm error Missing script: "{name}"',
            "npm error",
            "npm error To see a list of scripts, run:",
            "npm error   npm run",
        ]


def test_a_failing_script_passes_its_status_on(tmp_path: Path) -> None:
    slug = _slug(tmp_path / "app", {"test": "echo testing; exit 3", "start": "echo started"})
    failed = _dyno(tmp_path, slug, "npm test")
    assert failed.returncode == 3
    assert "testing" in failed.stdout
    assert "npm error command sh -c echo testing; exit 3" in failed.stderr
    started = _dyno(tmp_path, slug, "npm start")
    assert started.returncode == 0 and started.stdout.splitlines()[-1] == "started"


def test_scripts_reach_prisma_through_the_shims(tmp_path: Path) -> None:
    slug = _slug(tmp_path / "app", {"gen": "prisma generate", "v": "npx prisma@6 --version"})
    (slug / "prisma").mkdir()
    (slug / "prisma" / "schema.prisma").write_text(
        'datasource db {\n  provider = "postgresql"\n  url = env("DATABASE_URL")\n}\n'
    )
    generated = _dyno(tmp_path, slug, "npm run gen")
    assert generated.returncode == 0, generated.stderr
    assert "✔ Generated Prisma Client (v6.15.0)" in generated.stdout
    version = _dyno(tmp_path, slug, "npm run v")
    assert version.returncode == 0 and "prisma                  : 6.15.0" in version.stdout
    found = _dyno(tmp_path, slug, "command -v npx prisma npm")
    shims = str(tmp_path / "shims")
    assert found.stdout.splitlines() == [f"{shims}/npx", f"{shims}/prisma", f"{shims}/npm"]


@pytest.mark.parametrize(
    ("command", "package"),
    [
        ("npx cowsay hi", "cowsay"),
        ("npx -y @scope/tool@2 run", "@scope/tool"),
        ("npm exec -- create-remix", "create-remix"),
        ("npm install", ""),
    ],
)
def test_npx_of_anything_else_fails_at_once_offline(
    tmp_path: Path, command: str, package: str
) -> None:
    slug = _slug(tmp_path / "app", {})
    done = _dyno(tmp_path, slug, command)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "npm error code ENOTCACHED",
        f"npm error request to https://registry.npmjs.org/{package} failed: cache mode is "
        "'only-if-cached' but no cached response is available.",
    ]


def test_no_proxy_or_registry_variable_reaches_a_dyno(tmp_path: Path) -> None:
    port = closed_port()
    config = {
        "HTTP_PROXY": f"http://127.0.0.1:{port}",
        "https_proxy": f"http://127.0.0.1:{port}",
        "ALL_PROXY": f"socks5://127.0.0.1:{port}",
        "npm_config_proxy": f"http://127.0.0.1:{port}",
        "NPM_CONFIG_REGISTRY": f"http://127.0.0.1:{port}/",
        "npm_config_offline": "false",
        "APP_URL": "https://keycliq-staging.herokuapp.com",
    }
    done = _dyno(tmp_path, _slug(tmp_path / "app", {}), "env", config)
    env = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert not {k for k in env if "proxy" in k.lower() or "registry" in k.lower()}
    assert env["npm_config_offline"] == "true"
    assert env["APP_URL"] == "https://keycliq-staging.herokuapp.com"
    assert env["PATH"].split(":")[0] == str(tmp_path / "shims")
