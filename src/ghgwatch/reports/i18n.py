"""English and Russian labels of the reports, through the ``reports`` gettext catalog.

Each label has a key used by the report builders and an English text marked with ``N_`` (so that Babel's extractor
and ``tests/i18n`` find it); the Russian text is in ``i18n/locales/ru/LC_MESSAGES/reports.po``. Texts that come from
the data files (GWP set descriptions and sources, methodology titles) are English there and translated through the
same catalog with :func:`data_text`.
"""

from __future__ import annotations

from ghgwatch.i18n import N_, translator
from ghgwatch.reports.document import Lang

DOMAIN = "reports"


_LABELS: dict[str, str] = {
    "annual_title": N_("Annual greenhouse-gas emissions report"),
    "detail_title": N_("Emission inventory: detail and provenance"),
    "safety_title": N_("Monthly methane-safety report"),
    "org": N_("Organisation"),
    "year": N_("Reporting year"),
    "methodology": N_("Methodology"),
    "gwp_set": N_("GWP set"),
    "sha": N_("Inputs SHA-256"),
    "sec_org": N_("1. Organisation and reporting period"),
    "sec_gas": N_("2. Emissions by greenhouse gas"),
    "sec_cat": N_("3. Emissions by source category"),
    "sec_total": N_("4. Total emissions"),
    "sec_meth": N_("5. Methodologies and GWP values used"),
    "sec_fz": N_("6. Status under Federal Law 296-FZ"),
    "sec_acts": N_("Activities"),
    "sec_factors": N_("Factors and their sources"),
    "sec_exc": N_("Exceedances"),
    "sec_sensors": N_("Summary by sensor"),
    "item": N_("Item"),
    "value": N_("Value"),
    "gas": N_("Gas"),
    "mass_t": N_("Emissions, t"),
    "gwp": N_("GWP"),
    "co2e_t": N_("CO2e, t"),
    "co2_t": N_("CO2, t"),
    "ch4_t": N_("CH4, t"),
    "n2o_t": N_("N2O, t"),
    "code": N_("Code"),
    "category": N_("Category"),
    "id": N_("Activity"),
    "type": N_("Type"),
    "factor": N_("Factor"),
    "unit": N_("Unit"),
    "source": N_("Source"),
    "version": N_("Version"),
    "factor_sets": N_("Factor sets"),
    "threshold": N_("Threshold, t CO2e"),
    "article": N_("Article"),
    "reports_from": N_("Reports from"),
    "applies": N_("Applies to the year"),
    "reached": N_("Reached"),
    "regulated": N_("Regulated organisation (emission criterion)"),
    "deadline": N_("Report deadline"),
    "total_co2e": N_("Total, t CO2e"),
    "chart_acts": N_("CO2e by activity, t"),
    "chart_sensors": N_("Exceedance time by sensor, min"),
    "sensor": N_("Sensor"),
    "start": N_("Start"),
    "end": N_("End"),
    "duration_min": N_("Duration, min"),
    "peak": N_("Peak, % CH4"),
    "peak_at": N_("Peak at"),
    "count": N_("Number of exceedances"),
    "ongoing": N_("Ongoing at end of data"),
    "month": N_("Month"),
    "threshold_pct": N_("Threshold, % CH4"),
    "thresholds_by_sensor": N_("Alarm level by sensor, % CH4"),
    "yes": N_("yes"),
    "no": N_("no"),
    "carbon_dioxide": N_("Carbon dioxide (CO2)"),
    "methane": N_("Methane (CH4)"),
    "nitrous_oxide": N_("Nitrous oxide (N2O)"),
    "none": N_("none"),
    "sec_facility": N_("7. Emissions by facility"),
    "sec_dq": N_("8. Data coverage and completeness"),
    "facility": N_("Facility"),
    "no_facility": N_("(not assigned)"),
    "fz_total": N_("Total for the 296-FZ check (GWP of order 2979-r), t CO2e"),
    "report_total": N_("Total with the report's GWP set ({gwp}), t CO2e"),
    "dq_requested": N_("Requested period"),
    "dq_counted": N_("Period counted"),
    "dq_future": N_("Future part of the period"),
    "dq_future_excluded": N_("not counted (after the time of calculation)"),
    "dq_future_none": N_("none"),
    "dq_rows": N_("Activity data records counted"),
    "dq_pro_rated": N_("Records pro-rated to the period"),
    "dq_measured": N_("Measured (telemetry) data"),
    "dq_measured_no": N_("not used in this run"),
    "dq_policy": N_("Gap policy; below minimum coverage"),
    "dq_min": N_("Minimum coverage"),
    "dq_facility": N_("Telemetry coverage, {name}"),
    "dq_t_measured": N_("measured value used, remaining gaps: {gap}"),
    "dq_t_complement": N_("measured for the covered time; factor-based (Tier 1) estimate for the uncovered {share}"),
    "dq_t_measured_only": N_("measured for the covered time only; the uncovered {share} is NOT "
                             "estimated (no production data)"),
    "dq_no_data": N_("There are no activity data for this organisation and period: the "
                     "total of 0 is not an emission estimate."),
    "dq_document": N_("Calculated from an input document: activity data as given in it, no telemetry."),
    "gap_mean": N_("filled with the mean rate"),
    "gap_interpolate": N_("linear interpolation"),
    "gap_omit": N_("not counted"),
    "mp_complement": N_("factor-based estimate for the uncovered share"),
    "mp_refuse": N_("calculation refused"),
    "inn": N_("INN (taxpayer number)"),
    "scope2": N_("Scope 2 (indirect, not in the total), t CO2"),
    "time_zone": N_("Time zone of the month and times"),
    "not_given": N_("not given"),
    "org_details": N_("Details"),
    "report_date": N_("Report date"),
    "sec_sign": N_("9. Signatures"),
    "role": N_("Role"),
    "prepared_by": N_("Prepared by"),
    "approved_by": N_("Approved by"),
    "reviewed_by": N_("Reviewed by"),
    "report_version": N_("Report version"),
    "restates": N_("Restates version"),
    "full_name": N_("Full name"),
    "position": N_("Position"),
    "signature": N_("Signature"),
    "date": N_("Date"),
    "sheet_Summary": N_("Summary"),
    "sheet_Detail": N_("Detail"),
    "sheet_Factors": N_("Factors"),
    "sheet_Exceedances": N_("Exceedances"),
    "fz_note_due": N_("Emissions {total} t CO2e ≥ {thr} t CO2e ({art}): the emissions report for {year} is due by "
                      "{deadline}."),
    "fz_note_not_due": N_("Emissions {total} t CO2e < {thr} t CO2e ({art}): no report is required by the emissions "
                          "criterion."),
    # The section "Tiers and measurements side by side" (reports.tiers).
    "sec_tiers": N_("Tiers and measurements side by side"),
    "cmp_kind": N_("Comparison"),
    "cmp_variant": N_("Variant"),
    "cmp_in_total": N_("In the total"),
    "cmp_why": N_("Why"),
    "cmp_note": N_("Each comparison shows the value in the total and the one calculated without the stored or "
                   "measured data; only one of them is counted."),
    "cmp_facility_no": N_("facility No. {id}"),
    "cmp_t3": N_("Measured vs factor-based (Tier 3 vs Tier 1/2)"),
    "cmp_measured": N_("Measured (Tier 3)"),
    "cmp_tier1": N_("Tier 1 (default factor)"),
    "cmp_tier2": N_("Tier 2 (mine reference database)"),
    "cmp_t3_why": N_("The measured methane of the mine (ventilation and drainage telemetry) is in the total; the "
                     "{tier} estimate of its coal-mining rows is shown beside it and not counted, so the methane "
                     "is not counted twice. Measured minus estimate: {diff}."),
    "cmp_t3_factor": N_("Not counted: replaced by the measured value for this facility."),
    "cmp_t2": N_("Tier 2 vs Tier 1 (coal mining)"),
    "cmp_t2_why": N_("Tier 2: relative methane content {m3t} m3/t of {mine} for {year} from the mine reference "
                     "database, status: {status}; source: {source} (record {record}, version {v})."),
    "cmp_t2_caution": N_("The value is not measured or reported: use with caution."),
    "cmp_t1_beside": N_("Not counted: the Tier 1 estimate without the reference value, shown for comparison."),
    "cmp_given": N_("Value given in the activity data"),
    "cmp_t2_given": N_("The relative methane content (m3/t) is given in the activity data and kept."),
    "cmp_t1_no_mine": N_("Stayed Tier 1: no reference mine is linked to the facility (attribute ref_mine_key or "
                         "GEM id)."),
    "cmp_t1_no_value": N_("Stayed Tier 1: the reference database has no relative methane content of {mine} for "
                          "{year}."),
    "cmp_lab": N_("Lab composition vs Order 371 Table 3.1"),
    "cmp_lab_sample": N_("Lab sample composition"),
    "cmp_table": N_("Order 371 Table 3.1 default"),
    "cmp_lab_why": N_("{gas} {pct} % from lab sample {sample} of {date} (laboratory: {lab}, certificate: {cert}) "
                      "instead of the Table 3.1 default"),
    "cmp_lab_no_source": N_("The activity row names no source, so no lab sample applies: the table value stays."),
    "cmp_kept_given": N_("given in the activity data"),
    "cmp_kept_default": N_("Table 3.1 default kept (no usable lab sample within 365 days)"),
    "cmp_kept_none": N_("not given, taken as 0 (no usable lab sample within 365 days)"),
    "cmp_table_beside": N_("Not counted: the Table 3.1 default composition, shown for comparison."),
    "cmp_leak": N_("Measured leak (UAV)"),
    "cmp_leak_measured": N_("Measured leak"),
    "cmp_leak_what": N_("UAV flight {flight} ({method}), {hours} h in the period, 95 % interval {lo} – {hi} t CH4."),
    "cmp_leak_added": N_("No facility-wide figure covers this source: the leak is added to the total."),
    "cmp_leak_covered": N_("Not added: the facility's mine methane is in the total as a facility-wide figure, "
                           "which covers its leaks; the leak is {share} of that figure for the same hours."),
    "cmp_leak_figure": N_("Facility figure for the same hours"),
    "cmp_leak_figure_why": N_("The facility's mine methane in the total ({total} t CH4 for the period), pro-rated "
                              "to the leak's hours."),
    "status_measured": N_("measured"),
    "status_reported": N_("reported"),
    "status_estimated": N_("estimated"),
    "status_restored": N_("restored"),
    "uav_mass_balance": N_("mass balance"),
    "uav_plume": N_("plume model"),
    # Legal words inside texts of the data files, see annual._article.
    "law_296fz": N_("296-FZ"),
    "law_article": N_("Art."),
}


def has_label(key: str) -> bool:
    return key in _LABELS


def t(key: str, lang: Lang, **values: object) -> str:
    return translator(lang, DOMAIN).gettext(_LABELS[key], **values)


def data_text(text: str, lang: Lang) -> str:
    """A data file's English text (GWP set, methodology) in the report's language; itself where not translated."""
    return translator(lang, DOMAIN).gettext(text) if text else text


def yes_no(value: bool, lang: Lang) -> str:
    return t("yes" if value else "no", lang)
