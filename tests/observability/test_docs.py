"""docs/operations.md lists every metric, recording rule and alert by its stable name."""

from __future__ import annotations

from pathlib import Path

import yaml
from prometheus_client import Counter

from ghgwatch.observability import metrics as m

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")


def exported_names() -> set[str]:
    names = set()
    for obj in vars(m).values():
        if type(obj).__module__ == "prometheus_client.metrics":
            name = obj._name  # type: ignore[attr-defined]
            names.add(f"{name}_total" if isinstance(obj, Counter) else name)
    return names


def test_every_metric_is_documented() -> None:
    missing = {name for name in exported_names() if f"`{name}`" not in DOC}
    assert not missing


def test_every_rule_is_documented() -> None:
    rules = REPO / "deploy" / "prometheus" / "rules"
    names = set()
    for path in rules.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule.get("alert") or rule["record"] for rule in group["rules"]}
    assert names
    missing = {name for name in names if f"`{name}`" not in DOC}
    assert not missing
