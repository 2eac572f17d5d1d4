"""Federal Law 296-FZ of 02.07.2021 thresholds for GHG reporting (Art. 14), METHODOLOGY §2.2.

- Art. 14(2): organisations with >= 150,000 t CO2e/yr report from 1 January 2023, i.e. for 2022
  emissions onwards [V: S8].
- Art. 14(3): organisations with >= 50,000 t CO2e/yr are regulated from 2024 and report from
  1 January 2025, i.e. for 2024 emissions onwards [V: S8, S8b].
- Report deadline: 1 July of the year after the reporting year [V: S8c].

Only the emission threshold is checked; whether an organisation is "regulated" also depends on its
activities (Government Decree No. 355 of 14.03.2022 [V: S22]), which this check does not assess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

FZ296_GWP = "ru2979r"
"""The GWP set of the 296-FZ threshold check: Government Order No. 2979-r of 22.10.2021 (AR4 values),
METHODOLOGY §2.1 [V: S7]."""


@dataclass(frozen=True, slots=True)
class Threshold:
    threshold_t_co2e: float
    article: str
    first_reporting_year: int  # the first year whose emissions are reported
    reports_from: date


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(150_000, "296-FZ Art. 14(2)", 2022, date(2023, 1, 1)),
    Threshold(50_000, "296-FZ Art. 14(3)", 2024, date(2025, 1, 1)),
)


@dataclass(frozen=True, slots=True)
class Fz296Status:
    year: int
    total_t_co2e: float
    threshold_t_co2e: float
    article: str
    regulated: bool
    report_deadline: date | None
    thresholds: list[dict[str, object]]
    note: str


def check_296fz(total_t_co2e: float, year: int) -> Fz296Status:
    """Which threshold applies to ``year`` and whether ``total_t_co2e`` reaches it (>=)."""
    applicable = [t for t in THRESHOLDS if t.first_reporting_year <= year]
    # The lowest threshold in force for that year applies; before 2022 none applied yet (the first one
    # is still returned so that callers always get a number, with regulated = False).
    current = min(applicable, key=lambda t: t.threshold_t_co2e) if applicable else THRESHOLDS[0]
    regulated = bool(applicable) and total_t_co2e >= current.threshold_t_co2e
    rows: list[dict[str, object]] = [
        {
            "threshold_t_co2e": t.threshold_t_co2e,
            "article": t.article,
            "first_reporting_year": t.first_reporting_year,
            "reports_from": t.reports_from.isoformat(),
            "in_force_for_year": t.first_reporting_year <= year,
            "applies": bool(applicable) and t is current,
            "reached": total_t_co2e >= t.threshold_t_co2e,
        }
        for t in THRESHOLDS
    ]
    if not applicable:
        note = f"No 296-FZ reporting obligation existed for {year} (first reporting year 2022)."
    elif regulated:
        note = (
            f"Total {total_t_co2e:,.0f} t CO2e >= {current.threshold_t_co2e:,.0f} t CO2e "
            f"({current.article}): GHG report for {year} due by {date(year + 1, 7, 1).isoformat()}."
        )
    else:
        note = (
            f"Total {total_t_co2e:,.0f} t CO2e < {current.threshold_t_co2e:,.0f} t CO2e ({current.article}): "
            "no 296-FZ report required on the emission criterion."
        )
    return Fz296Status(
        year=year,
        total_t_co2e=total_t_co2e,
        threshold_t_co2e=current.threshold_t_co2e,
        article=current.article,
        regulated=regulated,
        report_deadline=date(year + 1, 7, 1) if regulated else None,
        thresholds=rows,
        note=note,
    )
