"""English and Russian labels of the reports."""

from __future__ import annotations

from ghgwatch.reports.document import Lang

_LABELS: dict[str, tuple[str, str]] = {
    "annual_title": ("Annual greenhouse-gas emissions report", "Отчет о выбросах парниковых газов за год"),
    "detail_title": ("Emission inventory: detail and provenance", "Инвентаризация выбросов: детализация и источники"),
    "safety_title": ("Monthly methane-safety report", "Ежемесячный отчет по метановой безопасности"),
    "org": ("Organisation", "Организация"),
    "year": ("Reporting year", "Отчетный год"),
    "methodology": ("Methodology", "Методика"),
    "gwp_set": ("GWP set", "Набор ПГП"),
    "sha": ("Inputs SHA-256", "SHA-256 исходных данных"),
    "sec_org": ("1. Organisation and reporting period", "1. Сведения об организации и отчетном периоде"),
    "sec_gas": ("2. Emissions by greenhouse gas", "2. Выбросы по парниковым газам"),
    "sec_cat": ("3. Emissions by source category", "3. Выбросы по категориям источников"),
    "sec_total": ("4. Total emissions", "4. Суммарные выбросы"),
    "sec_meth": ("5. Methodologies and GWP values used", "5. Примененные методики и ПГП"),
    "sec_fz": ("6. Status under Federal Law 296-FZ", "6. Статус по Федеральному закону № 296-ФЗ"),
    "sec_acts": ("Activities", "Виды деятельности"),
    "sec_factors": ("Factors and their sources", "Коэффициенты и их источники"),
    "sec_exc": ("Exceedances", "Превышения"),
    "sec_sensors": ("Summary by sensor", "Сводка по датчикам"),
    "item": ("Item", "Показатель"),
    "value": ("Value", "Значение"),
    "gas": ("Gas", "Газ"),
    "mass_t": ("Emissions, t", "Выбросы, т"),
    "gwp": ("GWP", "ПГП"),
    "co2e_t": ("CO2e, t", "CO2-экв., т"),
    "co2_t": ("CO2, t", "CO2, т"),
    "ch4_t": ("CH4, t", "CH4, т"),
    "n2o_t": ("N2O, t", "N2O, т"),
    "code": ("Code", "Код"),
    "category": ("Category", "Категория"),
    "id": ("Activity", "Деятельность"),
    "type": ("Type", "Тип"),
    "factor": ("Factor", "Коэффициент"),
    "unit": ("Unit", "Ед. изм."),
    "source": ("Source", "Источник"),
    "version": ("Version", "Версия"),
    "factor_sets": ("Factor sets", "Наборы коэффициентов"),
    "threshold": ("Threshold, t CO2e", "Порог, т CO2-экв."),
    "article": ("Article", "Статья"),
    "reports_from": ("Reports from", "Отчетность с"),
    "applies": ("Applies to the year", "Применяется к году"),
    "reached": ("Reached", "Достигнут"),
    "regulated": ("Regulated organisation (emission criterion)", "Регулируемая организация (по объему выбросов)"),
    "deadline": ("Report deadline", "Срок представления отчета"),
    "total_co2e": ("Total, t CO2e", "Итого, т CO2-экв."),
    "chart_acts": ("CO2e by activity, t", "CO2-экв. по видам деятельности, т"),
    "chart_sensors": ("Exceedance time by sensor, min", "Длительность превышений по датчикам, мин"),
    "sensor": ("Sensor", "Датчик"),
    "start": ("Start", "Начало"),
    "end": ("End", "Окончание"),
    "duration_min": ("Duration, min", "Длительность, мин"),
    "peak": ("Peak, % CH4", "Максимум, % CH4"),
    "peak_at": ("Peak at", "Время максимума"),
    "count": ("Exceedances", "Число превышений"),
    "ongoing": ("Ongoing at end of data", "Продолжается на конец данных"),
    "month": ("Month", "Месяц"),
    "threshold_pct": ("Threshold, % CH4", "Порог, % CH4"),
    "thresholds_by_sensor": ("Alarm level by sensor, % CH4", "Уровень аварийной сигнализации по датчикам, % CH4"),
    "yes": ("yes", "да"),
    "no": ("no", "нет"),
    "carbon_dioxide": ("Carbon dioxide (CO2)", "Диоксид углерода (CO2)"),
    "methane": ("Methane (CH4)", "Метан (CH4)"),
    "nitrous_oxide": ("Nitrous oxide (N2O)", "Закись азота (N2O)"),
    "none": ("none", "нет"),
}


def t(key: str, lang: Lang) -> str:
    en, ru = _LABELS[key]
    return ru if lang == "ru" else en


def yes_no(value: bool, lang: Lang) -> str:
    return t("yes" if value else "no", lang)
