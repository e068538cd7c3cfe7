"""docker-compose.yml as an operator needs it: scalable daemons, a web server on loopback unless
told otherwise, and the README's compose commands (the image itself: .ci/container.sh)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.test_cli import cli

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def test_the_daemon_has_no_host_port_so_it_scales():
    daemon = compose()["services"]["daemon"]
    assert "ports" not in daemon and "container_name" not in daemon
    assert daemon["expose"] == ["8080"]  # metrics inside the network


def test_the_web_server_is_published_on_loopback_unless_told():
    [port] = compose()["services"]["web"]["ports"]
    assert port.startswith("${STORYTRAIL_WEB_BIND:-127.0.0.1}:")


def test_readme_shows_commands_under_compose():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker compose run --rm daemon storytrail sources list" in readme
    assert "--scale daemon=3" in readme


def test_a_leading_storytrail_word_is_accepted(tmp_path: Path):
    """The image's entrypoint is `storytrail`, so `compose run daemon storytrail X` passes it twice."""
    assert "Usage" in cli("storytrail", "--help", cwd=tmp_path).stdout


def test_init_does_not_print_the_database_password(tmp_path: Path, monkeypatch, capsys):
    """`migrate` (`storytrail init`) logs where the database is: the compose URL holds a password."""
    from types import SimpleNamespace

    from jobs.cli import archive

    monkeypatch.setattr(archive, "ready_engine", lambda ctx: SimpleNamespace(dispose=lambda: None))
    monkeypatch.setenv("STORYTRAIL_CONFIG", str(tmp_path / "st.toml"))  # as in compose: none yet
    archive.init(db="postgresql://storytrail:s3cret@postgres:5432/storytrail", config=None)
    printed = capsys.readouterr().out
    assert "database ready: postgresql://storytrail:***@postgres:5432/storytrail" in printed
    assert "s3cret" not in printed


def test_the_scale_check_matches_the_compose_file():
    """.ci/compose.sh runs docker-compose.yml plus .ci/compose/scale.yml; not from CI (it takes minutes)."""
    script = ROOT / ".ci" / "compose.sh"
    assert script.stat().st_mode & 0o111 and "set -euo pipefail" in script.read_text()
    assert "compose.sh" not in (ROOT / ".ci" / "run").read_text()
    override = yaml.safe_load((ROOT / ".ci" / "compose" / "scale.yml").read_text())
    services = compose()["services"]
    assert set(override["services"]) - {"newsite"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"  # the stand-in takes this tag
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]
    assert "bash .ci/compose.sh" in (ROOT / "README.md").read_text(encoding="utf-8")
