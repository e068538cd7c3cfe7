"""The container files say what the deployment docs promise (the image itself is built and run by
.ci/container.sh with podman: build, /healthz, HEALTHCHECK, SIGTERM -> exit 0, SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def stages(dockerfile: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for word, rest in dockerfile:
        if word == "FROM":
            out.append([])
        out[-1].append((word, rest))
    return out


def test_multi_stage_on_python_312_slim(dockerfile):
    froms = [rest for word, rest in dockerfile if word == "FROM"]
    assert froms == ["python:3.12-slim AS builder", "python:3.12-slim"]


def test_builder_installs_locked_hashes_then_the_project_without_dependencies(dockerfile):
    runs = " ".join(rest for word, rest in stages(dockerfile)[0] if word == "RUN")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in runs
    assert "pip install --no-deps --no-build-isolation ." in runs
    assert runs.index("--require-hashes") < runs.index("--no-build-isolation")


def test_final_stage_runs_as_a_non_root_user_with_exec_form_entrypoint(dockerfile):
    final = stages(dockerfile)[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(word == "COPY" and "--from=builder" in rest for word, rest in final)
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    cmd = [rest for word, rest in final if word == "CMD"]
    assert json.loads(entry[-1]) == ["storytrail"] and json.loads(cmd[-1]) == ["run"]


def test_healthcheck_probes_healthz_with_python_on_port_or_metrics_port(dockerfile):
    (check,) = [rest for word, rest in dockerfile if word == "HEALTHCHECK"]
    command = json.loads(check.split("CMD", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2] and "PORT" in command[2] and "STORYTRAIL_METRICS_PORT" in command[2]
    assert "curl" not in check


def test_volume_and_environment(dockerfile):
    final = stages(dockerfile)[-1]
    assert json.loads([rest for word, rest in final if word == "VOLUME"][-1]) == ["/data"]
    env = dict(pair.split("=", 1) for word, rest in final if word == "ENV" for pair in shlex.split(rest))
    assert env["STORYTRAIL_DATABASE_URL"] == "sqlite:////data/storytrail.db"
    assert env["STORYTRAIL_METRICS_HOST"] == "0.0.0.0"
    assert env["STORYTRAIL_METRICS_PORT"] == "8080"


def test_dockerignore_keeps_the_context_small():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".git", "*.db", ".mypy_cache", ".pytest_cache", ".ruff_cache"} <= ignored
    assert "requirements.lock" not in ignored and "pyproject.toml" not in ignored


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_compose_services_start_in_order(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "daemon", "web"}
    assert services["postgres"]["image"] == "postgres:16" and "healthcheck" in services["postgres"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["command"] == ["init"]
    for name in ("daemon", "web"):
        assert services[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["daemon"]["command"] == ["run"]
    assert services["web"]["command"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]


def test_compose_uses_named_volumes_and_postgres_everywhere(compose):
    assert set(compose["volumes"]) == {"pgdata", "config"}
    for name in ("migrate", "daemon", "web"):
        url = compose["services"][name]["environment"]["STORYTRAIL_DATABASE_URL"]
        assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]


def test_ci_script_runs_the_shared_smoke_test_on_both_backends():
    script = (ROOT / ".ci" / "container.sh").read_text()
    assert "../shared/tools/container" in script
    assert "prepare.sh" in script and script.count('bash "$TOOLS/smoke.sh"') == 2
    assert "-- run --db" in script
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "container.sh")]).returncode == 0
