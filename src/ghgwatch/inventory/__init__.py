"""Emission inventory: factor library, methodologies (ipcc2006, ru371), calculation, 296-FZ check.

Public entry points::

    from ghgwatch.inventory import calculate, gwp_sets
    result = calculate({"methodology": "ipcc2006", "gwp": "ar5", "year": 2025, "activities": [...]})
    result.to_dict()
"""

from __future__ import annotations

from ghgwatch.inventory.engine import calculate, canonical_sha256
from ghgwatch.inventory.errors import InputErrorItem, InventoryInputError
from ghgwatch.inventory.factors import (
    Factor,
    FactorSet,
    builtin_factor_set_names,
    factor_set_from_data,
    load_builtin_factor_set,
    load_user_factor_set,
)
from ghgwatch.inventory.fz296 import check_296fz
from ghgwatch.inventory.gwp import GwpSet, get_gwp_set, gwp_sets
from ghgwatch.inventory.methodology import METHODOLOGIES, get_methodology
from ghgwatch.inventory.result import ActivityResult, CalcResult

__all__ = [
    "METHODOLOGIES",
    "ActivityResult",
    "CalcResult",
    "Factor",
    "FactorSet",
    "GwpSet",
    "InputErrorItem",
    "InventoryInputError",
    "builtin_factor_set_names",
    "calculate",
    "canonical_sha256",
    "check_296fz",
    "factor_set_from_data",
    "get_gwp_set",
    "get_methodology",
    "gwp_sets",
    "load_builtin_factor_set",
    "load_user_factor_set",
]
