"""The organisation-scoping decision of every API operation (issue 12).

Every operation of the API must appear here with how it keeps one organisation's data from another's;
``tests/security/test_scoping.py`` walks the app's route table and fails for an operation missing from this table
(a new route needs a decision) or listed here but gone, and it checks each decision with a user of another
organisation. Paths are relative to ``/api/v1``.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    PUBLIC = "public"
    """No organisation's data: login, reference tables (GWP sets, the public GEM mine list)."""
    SELF = "self"
    """The caller's own account."""
    OBJECT = "object"
    """One object named in the path: another organisation's object answers 403 or 404, and is not changed."""
    LISTING = "listing"
    """Rows of the caller's organisation only, besides public reference rows (a filter naming another
    organisation's object finds nothing or answers 403/404)."""
    PARENT = "parent"
    """Creates or computes under an organisation or object named in the body or query: another organisation's
    answers 403, 404 or 422 (naming the field), and nothing is written."""
    DEVICE = "device"
    """Device token (``gwd_...``), not a user: the organisation is the device's; user tokens are refused."""
    PLATFORM = "platform"
    """Platform administrators only (no organisation)."""
    SIGNED = "signed"
    """No user: the caller proves it holds the secret of the object's organisation (an HMAC signature of the
    body with the secret of the object's response rule); unsigned or signed with another secret answers 401, and
    nothing changes."""
    FIGURES = "figures"
    """Figures computed over the rows visible to the caller (public reference rows and its organisation's), naming
    no row: another organisation's figures leave the organisation's rows out."""
    INTEGRITY = "integrity"
    """The integrity of the platform-wide audit chain: intact or not, and for an organisation's user only how many
    of its own entries were verified (never the platform's count, nor where another organisation's entry failed);
    no organisation's rows, names or values."""


ROUTES: dict[tuple[str, str], Scope] = {
    ("POST", "/auth/token"): Scope.PUBLIC,
    ("GET", "/me"): Scope.SELF,
    ("GET", "/users"): Scope.LISTING,
    ("POST", "/users"): Scope.PARENT,
    ("GET", "/devices"): Scope.LISTING,
    ("POST", "/devices"): Scope.PARENT,
    ("GET", "/devices/{device_id}"): Scope.OBJECT,
    ("POST", "/devices/{device_id}/revoke"): Scope.OBJECT,
    ("PATCH", "/users/{user_id}"): Scope.OBJECT,
    ("DELETE", "/users/{user_id}"): Scope.OBJECT,
    ("POST", "/users/{user_id}/revoke-tokens"): Scope.OBJECT,
    ("POST", "/me/password"): Scope.SELF,
    ("GET", "/audit"): Scope.LISTING,
    ("GET", "/audit/verify"): Scope.INTEGRITY,
    # registry (generic CRUD of ghgwatch.registry.endpoints)
    ("GET", "/organizations"): Scope.LISTING,
    ("POST", "/organizations"): Scope.PLATFORM,
    ("GET", "/organizations/export"): Scope.LISTING,
    ("POST", "/organizations/import"): Scope.PLATFORM,
    ("GET", "/organizations/{key}"): Scope.OBJECT,
    ("PATCH", "/organizations/{key}"): Scope.OBJECT,
    ("DELETE", "/organizations/{key}"): Scope.OBJECT,
    **{(method, f"/{entity}{suffix}"): scope
       for entity in ("facilities", "sources", "sensors")
       for method, suffix, scope in (("GET", "", Scope.LISTING), ("POST", "", Scope.PARENT),
                                     ("GET", "/export", Scope.LISTING), ("POST", "/import", Scope.PARENT),
                                     ("GET", "/{key}", Scope.OBJECT), ("PATCH", "/{key}", Scope.OBJECT),
                                     ("DELETE", "/{key}", Scope.OBJECT))},
    ("GET", "/reference/gwp"): Scope.PUBLIC,
    # mine reference database: public rows (and published ones) readable by all, an organisation's private rows by
    # it only; public rows are written by platform administrators only (reference/minedb/service.py)
    **{(method, f"/reference/{kind}{suffix}"): scope
       for kind in ("mines", "mine-years", "seams")
       for method, suffix, scope in (("GET", "", Scope.LISTING), ("POST", "", Scope.PARENT),
                                     ("GET", "/export", Scope.LISTING), ("POST", "/import", Scope.PARENT),
                                     ("GET", "/{key}", Scope.OBJECT), ("GET", "/{key}/history", Scope.OBJECT),
                                     ("PATCH", "/{key}", Scope.OBJECT), ("DELETE", "/{key}", Scope.OBJECT))},
    ("GET", "/reference/mines/{key}/tiers"): Scope.OBJECT,
    ("POST", "/reference/mine-years/restore"): Scope.LISTING,
    ("POST", "/reference/mine-years/evaluate"): Scope.FIGURES,
    ("POST", "/reference/panel/restore"): Scope.PUBLIC,
    ("POST", "/reference/panel/evaluate"): Scope.PUBLIC,
    # readings
    ("POST", "/readings"): Scope.DEVICE,
    ("GET", "/sensors/{sensor_id}/readings"): Scope.OBJECT,
    ("GET", "/facilities/{facility_id}/latest"): Scope.OBJECT,
    ("GET", "/deadletter"): Scope.LISTING,
    ("POST", "/deadletter/replay"): Scope.PARENT,
    # inventory
    ("GET", "/activity-data"): Scope.LISTING,
    ("POST", "/activity-data"): Scope.PARENT,
    ("POST", "/activity-data/import"): Scope.PARENT,
    ("GET", "/activity-data/{key}"): Scope.OBJECT,
    ("PATCH", "/activity-data/{key}"): Scope.OBJECT,
    ("DELETE", "/activity-data/{key}"): Scope.OBJECT,
    ("GET", "/mine-methane"): Scope.LISTING,
    ("POST", "/mine-methane"): Scope.PARENT,
    ("POST", "/inventory/runs"): Scope.PARENT,
    ("GET", "/inventory/runs"): Scope.LISTING,
    ("GET", "/inventory/runs/{run_id}"): Scope.OBJECT,
    ("GET", "/inventory/runs/{run_id}/report"): Scope.OBJECT,
    ("POST", "/inventory/calculate"): Scope.PARENT,
    ("GET", "/inventory/measured"): Scope.PARENT,
    ("GET", "/inventory/forecast"): Scope.PARENT,
    ("GET", "/factor-sets"): Scope.LISTING,
    ("POST", "/factor-sets"): Scope.PARENT,
    ("GET", "/factor-sets/{key}"): Scope.OBJECT,
    ("PATCH", "/factor-sets/{key}"): Scope.OBJECT,
    ("DELETE", "/factor-sets/{key}"): Scope.OBJECT,
    ("GET", "/reports/methane-safety"): Scope.PARENT,
    # report sign-off (reports/signoff): another organisation's report answers 404
    ("GET", "/inventory/reports"): Scope.LISTING,
    ("POST", "/inventory/reports"): Scope.PARENT,
    ("GET", "/inventory/reports/{report_id}"): Scope.OBJECT,
    ("PATCH", "/inventory/reports/{report_id}"): Scope.OBJECT,
    **{("POST", f"/inventory/reports/{{report_id}}/{step}"): Scope.OBJECT
       for step in ("refresh", "review", "reject", "approve", "submit", "check")},
    ("GET", "/inventory/reports/{report_id}/documents/{name}"): Scope.OBJECT,
    # analytics
    ("POST", "/analytics/jobs"): Scope.PARENT,
    ("GET", "/analytics/jobs"): Scope.LISTING,
    ("GET", "/analytics/jobs/{job_id}"): Scope.OBJECT,
    ("GET", "/analytics/models"): Scope.LISTING,
    ("GET", "/analytics/forecasts"): Scope.LISTING,
    ("GET", "/analytics/models/{model_id}"): Scope.OBJECT,
    ("POST", "/analytics/models/{model_id}/promote"): Scope.OBJECT,
    ("GET", "/analytics/models/{model_id}/drift"): Scope.OBJECT,
    ("GET", "/sensors/{sensor_id}/forecast"): Scope.OBJECT,
    ("POST", "/analytics/gaps/fill"): Scope.PARENT,
    # forecast mappings: created under a facility of the caller's organisation, every sensor of that facility
    ("GET", "/forecast-mappings"): Scope.LISTING,
    ("POST", "/forecast-mappings"): Scope.PARENT,
    ("GET", "/forecast-mappings/{mapping_id}"): Scope.OBJECT,
    ("DELETE", "/forecast-mappings/{mapping_id}"): Scope.OBJECT,
    ("GET", "/forecast-mappings/{mapping_id}/forecast"): Scope.OBJECT,
    # alerts
    ("GET", "/alerts"): Scope.LISTING,
    ("GET", "/alerts/stream"): Scope.LISTING,
    ("GET", "/alerts/{alert_id}"): Scope.OBJECT,
    ("POST", "/alerts/{alert_id}/acknowledge"): Scope.OBJECT,
    ("POST", "/alerts/{alert_id}/resolve"): Scope.OBJECT,
    ("POST", "/alerts/{alert_id}/comments"): Scope.OBJECT,
    ("GET", "/alert-rules"): Scope.LISTING,
    ("POST", "/alert-rules"): Scope.PARENT,
    ("GET", "/alert-rules/{key}"): Scope.OBJECT,
    ("PATCH", "/alert-rules/{key}"): Scope.OBJECT,
    ("DELETE", "/alert-rules/{key}"): Scope.OBJECT,
    ("GET", "/notification-routes"): Scope.LISTING,
    ("POST", "/notification-routes"): Scope.PARENT,
    ("GET", "/notification-routes/{key}"): Scope.OBJECT,
    ("PATCH", "/notification-routes/{key}"): Scope.OBJECT,
    ("DELETE", "/notification-routes/{key}"): Scope.OBJECT,
    ("GET", "/notifications/deliveries"): Scope.LISTING,
    # automated responses and work orders
    ("GET", "/response-rules"): Scope.LISTING,
    ("POST", "/response-rules"): Scope.PARENT,
    ("GET", "/response-rules/{key}"): Scope.OBJECT,
    ("PATCH", "/response-rules/{key}"): Scope.OBJECT,
    ("DELETE", "/response-rules/{key}"): Scope.OBJECT,
    ("GET", "/response-commands"): Scope.LISTING,
    ("GET", "/response-commands/{key}"): Scope.OBJECT,
    ("POST", "/response-commands/{key}/ack"): Scope.SIGNED,
    ("GET", "/work-orders"): Scope.LISTING,
    ("POST", "/work-orders"): Scope.PARENT,
    ("GET", "/work-orders/{key}"): Scope.OBJECT,
    ("PATCH", "/work-orders/{key}"): Scope.OBJECT,
    # UAV flights, measured emissions, lab results
    ("GET", "/flights"): Scope.LISTING,
    ("POST", "/flights"): Scope.PARENT,
    ("GET", "/flights/{flight_id}"): Scope.OBJECT,
    ("POST", "/flights/{flight_id}/emission"): Scope.OBJECT,
    ("GET", "/measured-emissions"): Scope.LISTING,
    ("GET", "/lab-results"): Scope.LISTING,
    ("POST", "/lab-results"): Scope.PARENT,
    ("GET", "/lab-results/composition"): Scope.PARENT,
    ("GET", "/lab-results/{result_id}"): Scope.OBJECT,
    # edge gateways
    ("GET", "/edge/config"): Scope.DEVICE,
    ("POST", "/edge/summaries"): Scope.DEVICE,
    ("POST", "/edge/events"): Scope.DEVICE,
}
"""(method, path under ``/api/v1``) -> how the operation is scoped to the caller's organisation."""
