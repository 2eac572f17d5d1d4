"""Source categories of each activity type (IPCC / CRF codes), with English and Russian names."""

from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    code: str
    en: str
    ru: str


CATEGORIES: dict[str, Category] = {
    "coal_mining_underground": Category("1.B.1.a.i.1", "Underground coal mining", "Подземная добыча угля"),
    "coal_post_mining_underground": Category(
        "1.B.1.a.i.2", "Post-mining, underground coal", "Постдобычные выбросы (подземная добыча)"
    ),
    "coal_mine_measured": Category(
        "1.B.1.a.i", "Underground mine, measured (Tier 3)", "Подземная шахта, по измерениям (уровень 3)"
    ),
    "abandoned_mines": Category("1.B.1.a.i.3", "Abandoned underground mines", "Закрытые подземные шахты"),
    "coal_mining_surface": Category("1.B.1.a.ii.1", "Surface coal mining", "Открытая добыча угля"),
    "coal_post_mining_surface": Category(
        "1.B.1.a.ii.2", "Post-mining, surface coal", "Постдобычные выбросы (открытая добыча)"
    ),
    "flaring": Category("1.B.1.a", "Flaring of methane", "Сжигание метана на факеле"),
    "gas_flaring": Category(
        "1.B", "Gas flaring (Order 371 Table 2.1)", "Сжигание газа на факеле (табл. 2.1 Приказа 371)"
    ),
    "vented_gas": Category("1.B", "Vented gas (fugitive)", "Фугитивные выбросы при стравливании газа"),
    "stationary_combustion": Category("1.A", "Stationary fuel combustion", "Стационарное сжигание топлива"),
    "purchased_electricity": Category(
        "Scope 2", "Purchased electricity (Scope 2)", "Покупная электроэнергия (область охвата 2)"
    ),
    "purchased_heat": Category("Scope 2", "Purchased heat (Scope 2)", "Покупная тепловая энергия (область охвата 2)"),
    "measured_leak": Category(
        "1.B.1.a", "Measured leak (UAV flight)", "Утечка по измерениям (полёт БПЛА)"
    ),
    "methane_utilisation": Category(
        "1.A", "Utilised mine methane (gas engines, boilers)",
        "Утилизированный шахтный метан (газовые двигатели, котлы)",
    ),
}


SCOPE2_TYPES = frozenset({"purchased_electricity", "purchased_heat"})
"""GHG Protocol Scope 2 (indirect, purchased energy); every other activity is Scope 1 (direct)."""


def scope_of(activity_type: str) -> int:
    return 2 if activity_type in SCOPE2_TYPES else 1


def category_of(activity_type: str) -> Category:
    return CATEGORIES[activity_type]
