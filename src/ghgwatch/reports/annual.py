"""Annual GHG report (structure of the 296-FZ report form) and inventory detail, from a calc result.

Both builders take the plain JSON form of a calculation (``CalcResult.to_dict()``, the output of
``ghgwatch calc``), so the API can pass a stored result without re-running anything.
The section order follows the report of Government Decree No. 707 of 20.04.2022 (organisation and
period, emissions by gas, by source category, total, methodologies, status) [V: S22; exact form layout M].
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from ghgwatch.i18n import format_date, format_number, format_percent
from ghgwatch.inventory.categories import CATEGORIES
from ghgwatch.reports.document import Cell, Chart, Lang, ReportDocument, Section
from ghgwatch.reports.i18n import data_text, t, yes_no
from ghgwatch.reports.tiers import tiers_section

_MAX_CHART_BARS = 25


def _header(result: dict[str, Any], lang: Lang) -> list[tuple[str, str]]:
    m, g = result["methodology"], result["gwp"]
    return [
        (t("org", lang), str(result.get("organization") or "—")),
        (t("year", lang), str(result.get("year", "—"))),
        (t("methodology", lang), f"{m['name']} v{m['version']}"),
        (t("gwp_set", lang), f"{g['name']} ({_gwp_version(g, lang)})"),
        (t("sha", lang), result["inputs_sha256"]),
    ]


def _org_rows(result: dict[str, Any], lang: Lang, org: dict[str, Any] | None, today: date) -> list[list[Cell]]:
    """The organisation's details (name, INN, description as stored), the year as a number, the report date."""
    org = org or {}
    rows: list[list[Cell]] = [[t("org", lang), str(org.get("name") or result.get("organization") or "—")]]
    rows.append([t("inn", lang), str(org.get("inn") or t("not_given", lang))])
    if org.get("description"):
        rows.append([t("org_details", lang), str(org["description"])])
    year = result.get("year")
    rows.append([t("year", lang), int(year) if isinstance(year, int | str) and str(year).isdigit() else "—"])
    rows += [[k, v] for k, v in _header(result, lang)[2:]]
    rows.append([t("report_date", lang), format_date(today, lang, "long")])
    return rows


def _gwp_version(g: dict[str, Any], lang: Lang) -> str:
    """The GWP set's description in the report's language (the data file holds English)."""
    return data_text(str(g["version"]), lang)


def _meth_title(m: dict[str, Any], lang: Lang) -> str:
    return data_text(str(m.get("title", "")), lang)


def _gwp_source(g: dict[str, Any], lang: Lang) -> str:
    return data_text(str(g["source"]), lang)


def _article(text: str, lang: Lang) -> str:
    """``"296-FZ Art. 14(3)"`` → ``"296-ФЗ, ст. 14(3)"`` in Russian."""
    if lang == "en":
        return text
    law, art = t("law_296fz", lang), t("law_article", lang)
    return text.replace("296-FZ Art.", f"{law}, {art}").replace("296-FZ", law).replace("Art.", art)


def _category_name(code: str, lang: Lang) -> str:
    for cat in CATEGORIES.values():
        if cat.code == code:
            return cat.name(lang)
    return code


def _num(value: float, lang: Lang, digits: int | None = 0) -> str:
    return format_number(value, lang, digits)


def _fz_total(result: dict[str, Any]) -> float:
    """The 296-FZ total (GWP of order 2979-r); older results without it used the report's set."""
    return float(result.get("fz296", {}).get("total_co2e_t", result["totals"]["co2e_t"]))


def _fz_note(result: dict[str, Any], lang: Lang) -> str:
    if lang == "en":
        return str(result.get("fz296", {}).get("note", ""))
    total, thr = _num(_fz_total(result), lang), _num(result["threshold_t_co2e"], lang)
    art = _article(str(result.get("fz296", {}).get("article", "")), lang)
    if result["regulated_296fz"]:
        deadline = result.get("fz296", {}).get("report_deadline")
        return t("fz_note_due", lang, total=total, thr=thr, art=art, year=result["year"], deadline=deadline)
    return t("fz_note_not_due", lang, total=total, thr=thr, art=art)


def build_annual_report(result: dict[str, Any], lang: Lang = "en", *, org: dict[str, Any] | None = None,
                        today: date | None = None, signoff: list[SignOff] | None = None,
                        comparison: dict[str, Any] | None = None) -> ReportDocument:
    """``org``: the organisation's stored details (name, inn, description); ``today``: the report date;
    ``signoff``: who prepared, reviewed and approved it in the platform (``reports/signoff``), else blank lines;
    ``comparison``: a stored run's side-by-side comparisons (section "Tiers and measurements side by side")."""
    totals, gwp = result["totals"], result["gwp"]
    today = today or datetime.now(UTC).date()
    g_ch4, g_n2o = float(gwp["ch4_applied"]), float(gwp["values"]["n2o"])
    gas_rows: list[list[Cell]] = [
        [t("carbon_dioxide", lang), totals["co2_t"], 1.0, totals["co2_t"]],
        [t("methane", lang), totals["ch4_t"], g_ch4, totals["ch4_t"] * g_ch4],
        [t("nitrous_oxide", lang), totals["n2o_t"], g_n2o, totals["n2o_t"] * g_n2o],
    ]
    by_cat: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for a in _scope1(result):
        acc = by_cat[a.get("category", a["type"])]
        for i, k in enumerate(("co2_t", "ch4_t", "n2o_t", "co2e_t")):
            acc[i] += a[k]
    cat_rows: list[list[Cell]] = [[code, _category_name(code, lang), *vals] for code, vals in sorted(by_cat.items())]
    m = result["methodology"]
    meth_rows: list[list[Cell]] = [
        [t("methodology", lang), f"{m['name']} v{m['version']}: {_meth_title(m, lang)}"],
        [t("factor_sets", lang), ", ".join(f"{s['name']} v{s['version']}" for s in m.get("factor_sets", []))],
        [t("gwp_set", lang), f"{gwp['name']} ({_gwp_version(gwp, lang)}): CH4 {_num(g_ch4, lang, None)}, "
                             f"N2O {_num(g_n2o, lang, None)}"],
        [t("source", lang), _gwp_source(gwp, lang)],
    ]
    fz_rows: list[list[Cell]] = [
        [
            row["threshold_t_co2e"],
            _article(str(row["article"]), lang),
            row["reports_from"],
            yes_no(bool(row["applies"]), lang),
            yes_no(bool(row["reached"]), lang),
        ]
        for row in result["thresholds"]
    ]
    deadline = result.get("fz296", {}).get("report_deadline") or t("none", lang)
    fz_totals = (f"{t('fz_total', lang)}: {_num(_fz_total(result), lang)}. "
                 f"{t('report_total', lang, gwp=gwp['name'])}: {_num(totals['co2e_t'], lang)}. ")
    sections = [
        Section(
            "organisation",
            t("sec_org", lang),
            [t("item", lang), t("value", lang)],
            _org_rows(result, lang, org, today),
        ),
        Section(
            "by_gas",
            t("sec_gas", lang),
            [t("gas", lang), t("mass_t", lang), t("gwp", lang), t("co2e_t", lang)],
            gas_rows,
        ),
        Section(
            "by_category",
            t("sec_cat", lang),
            [
                t("code", lang),
                t("category", lang),
                t("co2_t", lang),
                t("ch4_t", lang),
                t("n2o_t", lang),
                t("co2e_t", lang),
            ],
            cat_rows,
        ),
        Section(
            "total",
            t("sec_total", lang),
            [t("item", lang), t("value", lang)],
            [
                [t("total_co2e", lang), totals["co2e_t"]],
                [t("co2_t", lang), totals["co2_t"]],
                [t("ch4_t", lang), totals["ch4_t"]],
                [t("n2o_t", lang), totals["n2o_t"]],
                *_scope2_rows(result, lang),
            ],
        ),
        Section("methodology", t("sec_meth", lang), [t("item", lang), t("value", lang)], meth_rows),
        Section(
            "fz296",
            t("sec_fz", lang),
            [t("threshold", lang), t("article", lang), t("reports_from", lang), t("applies", lang), t("reached", lang)],
            fz_rows,
            note=f"{fz_totals}{t('regulated', lang)}: {yes_no(bool(result['regulated_296fz']), lang)}. "
            f"{t('deadline', lang)}: {deadline}. {_fz_note(result, lang)}",
        ),
        _facility_section(result, lang),
        _data_quality_section(result, lang),
        tiers_section(comparison, result, lang),
        _sign_off_section(lang, signoff),
    ]
    return ReportDocument(
        "annual",
        lang,
        t("annual_title", lang),
        _header(result, lang),
        _numbered(sections),
        result["inputs_sha256"],
        _chart(result, lang),
    )


_NUMBER = re.compile(r"^\d+\.\s*")


def _numbered(sections: list[Section | None]) -> list[Section]:
    """The sections present, numbered 1..n in order (a section left out, such as an empty comparison, leaves no
    gap in the numbering)."""
    out = [s for s in sections if s is not None]
    for i, s in enumerate(out, 1):
        s.title = f"{i}. {_NUMBER.sub('', s.title)}"
    return out


SignOff = tuple[str, str, date]
"""(role: ``prepared_by``, ``reviewed_by`` or ``approved_by``; user name; date) of a platform sign-off."""


def _sign_off_section(lang: Lang, signoff: list[SignOff] | None = None) -> Section:
    """Blank lines for the preparer's and the approver's name, position, signature and date; with ``signoff``,
    the platform users who signed it off and when (the position and the handwritten signature stay blank)."""
    blank = "________________"
    rows: list[list[Cell]] = [[t(role, lang), blank, blank, blank, "«___» ____________ 20__"]
                              for role in ("prepared_by", "approved_by")] if not signoff else [
        [t(role, lang), name, blank, blank, format_date(day, lang, "long")] for role, name, day in signoff]
    return Section("sign_off", t("sec_sign", lang),
                   [t("role", lang), t("full_name", lang), t("position", lang), t("signature", lang),
                    t("date", lang)], rows)


def _label(a: dict[str, Any], lang: Lang) -> str:
    """An activity in words: its facility and source category, not its internal id."""
    name = _category_name(str(a.get("category", "")), lang)
    return f"{a['facility']}: {name}" if a.get("facility") else name


def _scope1(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Direct emissions (results before scopes were recorded are all Scope 1)."""
    return [a for a in result["activities"] if a.get("scope", 1) == 1]


def _scope2_rows(result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    """Scope 2 (purchased energy) beside, never inside, the direct total."""
    def name(a: dict[str, Any]) -> str:
        cat = CATEGORIES.get(str(a["type"]))
        return cat.name(lang) if cat else str(a["type"])

    return [[f"{t('scope2', lang)}: {name(a)} ({a.get('facility') or a['id']})", a["co2_t"]]
            for a in result["activities"] if a.get("scope", 1) == 2]


def _facility_section(result: dict[str, Any], lang: Lang) -> Section:
    by_fac: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for a in _scope1(result):
        acc = by_fac[str(a.get("facility") or t("no_facility", lang))]
        for i, k in enumerate(("co2_t", "ch4_t", "n2o_t", "co2e_t")):
            acc[i] += a[k]
    rows: list[list[Cell]] = [[name, *vals] for name, vals in sorted(by_fac.items())]
    return Section("by_facility", t("sec_facility", lang),
                   [t("facility", lang), t("co2_t", lang), t("ch4_t", lang), t("n2o_t", lang), t("co2e_t", lang)], rows)


def _period(p: dict[str, str]) -> str:
    return f"{p['start'][:10]} – {p['end'][:10]}"


def data_quality_rows(result: dict[str, Any], lang: Lang) -> list[list[Cell]]:
    """Coverage, gap policy, counted period and the statements every report prints (issue 13 item 10)."""
    dq = result.get("data_quality")
    if not dq:
        rows: list[list[Cell]] = [[t("dq_measured", lang), t("dq_document", lang)]]
        if not result["activities"]:
            rows.append([t("item", lang), t("dq_no_data", lang)])
        return rows
    rows = [
        [t("dq_requested", lang), _period(dq["requested_period"])],
        [t("dq_counted", lang), _period(dq["counted_period"])],
        [t("dq_future", lang), t("dq_future_excluded" if dq["future_excluded"] else "dq_future_none", lang)],
        [t("dq_rows", lang), int(dq["activity_rows"])],
        [t("dq_pro_rated", lang), len(dq["pro_rated"])],
    ]
    if not dq["include_measured"]:
        rows.append([t("dq_measured", lang), t("dq_measured_no", lang)])
    else:
        policy = f"{t('gap_' + dq['gap_policy'], lang)}; {t('mp_' + dq['measured_policy'], lang)}"
        rows.append([t("dq_policy", lang), policy])
        rows.append([t("dq_min", lang), format_percent(float(dq["min_coverage"]), lang, 0)])
        for f in dq["facilities"]:
            share = format_percent(float(f["uncovered_share"]), lang, 2)
            how = t("dq_t_" + f["treatment"], lang, gap=t("gap_" + dq["gap_policy"], lang), share=share)
            rows.append([t("dq_facility", lang, name=f["facility"]),
                         f"{format_percent(float(f['data_fraction']), lang, 2)}: {how}"])
    if dq.get("no_activity_data"):
        rows.append([t("item", lang), t("dq_no_data", lang)])
    return rows


def _data_quality_section(result: dict[str, Any], lang: Lang) -> Section:
    return Section("data_quality", t("sec_dq", lang), [t("item", lang), t("value", lang)],
                   data_quality_rows(result, lang))


def _chart(result: dict[str, Any], lang: Lang) -> Chart | None:
    acts = sorted(result["activities"], key=lambda a: -a["co2e_t"])[:_MAX_CHART_BARS]
    if not acts:
        return None
    return Chart(t("chart_acts", lang), [_label(a, lang) for a in acts], [a["co2e_t"] for a in acts],
                 t("co2e_t", lang))


def build_detail_report(result: dict[str, Any], lang: Lang = "en", *,
                        comparison: dict[str, Any] | None = None) -> ReportDocument:
    """``comparison``: a stored run's side-by-side comparisons, printed after the data coverage."""
    acts: list[list[Cell]] = [
        [a["id"], a["type"], a.get("category", ""), a["co2_t"], a["ch4_t"], a["n2o_t"], a["co2e_t"]]
        for a in result["activities"]
    ]
    factors: list[list[Cell]] = [
        [a["id"], f["name"], f["value"], f["unit"], f["source"]] for a in result["activities"] for f in a["factors"]
    ]
    sections = [
        Section(
            "activities",
            t("sec_acts", lang),
            [
                t("id", lang),
                t("type", lang),
                t("code", lang),
                t("co2_t", lang),
                t("ch4_t", lang),
                t("n2o_t", lang),
                t("co2e_t", lang),
            ],
            acts,
            sheet="Detail",
        ),
        Section(
            "factors",
            t("sec_factors", lang),
            [t("id", lang), t("factor", lang), t("value", lang), t("unit", lang), t("source", lang)],
            factors,
            sheet="Factors",
        ),
        Section(
            "total",
            t("sec_total", lang),
            [t("item", lang), t("value", lang)],
            [[t(k, lang), result["totals"][k]] for k in ("co2e_t", "co2_t", "ch4_t", "n2o_t")],
        ),
        _data_quality_section(result, lang),
    ]
    tiers = tiers_section(comparison, result, lang)
    if tiers is not None:
        tiers.title = t("sec_tiers", lang)  # the detail's sections are not numbered
        sections.append(tiers)
    return ReportDocument(
        "detail",
        lang,
        t("detail_title", lang),
        _header(result, lang),
        sections,
        result["inputs_sha256"],
        _chart(result, lang),
    )
