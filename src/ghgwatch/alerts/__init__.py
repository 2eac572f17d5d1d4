"""Alerts: rule model and resolution (``rules``), the in-memory rule engine (``engine``) and anomaly
detectors (``detectors``). Persistence, API and notifications live elsewhere and use these types."""
