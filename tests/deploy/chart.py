"""Rendering deploy/helm/stocktraderx with the real helm binary
(``make helm``, tests/deploy/helm_tool.py) and validating what comes out
against the Kubernetes schemas that ``kubernetes-validate`` bundles (no
cluster, no network)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.helm_tool import HELM

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "stocktraderx"
PRODUCTION = CHART / "values-production.yaml"
SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
"""The oldest version the chart's kubeVersion admits that the package still
has schemas for, and the newest it has."""

Manifest = dict[str, Any]


def helm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    if not HELM.exists():
        pytest.skip("needs helm: make helm (tests/deploy/helm_tool.py)")
    return subprocess.run(
        [str(HELM), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def render(*options: str | Path, release: str = "stx") -> list[Manifest]:
    """Every manifest of ``helm template`` with ``options``."""
    result = helm("template", release, CHART, "--namespace", "exchange", *options)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


CUSTOM_GROUPS = frozenset({"monitoring.coreos.com"})
"""API groups of custom resources (the Prometheus operator's), which have no
schema here; tests/deploy/test_helm.py checks their structure instead."""


def schema_errors(manifest: Manifest, version: str) -> str | None:
    """Why ``manifest`` breaks the Kubernetes ``version`` schema (strict:
    unknown fields count), or None."""
    try:
        kubernetes_validate.validate(manifest, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        if manifest["apiVersion"].split("/")[0] in CUSTOM_GROUPS:
            return None
        return f"no schema for {manifest['apiVersion']} {manifest['kind']}"
    except kubernetes_validate.ValidationError as error:
        return f"{manifest['kind']} {manifest['metadata']['name']}: {error.message}"
    return None


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: list[Manifest], kind: str, suffix: str) -> Manifest:
    (found,) = [m for m in of_kind(manifests, kind) if m["metadata"]["name"].endswith(suffix)]
    return found


def pod_specs(manifests: list[Manifest]) -> dict[str, dict[str, Any]]:
    """The pod spec of every workload, by the workload's name."""
    return {
        manifest["metadata"]["name"]: manifest["spec"]["template"]["spec"]
        for manifest in manifests
        if manifest["kind"] in ("Deployment", "StatefulSet")
    }
