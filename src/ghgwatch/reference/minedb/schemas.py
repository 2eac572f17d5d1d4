"""Request bodies of the mine reference database (pydantic v2)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ghgwatch.reference.minedb.models import DataStatus


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organization_id: int | None = None
    """Omitted: the caller's organisation (a platform administrator's rows are public)."""
    published: bool = False
    source: str = Field(min_length=1, max_length=500)
    data_status: DataStatus = DataStatus.REPORTED
    cell_status: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(default=None, max_length=2000)


class MineIn(_Common):
    gem_id: str | None = Field(default=None, max_length=20)
    name_en: str = Field(min_length=1, max_length=200)
    name_ru: str | None = Field(default=None, max_length=200)
    district: str | None = Field(default=None, max_length=200)
    coalfield: str | None = Field(default=None, max_length=200)
    in_kuzbass: bool = False
    owner: str | None = Field(default=None, max_length=300)
    parent: str | None = Field(default=None, max_length=300)
    mine_status: str | None = Field(default=None, max_length=40)
    mining_method: Literal["underground", "surface", "mixed"] | None = None
    depth_m: float | None = Field(default=None, ge=0, le=4000)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    opening_year: int | None = Field(default=None, ge=1700, le=2100)
    closing_year: int | None = Field(default=None, ge=1700, le=2100)
    capacity_mt: float | None = Field(default=None, ge=0)
    url: str | None = Field(default=None, max_length=300)


class MineYearIn(_Common):
    mine_key: str = Field(min_length=1, max_length=40)
    year: int = Field(ge=1900, le=2100)
    production_t: float | None = Field(default=None, ge=0)
    methane_vent_m3_min: float | None = Field(default=None, ge=0)
    methane_drain_m3_min: float | None = Field(default=None, ge=0)
    methane_total_m3_min: float | None = Field(default=None, ge=0)
    relative_m3_t: float | None = Field(default=None, ge=0, le=500)
    drained_m3: float | None = Field(default=None, ge=0)
    utilised_m3: float | None = Field(default=None, ge=0)


class SeamIn(_Common):
    mine_key: str = Field(min_length=1, max_length=40)
    seam_index: str = Field(min_length=1, max_length=40)
    depth_from_m: float | None = Field(default=None, ge=0, le=4000)
    depth_to_m: float | None = Field(default=None, ge=0, le=4000)
    gas_content_m3_t_daf: float | None = Field(default=None, ge=0, le=100)
    ash_pct: float | None = Field(default=None, ge=0, le=100)
    moisture_pct: float | None = Field(default=None, ge=0, le=100)
