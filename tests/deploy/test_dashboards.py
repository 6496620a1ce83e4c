"""The Grafana material of deploy/grafana: provisioning files and dashboards."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.catalogue import ROOT, referenced_names, unknown_names

GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# Grafana's own range variables, which Prometheus never sees as such.
_RANGE_VARIABLES = re.compile(r"\$__(rate_interval|interval|range)\b")
GRID_WIDTH = 24


def _provisioned_datasource_uid() -> str:
    provisioning = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    (datasource,) = provisioning["datasources"]
    assert datasource["type"] == "prometheus"
    return str(datasource["uid"])


def _load(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels, those inside collapsed rows included."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def test_the_four_dashboards_exist() -> None:
    assert [path.stem for path in DASHBOARDS] == [
        "infrastructure",
        "market",
        "order-path",
        "risk",
    ]


def test_dashboard_uids_and_titles_are_unique() -> None:
    dashboards = [_load(path) for path in DASHBOARDS]
    assert len({d["uid"] for d in dashboards}) == len(dashboards)
    assert len({d["title"] for d in dashboards}) == len(dashboards)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_panel_ids_are_unique(path: Path) -> None:
    ids = [panel["id"] for panel in _panels(_load(path))]
    assert all(isinstance(i, int) and i > 0 for i in ids)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_panels_fit_the_grid_without_overlapping(path: Path) -> None:
    cells: dict[tuple[int, int], int] = {}
    for panel in _panels(_load(path)):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['id']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_queries_use_the_provisioned_datasource(path: Path) -> None:
    uid = _provisioned_datasource_uid()
    for panel in _panels(_load(path)):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_queries_are_promql_over_catalogued_metrics(path: Path) -> None:
    for panel in _panels(_load(path)):
        for target in panel.get("targets", []):
            expr = _RANGE_VARIABLES.sub("1m", target["expr"])
            names = referenced_names(expr)
            assert not unknown_names(names), f"{panel['title']}: {unknown_names(names)}"


def test_dashboard_provider_reads_a_directory() -> None:
    provisioning = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "stocktraderx.yml").read_text()
    )
    (provider,) = provisioning["providers"]
    assert provider["type"] == "file"
    assert Path(provider["options"]["path"]).is_absolute()
    # deploy/README.md mounts the dashboards there.
    assert provider["options"]["path"] in (ROOT / "deploy" / "README.md").read_text()
