"""Translated labels: enum values shown in pages, and the strings the page scripts show (sent as JSON)."""

from __future__ import annotations

from ghgwatch.i18n import N_, Translator

JS_TEXTS = (
    N_("Signed out"),
    N_("in progress"),
    N_("done"),
    N_("Start work"),
    N_("Mark done"),
    N_("{n} work orders"),
    N_("waiting for acknowledgement"),
    N_("acknowledged by equipment"),
    N_("carried out"),
    N_("failed"),
    N_("reduce combine load"),
    N_("stop the shearer"),
    N_("start the degassing pump"),
    N_("open the flare valve"),
    N_("ALARM"),
    N_("sensor {id}"),
    N_("source {id}"),
    N_("facility {id}"),
    N_("Open alerts"),
    N_("Dismiss"),
    N_("No open alerts."),
    N_("normal"),
    N_("warning"),
    N_("alarm"),
    N_("silent"),
    N_("open"),
    N_("acknowledged"),
    N_("resolved"),
    N_("Acknowledge"),
    N_("Resolve"),
    N_("Comment"),
    N_("Saved."),
    N_("Deleted."),
    N_("Edit"),
    N_("Delete"),
    N_("Delete this row?"),
    N_("Cancel"),
    N_("Save"),
    N_("Create"),
    N_("Previous"),
    N_("Next"),
    N_("{from}–{to} of {total}"),
    N_("Imported {n} rows."),
    N_("Row {row}: {message}"),
    N_("Import finished with errors."),
    N_("Copy this token now: it is shown only once."),
    N_("Device token"),
    N_("HMAC secret"),
    N_("MQTT username"),
    N_("MQTT topic"),
    N_("The MQTT password is the device token."),
    N_("Close"),
    N_("Revoke"),
    N_("Revoked."),
    N_("History"),
    N_("No data in this period."),
    N_("limit"),
    N_("warning level"),
    N_("alarm level"),
    N_("value"),
    N_("forecast"),
    N_("lower bound"),
    N_("upper bound"),
    N_("filled"),
    N_("original"),
    N_("Quality flags"),
    N_("flagged points: {n}"),
    N_("Loading…"),
    N_("Running…"),
    N_("Run finished."),
    N_("Promoted."),
    N_("Job queued."),
    N_("Job failed."),
    N_("Acknowledged."),
    N_("Resolved."),
    N_("Add comment"),
    N_("Comment added."),
    N_("commented"),
    N_("of limit"),
    N_("no data"),
    N_("Details"),
    N_("yes"),
    N_("no"),
    N_("Sensor"),
    N_("Value"),
    N_("Time"),
    N_("State"),
    N_("Actions"),
    N_("Total"),
    N_("Gas"),
    N_("Source"),
    N_("Facility"),
    N_("Category"),
    N_("tonnes"),
    N_("t CO2e"),
    N_("Activity"),
    N_("Method"),
    N_("Factor"),
    N_("296-FZ"),
    N_("Annual report"),
    N_("Below the threshold"),
    N_("By facility"),
    N_("By gas"),
    N_("By source"),
    N_("Code version"),
    N_("Data (JSON)"),
    N_("Detail report"),
    N_("Difference, %"),
    N_("Factor sets"),
    N_("Inputs hash"),
    N_("draft"),
    N_("reviewed"),
    N_("approved"),
    N_("submitted"),
    N_("Inputs changed: new version #{id}."),
    N_("Inputs unchanged."),
    N_("Review"),
    N_("Approve"),
    N_("Submit"),
    N_("Reject"),
    N_("Reason"),
    N_("Refresh"),
    N_("Check inputs"),
    N_("Differences"),
    N_("restated by #{id}"),
    N_("Item"),
    N_("Old"),
    N_("New"),
    N_("Difference"),
    N_("Version {v} against version {p}"),
    N_("Measured CH4, t"),
    N_("Measured vs Tier 1"),
    N_("Methodology"),
    N_("No facility has both measured methane and a Tier 1 activity in this run."),
    N_("Promote"),
    N_("Regulated: report due"),
    N_("Run"),
    N_("Tier 1 CH4, t"),
    N_("threshold"),
)
"""Every text the scripts in ``static/js`` show (their key is the English text)."""


def js_strings(t: Translator) -> dict[str, str]:
    return {text: t.gettext(text) for text in JS_TEXTS}


LABELS: dict[str, str] = {
    # roles
    "admin": N_("administrator"), "engineer": N_("engineer"), "operator": N_("operator"),
    "auditor": N_("auditor"),
    # facility types
    "underground_mine": N_("underground mine"), "surface_mine": N_("surface mine"),
    "processing_plant": N_("processing plant"), "boiler_house": N_("boiler house"), "other": N_("other"),
    # source types
    "ventilation_shaft": N_("ventilation shaft"), "drainage_station": N_("drainage station"),
    "gas_suction_unit": N_("gas suction unit"), "flare": N_("flare"), "gas_engine": N_("gas engine"),
    "boiler": N_("boiler"),
    # sensor kinds
    "methane": N_("methane"), "co2": N_("carbon dioxide"), "n2o": N_("nitrous oxide"), "air_flow": N_("air flow"),
    "air_velocity": N_("air velocity"), "temperature": N_("temperature"), "pressure": N_("pressure"),
    "differential_pressure": N_("differential pressure"), "humidity": N_("humidity"), "gas_flow": N_("gas flow"),
    # statuses and mining methods of the mine reference database
    "measured": N_("measured"), "reported": N_("reported"), "estimated": N_("estimated"),
    "restored": N_("restored"), "low": N_("low"), "average": N_("average"),
    "high": N_("high"), "underground": N_("underground"), "surface": N_("surface"), "mixed": N_("mixed"),
    # chart ranges
    "15m": N_("15 min"), "1h": N_("1 hour"), "6h": N_("6 hours"), "1d": N_("1 day"), "7d": N_("7 days"),
    "30d": N_("30 days"), "90d": N_("90 days"),
}
"""Display names of enum values (roles, facility, source and sensor kinds); unknown values show as they are."""


def label(t: Translator, value: object) -> str:
    key = str(getattr(value, "value", value))
    return t.gettext(LABELS[key]) if key in LABELS else key


TABLES: dict[str, str] = {
    "organizations": N_("Organisations"), "facilities": N_("Facilities"), "sources": N_("Emission sources"),
    "sensors": N_("Sensors"), "devices": N_("Devices"), "users": N_("Users"),
    "mines": N_("Mines"), "mine-years": N_("Mine years"), "seams": N_("Coal seams"),
}

FIELDS: dict[str, str] = {
    "id": N_("ID"), "name": N_("Name"), "inn": N_("INN"), "description": N_("Description"),
    "organization_id": N_("Organisation"), "type": N_("Type"), "latitude": N_("Latitude"),
    "longitude": N_("Longitude"), "region": N_("Region"), "gem_mine_id": N_("GEM mine ID"),
    "facility_id": N_("Facility"), "source_id": N_("Source"), "gem_feature_id": N_("GEM feature ID"),
    "kind": N_("Kind"), "unit": N_("Unit"), "range_min": N_("Range from"), "range_max": N_("Range to"),
    "warning_level": N_("Warning level"), "alarm_level": N_("Alarm level"),
    "expected_interval_s": N_("Expected interval, s"), "calibrated_on": N_("Calibrated on"),
    "location": N_("Location"), "serial": N_("Serial number"), "active": N_("Active"),
    "require_signature": N_("Signed readings only"), "created_by": N_("Created by"), "revoked_at": N_("Revoked at"),
    "username": N_("Username"), "role": N_("Role"), "password": N_("Password"),
    "mqtt_username": N_("MQTT username"), "mqtt_topic": N_("MQTT topic"),
}


def field_labels(t: Translator) -> dict[str, str]:
    return {key: t.gettext(text) for key, text in FIELDS.items()}


def table_label(t: Translator, key: str) -> str:
    return t.gettext(TABLES[key]) if key in TABLES else key
