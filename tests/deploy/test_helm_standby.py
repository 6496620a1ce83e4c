"""The Helm chart's hot standby core (``standby.enabled``): off by default; on,
a StatefulSet of one that never shares the core's node or volume, follows
the core through the -replication Service that only it may reach, and keeps
its journal as the core does (docs/operations.md, "A hot standby core")."""

from __future__ import annotations

from typing import Any

import pytest

from server.config import load
from server.metrics.exposition import port_of
from tests.deploy.chart import (
    PRODUCTION,
    SERVICE_MONITOR_API,
    Manifest,
    helm,
    named,
    of_kind,
    pod_specs,
    render,
)

CHART_ARGS = ("--api-versions", SERVICE_MONITOR_API)


@pytest.fixture(scope="module")
def default() -> list[Manifest]:
    return render(*CHART_ARGS)


@pytest.fixture(scope="module")
def production() -> list[Manifest]:
    return render("-f", str(PRODUCTION), *CHART_ARGS)


@pytest.fixture(scope="module")
def enabled() -> list[Manifest]:
    """The default values (the demo configuration, no file of the chart's)
    with a standby on another port than the default's."""
    return render("--set", "standby.enabled=true", "--set", "standby.port=7171", *CHART_ARGS)


def _component(manifest: Manifest) -> str | None:
    labels: dict[str, str] = manifest["metadata"].get("labels", {})
    return labels.get("app.kubernetes.io/component")


def _container(manifests: list[Manifest], name: str) -> dict[str, Any]:
    for spec in pod_specs(manifests).values():
        for container in spec["containers"]:
            if container["name"] == name:
                found: dict[str, Any] = container
                return found
    raise AssertionError(f"no container {name}")


def _environ(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container["env"] if "value" in item}


def _pod_labels(manifests: list[Manifest], kind: str, suffix: str) -> dict[str, str]:
    labels: dict[str, str] = named(manifests, kind, suffix)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_off_by_default_no_standby_and_no_replication_listener(default: list[Manifest]) -> None:
    assert [m["metadata"]["name"] for m in default if _component(m) == "standby"] == []
    assert [m["metadata"]["name"] for m in default if "replication" in m["metadata"]["name"]] == []
    core = _container(default, "core")
    assert not [name for name in _environ(core) if name.startswith("STX_REPLICATION")]
    assert load(None, _environ(core)).replication.listen == ""
    assert [port["name"] for port in core["ports"]] == ["metrics"]


@pytest.mark.parametrize("values", ["production", "enabled"])
def test_the_standby_is_one_pod_never_on_the_cores_node(
    request: pytest.FixtureRequest, values: str
) -> None:
    """A required anti-affinity against the core's pod labels, per node: the
    standby is worth nothing on the machine whose loss it is there for."""
    manifests: list[Manifest] = request.getfixturevalue(values)
    standby = named(manifests, "StatefulSet", "-standby")
    assert standby["spec"]["replicas"] == 1
    spec = standby["spec"]["template"]["spec"]
    (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    selector = term["labelSelector"]["matchLabels"]
    assert _selects(selector, _pod_labels(manifests, "StatefulSet", "-core"))
    assert not _selects(selector, _pod_labels(manifests, "StatefulSet", "-standby"))
    assert "podAffinity" not in spec["affinity"]


@pytest.mark.parametrize("values", ["production", "enabled"])
def test_the_standby_keeps_its_journal_in_a_volume_of_its_own(
    request: pytest.FixtureRequest, values: str
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(values)
    standby = named(manifests, "StatefulSet", "-standby")
    spec = standby["spec"]["template"]["spec"]
    assert all("persistentVolumeClaim" not in volume for volume in spec["volumes"])
    (template,) = standby["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "data"
    assert "app.kubernetes.io/version" not in template["metadata"]["labels"]  # immutable
    (container,) = spec["containers"]
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert standby["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_production_sizes_the_standbys_volume_as_the_cores(production: list[Manifest]) -> None:
    (template,) = named(production, "StatefulSet", "-standby")["spec"]["volumeClaimTemplates"]
    claim = named(production, "PersistentVolumeClaim", "-data")["spec"]
    assert template["spec"]["storageClassName"] == claim["storageClassName"] == "fast-ssd"
    assert template["spec"]["resources"] == claim["resources"]
    spec = named(production, "StatefulSet", "-standby")["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"stocktraderx.io/exchange": "true"}


@pytest.mark.parametrize(("values", "port"), [("production", 7070), ("enabled", 7171)])
def test_the_standby_follows_the_core_through_the_replication_service(
    request: pytest.FixtureRequest, values: str, port: int
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(values)
    service = named(manifests, "Service", "-replication")
    assert service["spec"]["type"] == "ClusterIP"
    assert _selects(service["spec"]["selector"], _pod_labels(manifests, "StatefulSet", "-core"))
    (service_port,) = service["spec"]["ports"]
    assert service_port["port"] == port
    core = _container(manifests, "core")
    ports = {p["name"]: p["containerPort"] for p in core["ports"]}
    assert ports[service_port["targetPort"]] == port
    standby = _container(manifests, "standby")
    primary = standby["args"][standby["args"].index("--primary") + 1]
    assert primary == f"{service['metadata']['name']}:{port}"
    assert standby["args"][0] == "standby"
    listen = load(None, _environ(core)).replication.listen
    assert listen == f"0.0.0.0:{port}"


def test_the_cores_configuration_carries_the_replication_mode(
    production: list[Manifest], enabled: list[Manifest]
) -> None:
    strict = load(None, _environ(_container(production, "core"))).replication
    assert (strict.mode, strict.on_timeout, strict.timeout_ms) == ("sync", "degrade", 1000)
    assert strict.hash_every == 1_000_000
    relaxed = load(None, _environ(_container(enabled, "core"))).replication
    assert (relaxed.mode, relaxed.on_timeout) == ("async", "refuse")
    tuned = render(
        "--set", "standby.enabled=true", "--set", "standby.mode=sync",
        "--set", "standby.timeoutMs=250", "--set", "standby.hashEvery=50000",
    )  # fmt: skip
    replication = load(None, _environ(_container(tuned, "core"))).replication
    assert (replication.mode, replication.timeout_ms, replication.hash_every) == (
        "sync", 250, 50_000,
    )  # fmt: skip


@pytest.mark.parametrize("values", ["production", "enabled"])
def test_the_standby_writes_its_journal_as_the_core_does(
    request: pytest.FixtureRequest, values: str
) -> None:
    manifests: list[Manifest] = request.getfixturevalue(values)
    core = load(None, _environ(_container(manifests, "core")))
    standby_container = _container(manifests, "standby")
    standby = load(None, _environ(standby_container))
    journal = ("durability", "fsync_interval_ms", "snapshot_every", "data_dir")
    assert [getattr(standby, key) for key in journal] == [getattr(core, key) for key in journal]
    assert standby.replication.listen == ""
    if values == "production":
        assert standby.durability == "always"
        assert standby_container["args"][1:3] == ["--config", "/etc/stx/stx.toml"]
    metrics = {p["name"]: p["containerPort"] for p in standby_container["ports"]}
    assert metrics == {"metrics": port_of("standby", standby.metrics_port)}
    assert standby_container["readinessProbe"]["httpGet"]["port"] == "metrics"
    assert standby_container["livenessProbe"]["httpGet"]["port"] == "metrics"


def test_only_the_standby_may_reach_the_replication_port(production: list[Manifest]) -> None:
    core_labels = _pod_labels(production, "StatefulSet", "-core")
    standby_labels = _pod_labels(production, "StatefulSet", "-standby")
    opening = [
        policy
        for policy in of_kind(production, "NetworkPolicy")
        if _selects(policy["spec"]["podSelector"]["matchLabels"], core_labels)
        and any(
            port["port"] == "replication"
            for rule in policy["spec"].get("ingress", [])
            for port in rule.get("ports", [])
        )
    ]
    (policy,) = opening
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "replication"}]
    (source,) = rule["from"]
    assert set(source) == {"podSelector"}
    assert _selects(source["podSelector"]["matchLabels"], standby_labels)
    assert not _selects(source["podSelector"]["matchLabels"], core_labels)
    deny = named(production, "NetworkPolicy", "-default-deny")
    assert _selects(deny["spec"]["podSelector"]["matchLabels"], core_labels)


def test_the_standby_is_scraped_and_guarded_as_the_core(production: list[Manifest]) -> None:
    standby_labels = _pod_labels(production, "StatefulSet", "-standby")
    budget = named(production, "PodDisruptionBudget", "-standby")
    assert budget["spec"]["maxUnavailable"] == 0
    assert _selects(budget["spec"]["selector"]["matchLabels"], standby_labels)
    service = named(production, "Service", "-standby")
    assert service["spec"]["clusterIP"] == "None"
    standby = named(production, "StatefulSet", "-standby")
    assert standby["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["ports"][0]["port"] == port_of("standby", 9100)
    monitor = named(production, "ServiceMonitor", "-standby")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["relabelings"][0]["replacement"] == "stx-standby"
    assert _selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])


def test_a_bad_standby_value_is_refused_naming_it() -> None:
    result = helm("template", "stx", PRODUCTION.parent, "--set", "standby.mode=quorum")
    assert result.returncode != 0
    assert "/standby/mode" in result.stderr
    result = helm("template", "stx", PRODUCTION.parent, "--set", "standby.replicas=2")
    assert result.returncode != 0
    assert "additional properties 'replicas' not allowed" in result.stderr


def test_after_a_failover_the_next_standby_gets_a_fresh_claim() -> None:
    """The core runs on the standby's claim once failed over: a standby
    enabled again on that claim name would share it, which is refused."""
    moved = ("--set", "persistence.existingClaim=data-stx-stocktraderx-standby-0")
    result = helm("template", "stx", PRODUCTION.parent, *moved, "--set", "standby.enabled=true")
    assert result.returncode != 0
    assert "another standby.persistence.name" in result.stderr
    manifests = render(*moved, "--set", "standby.enabled=true",
                       "--set", "standby.persistence.name=data2")  # fmt: skip
    standby = named(manifests, "StatefulSet", "-standby")
    (template,) = standby["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "data2"
    (container,) = standby["spec"]["template"]["spec"]["containers"]
    assert {"name": "data2", "mountPath": "/data"} in container["volumeMounts"]
    core = named(manifests, "StatefulSet", "-core")["spec"]["template"]["spec"]
    (data,) = [volume for volume in core["volumes"] if volume["name"] == "data"]
    assert data["persistentVolumeClaim"]["claimName"] == "data-stx-stocktraderx-standby-0"
