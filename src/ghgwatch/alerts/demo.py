"""Alert rules the demo needs beyond the defaults.

The simulator's scripted events (``simulator.events.default_events``) include a stuck temperature
sensor (90 s after the live phase starts, for 300 s). ``stuck`` is off by default (a healthy meter can
repeat a quantised value for hours, see ``rules.defaults``), so the demo turns it on for temperature
sensors with a 125 s duration: the alert opens about 3.5 minutes into the live demo. The duration is
longer than two steps of the demo's backfill (one reading a minute, values quantised to 0.01), where
two or three equal readings in a row happen by chance; 30 s opened dozens of alerts on the history.
"""

from __future__ import annotations

from sqlalchemy import select

from ghgwatch.alerts.models import AlertRule, RuleScope
from ghgwatch.audit import service as audit
from ghgwatch.audit.service import snapshot
from ghgwatch.registry.models import Sensor, SensorKind
from ghgwatch.store import Database

DEMO_STUCK = {"kind": "stuck", "duration_s": 125.0, "epsilon": 0.0, "clear_after_s": 30.0,
              "source": "demo configuration: stuck after 125 s (simulator scripted event)"}


async def ensure_demo_rules(db: Database) -> bool:
    """Add the demo's stuck rule for every organisation with temperature sensors; ``True`` once there
    is at least one such organisation (the demo seeding has run)."""
    async with db.transaction() as s:
        orgs = set((await s.execute(select(Sensor.organization_id).where(
            Sensor.kind == SensorKind.TEMPERATURE))).scalars())
        for org in sorted(orgs):
            exists = (await s.execute(select(AlertRule.id).where(
                AlertRule.organization_id == org, AlertRule.scope == RuleScope.KIND.value,
                AlertRule.selector == "temperature", AlertRule.rule_id == "stuck"))).first()
            if exists:
                continue
            rule = AlertRule(organization_id=org, scope=RuleScope.KIND.value, selector="temperature",
                             rule_id="stuck", definition=dict(DEMO_STUCK), description="ghgwatch demo")
            s.add(rule)
            await s.flush()
            await audit.record(s, actor="demo", action="create", entity="alert_rule", entity_id=rule.id,
                               organization_id=org, after=snapshot(rule))
    return bool(orgs)
