"""Source categories of each activity type (IPCC / CRF codes), with their names (Russian in the ``inventory``
gettext catalog)."""

from __future__ import annotations

from typing import NamedTuple

from ghgwatch.i18n import N_, translator


class Category(NamedTuple):
    code: str
    en: str

    def name(self, lang: str) -> str:
        """The category's name in ``lang`` (``"en"`` or ``"ru"``)."""
        return translator(lang, "inventory").gettext(self.en)


CATEGORIES: dict[str, Category] = {
    "coal_mining_underground": Category("1.B.1.a.i.1", N_("Underground coal mining")),
    "coal_post_mining_underground": Category("1.B.1.a.i.2", N_("Post-mining, underground coal")),
    "coal_mine_measured": Category("1.B.1.a.i", N_("Underground mine, measured (Tier 3)")),
    "abandoned_mines": Category("1.B.1.a.i.3", N_("Abandoned underground mines")),
    "coal_mining_surface": Category("1.B.1.a.ii.1", N_("Surface coal mining")),
    "coal_post_mining_surface": Category("1.B.1.a.ii.2", N_("Post-mining, surface coal")),
    "flaring": Category("1.B.1.a", N_("Flaring of methane")),
    "gas_flaring": Category("1.B", N_("Gas flaring (Order 371 Table 2.1)")),
    "vented_gas": Category("1.B", N_("Vented gas (fugitive)")),
    "stationary_combustion": Category("1.A", N_("Stationary fuel combustion")),
    # IPCC 2006 Vol.2 Ch.3 §3.2 (road transportation, CRF 1.A.3.b); only the road mode is implemented.
    "mobile_combustion": Category("1.A.3.b", N_("Mobile combustion: road transportation")),
    "purchased_electricity": Category("Scope 2", N_("Purchased electricity (Scope 2)")),
    "purchased_heat": Category("Scope 2", N_("Purchased heat (Scope 2)")),
    "methane_utilisation": Category("1.A", N_("Utilised mine methane (gas engines, boilers)")),
    "measured_leak": Category("1.B.1.a", N_("Measured leak (UAV flight)")),
}


SCOPE2_TYPES = frozenset({"purchased_electricity", "purchased_heat"})
"""GHG Protocol Scope 2 (indirect, purchased energy); every other activity is Scope 1 (direct)."""


def scope_of(activity_type: str) -> int:
    return 2 if activity_type in SCOPE2_TYPES else 1


def category_of(activity_type: str) -> Category:
    return CATEGORIES[activity_type]
