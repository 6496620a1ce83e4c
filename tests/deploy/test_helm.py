"""deploy/helm/stocktraderx: rendered by helm with the default and the
production values, every manifest valid against the Kubernetes schemas, and
the properties the chart promises (docs/deploy.md) true of what it renders."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest
import yaml

from server.config import from_mapping, load
from server.metrics.exposition import OFFSETS, OPTIONAL_OFFSETS, STANDBY_OFFSETS, port_of
from tests.deploy.catalogue import PROMETHEUS_DIR
from tests.deploy.chart import (
    CHART,
    KUBERNETES_VERSIONS,
    PRODUCTION,
    SERVICE_MONITOR_API,
    Manifest,
    helm,
    named,
    of_kind,
    pod_specs,
    render,
    schema_errors,
)

LOG_URL = "redis://logs.example:6379/0?stream=stx:committed"
VARIANTS = {
    "default": (),
    "default+operator": ("--api-versions", SERVICE_MONITOR_API),
    "production": ("-f", str(PRODUCTION), "--api-versions", SERVICE_MONITOR_API),
    # The relay, and the projector and analytics fed from its log elsewhere.
    "log": (
        "--set", "relay.enabled=true", "--set", f"relay.url={LOG_URL}",
        "--set", "projector.source=relay", "--set", "analytics.source=relay",
        "--set", "database.url=postgresql://stx@db.example:5432/stx",
        "--set", "secrets.dataKey=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "--api-versions", SERVICE_MONITOR_API,
    ),
}  # fmt: skip
OPTIONAL_ENABLED = {"production": {"fix"}, "log": {"relay"}}
"""The roles of OPTIONAL_OFFSETS each variant enables (``ROLE.enabled``)."""
STANDBY_ENABLED = {"production"}
"""The variants that run a hot standby core (``standby.enabled``)."""
ELSEWHERE = {"log": {"projector", "analytics"}}
"""The consumers each variant feeds from the committed log (``ROLE.source``)."""


def _roles(variant: str) -> set[str]:
    """The roles a variant runs: every role ``stx serve`` always runs, and
    the optional ones it enables."""
    standby = set(STANDBY_OFFSETS) if variant in STANDBY_ENABLED else set()
    return set(OFFSETS) | OPTIONAL_ENABLED.get(variant, set()) | standby


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {name: render(*options) for name, options in VARIANTS.items()}


@pytest.mark.parametrize("values", [(), ("-f", str(PRODUCTION))], ids=["default", "production"])
def test_helm_lint_strict_passes(values: tuple[str, ...]) -> None:
    result = helm("lint", "--strict", CHART, *values)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_is_valid_kubernetes(
    rendered: dict[str, list[Manifest]], variant: str, version: str
) -> None:
    manifests = rendered[variant]
    assert len(manifests) > 15
    errors = [error for m in manifests if (error := schema_errors(m, version)) is not None]
    assert errors == []


def test_the_validation_can_fail(rendered: dict[str, list[Manifest]]) -> None:
    """A misspelt field and a wrong type are caught: the check above can fail."""
    core = copy.deepcopy(named(rendered["default"], "StatefulSet", "-core"))
    core["spec"]["replica"] = 1
    assert "replica" in str(schema_errors(core, KUBERNETES_VERSIONS[-1]))
    core = copy.deepcopy(named(rendered["default"], "StatefulSet", "-core"))
    core["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "metrics"
    assert schema_errors(core, KUBERNETES_VERSIONS[-1]) is not None
    core = copy.deepcopy(named(rendered["default"], "StatefulSet", "-core"))
    core["kind"] = "StatefulSett"
    assert "no schema for apps/v1 StatefulSett" in str(schema_errors(core, KUBERNETES_VERSIONS[-1]))


@pytest.mark.parametrize("variant", VARIANTS)
def test_exactly_one_core_and_it_is_never_doubled(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    (core,) = [
        workload
        for workload in of_kind(rendered[variant], "StatefulSet")
        if workload["metadata"]["labels"]["app.kubernetes.io/component"] == "core"
    ]
    assert core["metadata"]["name"].endswith("-core")
    assert core["spec"]["replicas"] == 1
    assert core["spec"]["podManagementPolicy"] == "OrderedReady"
    assert core["spec"]["updateStrategy"]["type"] in ("RollingUpdate", "OnDelete")
    assert not of_kind(rendered[variant], "Deployment")[0]["metadata"]["name"].endswith("-core")
    budget = named(rendered[variant], "PodDisruptionBudget", "-core")
    assert budget["spec"]["maxUnavailable"] == 0


def test_production_replaces_the_core_only_when_its_pod_is_deleted(
    rendered: dict[str, list[Manifest]],
) -> None:
    core = named(rendered["production"], "StatefulSet", "-core")
    assert core["spec"]["updateStrategy"] == {"type": "OnDelete"}


def test_the_core_count_is_not_a_value() -> None:
    """values.schema.json refuses keys it does not know, naming them: a
    second core cannot be asked for, nor a misspelt setting slip by."""
    result = helm("template", "stx", CHART, "--set", "core.replicas=3")
    assert result.returncode != 0
    assert "at '/core': additional properties 'replicas' not allowed" in result.stderr
    result = helm("template", "stx", CHART, "--set", "settings.durabilty=always")
    assert "'durabilty' not allowed" in result.stderr
    result = helm("template", "stx", CHART, "--set", "settings.durability=sometimes")
    assert "value must be one of 'always', 'batch', 'none'" in result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_pods_that_share_the_data_volume_run_on_the_cores_node(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    """core.sock is a Unix socket in the volume: a process elsewhere could not
    reach the core."""
    claim = named(rendered[variant], "PersistentVolumeClaim", "-data")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    sharing = {
        name: spec
        for name, spec in pod_specs(rendered[variant]).items()
        if any(
            volume.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"]
            for volume in spec["volumes"]
        )
    }
    # The standby keeps a volume of its own, on another node.
    expected = _roles(variant) - {"rest"} - ELSEWHERE.get(variant, set()) - set(STANDBY_OFFSETS)
    assert {name.rsplit("-", 1)[1] for name in sharing} == expected
    for name, spec in sharing.items():
        if name.endswith("-core"):
            continue
        (term,) = spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "core"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_is_unprivileged_read_only_and_probed(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    for name, spec in pod_specs(rendered[variant]).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            assert "readinessProbe" in container, name
            assert "livenessProbe" in container, name
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, name


@pytest.mark.parametrize("variant", VARIANTS)
def test_metrics_ports_are_the_servers(rendered: dict[str, list[Manifest]], variant: str) -> None:
    seen: dict[str, int] = {}
    for spec in pod_specs(rendered[variant]).values():
        for container in spec["containers"]:
            for port in container["ports"]:
                if port["name"] in ("metrics", "rest-metrics"):
                    seen[container["name"]] = port["containerPort"]
    assert seen == {role: port_of(role, 9100) for role in _roles(variant)}


def _container_env(manifests: list[Manifest], container: str) -> dict[str, str]:
    for spec in pod_specs(manifests).values():
        for found in spec["containers"]:
            if found["name"] == container:
                return {item["name"]: item["value"] for item in found["env"] if "value" in item}
    raise AssertionError(f"no container {container}")


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_environment_is_settings_the_server_accepts(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    environ = _container_env(rendered[variant], "core")
    settings = load(None, environ)
    assert settings.listen_address == "0.0.0.0"
    assert str(settings.data_dir) == "/data"
    assert settings.log_format == "json"
    if variant == "production":
        assert settings.durability == "always"
        assert settings.database_url.startswith("postgresql://")
        assert settings.tls.cert_file is not None


def test_the_production_configuration_is_valid() -> None:
    values = yaml.safe_load(PRODUCTION.read_text())
    settings = from_mapping(tomllib.loads(values["settings"]["config"]))
    assert [instrument.symbol for instrument in settings.instruments] == ["AAPL"]
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert settings.fix.port == values.get("ports", defaults["ports"])["fix"]
    assert [session.target_comp_id for session in settings.fix.sessions] == ["ACME"]


def test_no_secret_value_is_in_a_pod_spec(rendered: dict[str, list[Manifest]]) -> None:
    manifests = render(
        "--set=secrets.adminPassword=never-in-a-spec-0930",
        "--set=admin.username=ops",
        "--set=secrets.databasePassword=db-secret-1600",
    )
    secret = named(manifests, "Secret", "-secrets")
    assert secret["stringData"]["admin-password"] == "never-in-a-spec-0930"
    for manifest in manifests:
        if manifest["kind"] != "Secret":
            text = yaml.safe_dump(manifest)
            assert "never-in-a-spec" not in text
            assert "db-secret" not in text
    gateway = named(manifests, "Deployment", "-gateway")["spec"]["template"]["spec"]
    (password,) = [e for e in gateway["containers"][0]["env"] if e["name"] == "STX_ADMIN_PASSWORD"]
    assert password["valueFrom"]["secretKeyRef"]["key"] == "admin-password"


def test_production_takes_its_secrets_from_an_existing_secret(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert of_kind(rendered["production"], "Secret") == []
    environ = _container_env(rendered["production"], "gateway")
    assert environ["STX_DATABASE_PASSWORD_FILE"] == "/etc/stx/secrets/database-password"


def _ingress_from_anywhere(policy: Manifest) -> set[str]:
    """The ports a policy opens to every source."""
    return {
        str(port["port"])
        for rule in policy["spec"].get("ingress", [])
        if "from" not in rule
        for port in rule.get("ports", [])
    }


def test_only_the_gateways_and_the_web_frontend_are_open_from_outside(
    rendered: dict[str, list[Manifest]],
) -> None:
    policies = of_kind(rendered["default"], "NetworkPolicy")
    deny = named(policies, "NetworkPolicy", "-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny["spec"]
    open_ports = {
        policy["metadata"]["name"]: ports
        for policy in policies
        if (ports := _ingress_from_anywhere(policy))
    }
    assert open_ports == {
        "stx-stocktraderx-gateway": {"grpc", "rest"},
        "stx-stocktraderx-web": {"http"},
    }
    production = of_kind(rendered["production"], "NetworkPolicy")
    assert all(not _ingress_from_anywhere(policy) for policy in production)
    services = {
        s["metadata"]["name"]: s["spec"].get("type")
        for s in of_kind(rendered["production"], "Service")
    }
    assert sorted(name for name, kind in services.items() if kind == "LoadBalancer") == [
        "stx-stocktraderx-fix", "stx-stocktraderx-gateway",
    ]  # fmt: skip


def test_the_gateways_scale_on_cpu_and_order_streams(rendered: dict[str, list[Manifest]]) -> None:
    assert of_kind(rendered["default"], "HorizontalPodAutoscaler") == []
    (hpa,) = of_kind(rendered["production"], "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "stx-stocktraderx-gateway"
    kinds = {metric["type"]: metric for metric in hpa["spec"]["metrics"]}
    assert kinds["Resource"]["resource"]["name"] == "cpu"
    assert kinds["Pods"]["pods"]["metric"]["name"] == "stx_order_streams"
    gateway = named(rendered["production"], "Deployment", "-gateway")
    assert "replicas" not in gateway["spec"]  # the HPA owns the count


def _prometheus_jobs() -> set[str]:
    document = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    return {job["job_name"] for job in document["scrape_configs"]}


@pytest.mark.parametrize("variant", ["default+operator", "production", "log"])
def test_service_monitors_only_with_the_operator_and_with_the_rules_job_names(
    rendered: dict[str, list[Manifest]], variant: str
) -> None:
    assert of_kind(rendered["default"], "ServiceMonitor") == []
    monitors = of_kind(rendered[variant], "ServiceMonitor")
    services = of_kind(rendered[variant], "Service")
    jobs = set()
    for monitor in monitors:
        (endpoint,) = monitor["spec"]["endpoints"]
        (relabel,) = endpoint["relabelings"]
        jobs.add(relabel["replacement"])
        selector: dict[str, Any] = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert jobs == {f"stx-{role}" for role in _roles(variant)}
    roles = {*OFFSETS, *OPTIONAL_OFFSETS, *STANDBY_OFFSETS}
    assert _prometheus_jobs() == {f"stx-{role}" for role in roles}


def test_each_optional_role_is_off_by_default_and_production_runs_the_fix_gateway_only() -> None:
    """An optional role runs where its ``enabled`` value says. Production
    runs the FIX gateway and not the relay: nothing trims the committed log,
    so its Redis would hold the whole journal (docs/deploy.md)."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    production = yaml.safe_load(PRODUCTION.read_text())
    for role in OPTIONAL_OFFSETS:
        assert defaults[role]["enabled"] is False, role
    enabled = {role for role in OPTIONAL_OFFSETS if production.get(role, {}).get("enabled")}
    assert enabled == OPTIONAL_ENABLED["production"] == {"fix"}


def test_the_web_frontend_forwards_api_to_this_releases_bridge(
    rendered: dict[str, list[Manifest]],
) -> None:
    image_config = (CHART.parents[1] / "docker" / "nginx.conf").read_text()
    assert (CHART / "files" / "nginx.conf").read_text() == image_config
    assert "proxy_pass https://gateway:8080/;" in image_config  # compose's service
    config = named(rendered["production"], "ConfigMap", "-web")["data"]["default.conf"]
    assert "proxy_pass https://stx-stocktraderx-gateway:8080/;" in config
    assert config.replace("stx-stocktraderx-gateway", "gateway").strip() == image_config.strip()
    gateway = named(rendered["production"], "NetworkPolicy", "-gateway")
    from_web = [
        rule
        for rule in gateway["spec"]["ingress"]
        if any(
            source.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
            == "web"
            for source in rule.get("from", [])
        )
    ]
    assert [rule["ports"] for rule in from_web] == [[{"port": "rest"}]]


def test_analytics_follows_the_journal_alone_with_its_store_in_the_volume(
    rendered: dict[str, list[Manifest]],
) -> None:
    """One analytics process owns analytics.duckdb: never two at once."""
    for variant, manifests in rendered.items():
        if "analytics" in ELSEWHERE.get(variant, set()):
            continue
        analytics = named(manifests, "Deployment", "-analytics")
        assert analytics["spec"]["replicas"] == 1
        assert analytics["spec"]["strategy"] == {"type": "Recreate"}
        (container,) = analytics["spec"]["template"]["spec"]["containers"]
        assert container["args"][0] == "analytics"
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]


def test_the_fix_gateway_is_off_by_default(rendered: dict[str, list[Manifest]]) -> None:
    for variant in ("default", "default+operator"):
        names = [m["metadata"]["name"] for m in rendered[variant]]
        assert not [name for name in names if "-fix" in name], variant


def test_fix_enabled_without_sessions_is_refused_saying_what_to_do() -> None:
    result = helm("template", "stx", CHART, "--set", "fix.enabled=true")
    assert result.returncode != 0
    assert "[[fix.sessions]] in settings.config" in result.stderr


def test_the_fix_gateway_serves_its_sessions_from_outside_through_one_pod(
    rendered: dict[str, list[Manifest]],
) -> None:
    """fix.db holds each session's sequence numbers: one acceptor, replaced
    with Recreate; ready when it accepts connections on the FIX port, which
    its Service exposes and its NetworkPolicy opens to fixFrom only."""
    manifests = rendered["production"]
    fix = named(manifests, "Deployment", "-fix")
    assert fix["spec"]["replicas"] == 1
    assert fix["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = fix["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["fix", "--config", "/etc/stx/stx.toml"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"fix": 9878, "metrics": port_of("fix", 9100)}
    assert container["readinessProbe"]["tcpSocket"] == {"port": "fix"}
    assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
    service = named(manifests, "Service", "-fix")
    assert service["spec"]["ports"] == [{"name": "fix", "port": 9878, "targetPort": "fix"}]
    assert service["spec"]["loadBalancerSourceRanges"] == ["198.51.100.0/24"]
    policy = named(manifests, "NetworkPolicy", "-fix")
    (rule,) = policy["spec"]["ingress"]
    assert rule == {"ports": [{"port": "fix"}], "from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}
    opened = render("-f", str(PRODUCTION), "--set", "networkPolicy.fixFrom=null")
    assert _ingress_from_anywhere(named(opened, "NetworkPolicy", "-fix")) == {"fix"}


def _env_entries(manifests: list[Manifest], container: str) -> dict[str, dict[str, Any]]:
    """Every env entry of ``container``, by name."""
    for spec in pod_specs(manifests).values():
        for found in spec["containers"]:
            if found["name"] == container:
                return {item["name"]: item for item in found["env"]}
    raise AssertionError(f"no container {container}")


def test_the_relay_is_one_pod_on_the_cores_node_writing_the_log(
    rendered: dict[str, list[Manifest]],
) -> None:
    """Off unless relay.enabled; one writer of the log, replaced with
    Recreate, beside the core (it reads the journal files and core.sock),
    probed and scraped on its metrics port, reachable on nothing else."""
    for variant in ("default", "default+operator", "production"):
        names = [m["metadata"]["name"] for m in rendered[variant]]
        assert not [name for name in names if "relay" in name], variant
    manifests = rendered["log"]
    relay = named(manifests, "Deployment", "-relay")
    assert relay["spec"]["replicas"] == 1
    assert relay["spec"]["strategy"] == {"type": "Recreate"}
    spec = relay["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["args"] == ["relay"]
    assert {port["name"]: port["containerPort"] for port in container["ports"]} == {
        "metrics": port_of("relay", 9100)
    }
    assert container["readinessProbe"]["httpGet"]["port"] == "metrics"
    assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    settings = load(None, _container_env(manifests, "relay"))
    assert (settings.relay.url, settings.relay.batch) == (LOG_URL, 1000)
    assert str(settings.data_dir) == "/data"
    service = named(manifests, "Service", "-relay-metrics")
    assert service["spec"]["ports"][0]["port"] == port_of("relay", 9100)
    reaching = [
        policy
        for policy in of_kind(manifests, "NetworkPolicy")
        if policy["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
        in ("relay", None)
        and policy["spec"].get("ingress")
    ]
    assert [p["metadata"]["name"] for p in reaching] == ["stx-stocktraderx-metrics"]


def test_the_relay_takes_a_url_with_a_password_from_the_secret() -> None:
    result = helm("template", "stx", CHART, "--set", "relay.enabled=true")
    assert result.returncode != 0
    assert "relay.enabled: name the committed log in relay.url" in result.stderr
    result = helm("template", "stx", CHART, "--set", "relay.enabled=true",
                  "--set", "relay.url=http://logs.example/")  # fmt: skip
    assert result.returncode != 0
    assert "/relay/url" in result.stderr
    manifests = render(
        "--set", "relay.enabled=true",
        "--set", "secrets.relayUrl=redis://:log-secret-2210@logs.example:6379/0",
    )  # fmt: skip
    secret = named(manifests, "Secret", "-secrets")
    assert secret["stringData"]["relay-url"].startswith("redis://:log-secret-2210@")
    entry = _env_entries(manifests, "relay")["STX_RELAY_URL"]
    assert entry["valueFrom"]["secretKeyRef"]["key"] == "relay-url"
    for manifest in manifests:
        if manifest["kind"] != "Secret":
            assert "log-secret" not in yaml.safe_dump(manifest)


def test_consumers_fed_from_the_log_run_on_any_node_without_the_journal(
    rendered: dict[str, list[Manifest]],
) -> None:
    """projector.source and analytics.source: no data volume of the core's,
    no affinity to its node; analytics keeps its store in a claim of its own."""
    manifests = rendered["log"]
    claim = named(manifests, "PersistentVolumeClaim", "-data")["metadata"]["name"]
    for role in ("projector", "analytics"):
        deployment = named(manifests, "Deployment", f"-{role}")
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        spec = deployment["spec"]["template"]["spec"]
        assert "affinity" not in spec, role
        claims = {v.get("persistentVolumeClaim", {}).get("claimName") for v in spec["volumes"]}
        assert claim not in claims, role
        (container,) = spec["containers"]
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
        settings = load(None, _container_env(manifests, role))
        assert settings.relay.source == LOG_URL, role
    (data,) = [
        volume
        for volume in named(manifests, "Deployment", "-analytics")["spec"]["template"]["spec"][
            "volumes"
        ]
        if volume["name"] == "data"
    ]
    own = named(manifests, "PersistentVolumeClaim", "-analytics-store")
    assert data["persistentVolumeClaim"]["claimName"] == own["metadata"]["name"]
    assert own["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    projector = named(manifests, "Deployment", "-projector")["spec"]["template"]["spec"]
    assert "emptyDir" in next(v for v in projector["volumes"] if v["name"] == "data")
    source = render("--set", f"analytics.source={LOG_URL}")
    assert load(None, _container_env(source, "analytics")).relay.source == LOG_URL
    assert not [m for m in source if m["metadata"]["name"].endswith("-relay")]


def test_a_consumer_fed_from_the_log_is_refused_without_what_it_needs() -> None:
    """Its store must be the one the gateways read, its data key theirs, and
    "relay" means this release's relay."""
    source = ("--set", f"projector.source={LOG_URL}")
    result = helm("template", "stx", CHART, *source)
    assert "projector.source: a projector fed from the log writes the store at database.url" in (
        result.stderr
    )
    result = helm("template", "stx", CHART, *source,
                  "--set", "database.url=postgresql://stx@db:5432/stx")  # fmt: skip
    assert "put it in the Secret (data-key" in result.stderr
    result = helm("template", "stx", CHART, "--set", "analytics.source=relay")
    assert 'analytics.source: "relay" reads the log of this release\'s relay' in result.stderr
    result = helm("template", "stx", CHART, "--set", "analytics.source=kafka://broker:9092")
    assert result.returncode != 0
    assert "/analytics/source" in result.stderr
