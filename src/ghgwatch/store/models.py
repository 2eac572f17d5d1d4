"""Imports every ORM model so that ``Base.metadata`` is complete (Alembic, tests)."""

from ghgwatch.alerts import models as alerts_models  # noqa: F401
from ghgwatch.alerts.outbox import models as outbox_models  # noqa: F401
from ghgwatch.analytics import models as analytics_models  # noqa: F401
from ghgwatch.audit import models as audit_models
from ghgwatch.edge import models as edge_models  # noqa: F401
from ghgwatch.ingest import nonces as ingest_nonces  # noqa: F401
from ghgwatch.inventory import models as inventory_models
from ghgwatch.lab import models as lab_models  # noqa: F401
from ghgwatch.lake import models as lake_models
from ghgwatch.readings import models as readings_models
from ghgwatch.reference.minedb import models as minedb_models  # noqa: F401
from ghgwatch.registry import models as registry_models
from ghgwatch.reports.signoff import models as signoff_models  # noqa: F401
from ghgwatch.responses import models as responses_models  # noqa: F401
from ghgwatch.security import models as security_models
from ghgwatch.security import ratelimit as security_ratelimit  # noqa: F401
from ghgwatch.uav import leak_models  # noqa: F401
from ghgwatch.uav import models as uav_models  # noqa: F401

__all__ = ["audit_models", "inventory_models", "lake_models", "readings_models", "registry_models", "security_models"]
