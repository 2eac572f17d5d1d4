"""Read-only reference data: GEM coal mines. (GWP sets: ``GET /reference/gwp`` in ``inventory.run_endpoints``.)"""

from typing import Any

from fastapi import APIRouter

from ghgwatch.reference import gem
from ghgwatch.web.deps import CurrentPrincipal

router = APIRouter(prefix="/reference", tags=["reference"])


@router.get("/mines", summary="Russian coal mines (GEM, CC BY 4.0)")
async def mines(_: CurrentPrincipal, kuzbass_only: bool = False) -> dict[str, Any]:
    rows = gem.find_mines(kuzbass_only=kuzbass_only)
    return {
        "credit": gem.CREDIT,
        "items": [
            {"id": m.id, "name": m.name, "type": m.mine_type, "status": m.status, "owner": m.owner,
             "production_mt": m.production_mt, "capacity_mt": m.capacity_mt, "latitude": m.latitude,
             "longitude": m.longitude, "in_kuzbass": m.in_kuzbass, "methane_features": len(m.features)}
            for m in rows
        ],
    }

