"""Offline checks of the Grafana dashboards and provisioning files."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ._promql import metric_names
from ._support import DEPLOY, REPO, load_yaml_documents

GRAFANA = DEPLOY / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))


def dashboards() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, json.loads(path.read_text(encoding="utf-8"))) for path in DASHBOARD_FILES]


def provisioned_datasource() -> dict[str, Any]:
    (doc,) = load_yaml_documents(GRAFANA / "provisioning" / "datasources" / "ghgwatch.yml")
    (datasource,) = doc["datasources"]
    assert isinstance(datasource, dict)
    return datasource


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA / "build_dashboards.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_there_are_the_three_dashboards() -> None:
    assert {d["uid"] for _, d in dashboards()} == {
        "ghgwatch-platform",
        "ghgwatch-emissions",
        "ghgwatch-analytics",
    }


def test_committed_json_matches_the_generator() -> None:
    rendered = _generator().render_all()
    assert sorted(rendered) == [p.name for p in DASHBOARD_FILES]
    for path in DASHBOARD_FILES:
        assert path.read_text(encoding="utf-8") == rendered[path.name], (
            f"{path.name} is stale: run python deploy/grafana/build_dashboards.py"
        )


def test_dashboard_uids_and_titles_are_unique() -> None:
    uids = [d["uid"] for _, d in dashboards()]
    titles = [d["title"] for _, d in dashboards()]
    assert len(uids) == len(set(uids))
    assert len(titles) == len(set(titles))
    assert all(0 < len(uid) <= 40 for uid in uids)  # Grafana's uid limit


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_panel_ids_unique_and_layout_sane(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    panels = dashboard["panels"]
    assert panels
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], int] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert set(pos) == {"x", "y", "w", "h"}
        assert min(pos["w"], pos["h"]) > 0, panel["title"]
        assert min(pos["x"], pos["y"]) >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_datasource_reference_is_the_provisioned_one(path: Path) -> None:
    datasource = provisioned_datasource()
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    refs = [p["datasource"] for p in dashboard["panels"]]
    refs += [t["datasource"] for p in dashboard["panels"] for t in p["targets"]]
    refs += [v["datasource"] for v in dashboard["templating"]["list"] if "datasource" in v]
    for ref in refs:
        assert ref == {"type": datasource["type"], "uid": datasource["uid"]}


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_panel_has_queries_on_ghgwatch_metrics(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids))
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, target["expr"]
            assert all(n.startswith(("ghgwatch", "up", "process_")) for n in names), names


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboards() -> None:
    (provider_doc,) = load_yaml_documents(GRAFANA / "provisioning" / "dashboards" / "ghgwatch.yml")
    path = provider_doc["providers"][0]["options"]["path"]
    (compose,) = load_yaml_documents(REPO / "docker-compose.yml")
    volumes = compose["services"]["grafana"]["volumes"]
    assert any(v.endswith(f":{path}:ro") and "deploy/grafana/dashboards" in v for v in volumes), volumes
