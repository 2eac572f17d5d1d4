"""A device's MQTT account and topic, the same at the compose mosquitto, the platform's embedded broker and the
edge gateway's: username ``<organisation id>/<device id>`` (the mosquitto ACL ``pattern write
ghgwatch/%u/readings`` needs both), password = the device token, topic ``ghgwatch/<organisation id>/<device
id>/readings``. No imports of brokers or the database: the registry's answers and the CLI show these too."""

from __future__ import annotations


def account_name(organization_id: int, device_id: int) -> str:
    return f"{organization_id}/{device_id}"


def readings_topic(organization_id: int, device_id: int) -> str:
    """The one topic the device may publish to."""
    return f"ghgwatch/{account_name(organization_id, device_id)}/readings"


def parse_account(username: str) -> tuple[int | None, int] | None:
    """``"<organisation id>/<device id>"`` or ``"<device id>"`` as (organisation or ``None``, device), else
    ``None``. ASCII digits only (``str.isdigit`` also takes superscripts and other scripts' digits)."""
    parts = username.split("/")
    if len(parts) > 2 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        return None  # 18 digits stay below 2**63 (a database integer)
    return (int(parts[0]) if len(parts) == 2 else None), int(parts[-1])
