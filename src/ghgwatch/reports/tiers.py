"""The report section "Tiers and measurements side by side" (issue 13 items 2 and 10).

It reads a stored run's ``comparison`` (ghgwatch.inventory.runs and ghgwatch.inventory.stored): measured (Tier 3)
versus factor-based methane of a mine, Tier 2 (m3/t from the mine reference database) versus Tier 1, a lab
sample's composition versus the Order 371 Table 3.1 default, and UAV-measured leaks added or covered by the
facility's figure. Each comparison gives one row per variant with its CH4 and CO2, whether it is in the total,
and why. Texts go through the ``reports`` catalog; data texts (sources, laboratories) are printed as stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ghgwatch.i18n import format_date, format_number, format_percent
from ghgwatch.reports.document import Cell, Lang, Section
from ghgwatch.reports.i18n import data_text, has_label, t, yes_no


def _facility(result: dict[str, Any], ids: list[str], fid: object, lang: Lang) -> str:
    """The facility's name from the result's activities, else its number."""
    by_id = {a["id"]: a for a in result.get("activities", [])}
    for i in ids:
        if by_id.get(i, {}).get("facility"):
            return str(by_id[i]["facility"])
    return t("cmp_facility_no", lang, id=fid)


def _n(value: object, lang: Lang) -> str:
    """Tonnes as the PDF prints them (3 decimals below 10, else 1)."""
    if not isinstance(value, int | float):
        return "—"
    return format_number(float(value), lang, 3 if abs(value) < 10 else 1)


def _mine(e: dict[str, Any], lang: Lang) -> object:
    """The mine's name in the report's language (the Russian name where the reference database has one)."""
    return (lang == "ru" and e.get("mine_ru")) or e.get("mine") or e.get("mine_key")


def _day(iso: object, lang: Lang) -> str:
    try:
        return format_date(datetime.fromisoformat(str(iso)).date(), lang)
    except ValueError:
        return str(iso or "—")


def _status(status: object, lang: Lang) -> str:
    key = f"status_{status}"
    return t(key, lang) if has_label(key) else str(status)


def _tier3(e: dict[str, Any], result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    where = _facility(result, e.get("measured_activities", []), e.get("facility_id"), lang)
    diff = e.get("difference_pct")
    why = t("cmp_t3_why", lang, tier=t("cmp_" + str(e.get("factor_tier", "tier1")), lang),
            diff=format_percent(float(diff) / 100.0, lang, 1) if isinstance(diff, int | float) else "—")
    return [
        [t("cmp_t3", lang), where, t("cmp_measured", lang), e.get("measured_ch4_t"), None, yes_no(True, lang), why],
        [t("cmp_t3", lang), where, t("cmp_" + str(e.get("factor_tier", "tier1")), lang), e.get("factor_ch4_t"),
         None, yes_no(False, lang), t("cmp_t3_factor", lang)],
    ]


def _tier2(e: dict[str, Any], result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    where = _facility(result, [e["activity"]], e.get("facility_id"), lang)
    label, in_total = t("cmp_t2", lang), bool(e.get("in_total", True))
    if e["tier"] == "tier2":
        why = t("cmp_t2_why", lang, m3t=format_number(float(e["relative_m3_t"]), lang, None),
                mine=_mine(e, lang), year=e.get("year"), status=_status(e.get("status"), lang),
                source=data_text(str(e.get("source", "")), lang), record=e.get("record_key"), v=e.get("version"))
        if e.get("caution"):
            why += " " + t("cmp_t2_caution", lang)
        if not in_total:  # the facility's measured methane replaces its mining rows (tier3_vs_tier1)
            why += " " + t("cmp_t3_factor", lang)
        return [
            [label, where, t("cmp_tier2", lang), e.get("ch4_t"), e.get("co2_t"), yes_no(in_total, lang), why],
            [label, where, t("cmp_tier1", lang), e.get("tier1_ch4_t"), e.get("tier1_co2_t"), yes_no(False, lang),
             t("cmp_t1_beside", lang)],
        ]
    if e["tier"] == "given":
        return [[label, where, t("cmp_given", lang), e.get("ch4_t"), e.get("co2_t"), yes_no(in_total, lang),
                 t("cmp_t2_given", lang)]]
    why = (t("cmp_t1_no_value", lang, mine=_mine(e, lang), year=e.get("year"))
           if e.get("mine_key") else t("cmp_t1_no_mine", lang))
    return [[label, where, t("cmp_tier1", lang), e.get("ch4_t"), e.get("co2_t"), yes_no(in_total, lang), why]]


def _kept(why: str) -> str:
    """The label of why a gas kept its value (the texts of ghgwatch.inventory.stored.apply_lab)."""
    if why.startswith("given"):
        return "cmp_kept_given"
    return "cmp_kept_none" if why.startswith("not given") else "cmp_kept_default"


def _lab(e: dict[str, Any], result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    where = _facility(result, [e["activity"]], e.get("facility_id"), lang)
    label, in_total = t("cmp_lab", lang), bool(e.get("in_total", True))
    kept = "; ".join(f"{g.upper()}: {t(_kept(str(why)), lang)}" for g, why in sorted(e.get("kept", {}).items()))
    if not e.get("applied"):
        why = t("cmp_lab_no_source", lang) if e.get("source_id") is None else kept
        return [[label, where, t("cmp_table", lang), e.get("ch4_t"), e.get("co2_t"), yes_no(in_total, lang), why]]
    used = "; ".join(
        t("cmp_lab_why", lang, gas=g.upper(), pct=format_number(float(c["percent"]), lang, None),
          sample=c.get("sample_id"), date=_day(c.get("sampled_at"), lang), lab=c.get("laboratory") or "—",
          cert=c.get("certificate") or "—")
        for g, c in sorted(e["applied"].items()))
    why = f"{used}; {kept}" if kept else used
    return [
        [label, where, t("cmp_lab_sample", lang), e.get("ch4_t"), e.get("co2_t"), yes_no(in_total, lang), why],
        [label, where, t("cmp_table", lang), e.get("default_composition_ch4_t"), e.get("default_composition_co2_t"),
         yes_no(False, lang), t("cmp_table_beside", lang)],
    ]


def _leak(e: dict[str, Any], result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    ids = [e["activity"]] if e.get("in_total") else list(e.get("covered_by", []))
    where = _facility(result, ids, e.get("facility_id"), lang)
    p = e.get("provenance") or {}
    method = str(p.get("method", ""))
    what = t("cmp_leak_what", lang, flight=p.get("flight_id"),
             method=t("uav_" + method.replace("-", "_"), lang) if method in ("mass-balance", "plume") else method,
             hours=format_number(float(e.get("hours", 0.0)), lang, None), lo=_n(e.get("lower_t"), lang),
             hi=_n(e.get("upper_t"), lang))
    label = t("cmp_leak", lang)
    if e.get("in_total"):
        return [[label, where, t("cmp_leak_measured", lang), e.get("ch4_t"), None, yes_no(True, lang),
                 f"{what} {t('cmp_leak_added', lang)}"]]
    share = e.get("measured_share_of_figure")
    covered = t("cmp_leak_covered", lang, share=format_percent(float(share), lang, 1)
                if isinstance(share, int | float) else "—")
    return [
        [label, where, t("cmp_leak_measured", lang), e.get("ch4_t"), None, yes_no(False, lang),
         f"{what} {covered}"],
        [label, where, t("cmp_leak_figure", lang), e.get("facility_figure_same_hours_ch4_t"), None,
         yes_no(True, lang), t("cmp_leak_figure_why", lang, total=_n(e.get("facility_figure_ch4_t"), lang))],
    ]


_KINDS = (("tier3_vs_tier1", _tier3), ("tier2_vs_tier1", _tier2), ("lab_vs_table", _lab),
          ("measured_leaks", _leak))


def tiers_rows(comparison: dict[str, Any] | None, result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    """One row per variant of every comparison the run stored (none for a run without any)."""
    rows: list[list[Cell]] = []
    for key, build in _KINDS:
        for entry in (comparison or {}).get(key) or []:
            rows += build(entry, result, lang)
    return rows


def tiers_section(comparison: dict[str, Any] | None, result: dict[str, Any], lang: Lang) -> Section | None:
    """The section, or ``None`` when the run has nothing to compare (no empty section)."""
    rows = tiers_rows(comparison, result, lang)
    if not rows:
        return None
    return Section("tiers", t("sec_tiers", lang),
                   [t("cmp_kind", lang), t("facility", lang), t("cmp_variant", lang), t("ch4_t", lang),
                    t("co2_t", lang), t("cmp_in_total", lang), t("cmp_why", lang)], rows, note=t("cmp_note", lang),
                   widths=(3.0, 2.2, 2.6, 1.3, 1.3, 1.1, 8.5))  # the explanation needs the room
