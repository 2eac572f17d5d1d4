"""Effective rules of every sensor: defaults (``default_ruleset``) under each organisation's stored
``alert_rules``, resolved against the registry's sensor descriptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ghgwatch.alerts.models import AlertRule
from ghgwatch.alerts.rule_codec import add_layers
from ghgwatch.alerts.rules import (
    AnomalyRule,
    EffectiveRules,
    Location,
    RuleSet,
    SensorSpec,
    default_ruleset,
    resolve_rules,
)
from ghgwatch.registry.cache import SensorMeta


@dataclass
class RulesSnapshot:
    effective: list[EffectiveRules] = field(default_factory=list)
    anomaly: dict[str, AnomalyRule] = field(default_factory=dict)
    """Sensors (by id as text) with an anomaly rule: their readings are scored by a detector."""
    problems: list[str] = field(default_factory=list)


def sensor_spec(meta: SensorMeta) -> SensorSpec:
    try:
        location = None if meta.location is None else Location(meta.location)
    except ValueError:
        location = None
    return SensorSpec(
        id=str(meta.id), kind=meta.kind, unit=meta.unit, source_type=meta.source_type, location=location,
        warning=meta.warning_level, alarm=meta.alarm_level, expected_interval_s=meta.expected_interval_s,
        range_low=meta.range_min, range_high=meta.range_max,
    )


async def rules_version(session: AsyncSession, metas: Mapping[int, SensorMeta]) -> object:
    """Changes whenever a sensor or a stored rule changes (compared, never interpreted)."""
    count, last, top = (await session.execute(
        select(func.count(AlertRule.id), func.max(AlertRule.updated_at), func.max(AlertRule.id)))).one()
    return hash(frozenset(metas.values())), count, last, top


async def build_rules(session: AsyncSession, metas: Mapping[int, SensorMeta]) -> RulesSnapshot:
    stored = (await session.execute(select(AlertRule).order_by(AlertRule.id))).scalars().all()
    base = default_ruleset()
    per_org: dict[int, RuleSet] = {}
    for org in {m.organization_id for m in metas.values()}:
        mine = [(r.scope, r.selector, r.rule_id, r.definition) for r in stored if r.organization_id == org]
        per_org[org] = add_layers(base, mine) if mine else base
    out = RulesSnapshot()
    for meta in metas.values():
        if not meta.active:
            continue
        eff = resolve_rules(sensor_spec(meta), per_org[meta.organization_id])
        out.effective.append(eff)
        out.problems.extend(f"sensor {meta.id}: {p}" for p in eff.problems)
        anomaly = next((r for r in eff.rules if isinstance(r, AnomalyRule)), None)
        if anomaly is not None:
            out.anomaly[str(meta.id)] = anomaly
    return out
