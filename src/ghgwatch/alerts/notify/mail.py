"""E-mail over SMTP with the standard library, run in a worker thread (``smtplib`` blocks)."""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from typing import Any

from ghgwatch.alerts.notify.webhook import Attempt
from ghgwatch.settings import NotifySettings


def compose(event: dict[str, Any], to: str, sender: str) -> EmailMessage:
    a = event["alert"]
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = (f"[ghgwatch] {a['severity'].upper()} {event['event']}: sensor {a['sensor_id']} "
                      f"{a['condition']} (alert {a['id']})")
    lines = [
        f"Alert {a['id']} {event['event']} at {event['at']}",
        f"Severity: {a['severity']}   State: {a['state']}",
        f"Sensor {a['sensor_id']} (facility {a['facility_id']}), rule {a['rule_id']} ({a['condition']})",
        f"Threshold in force: {a['threshold']} {a['unit'] or ''}".rstrip(),
        f"Opening reading: {a['reading_value']} at {a['reading_ts']}; peak {a['peak_value']} at {a['peak_ts']}",
        f"Rule source: {a['rule_source']}",
    ]
    if event.get("reason"):
        lines.append(f"Reason: {event['reason']}")
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _send(settings: NotifySettings, msg: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        smtp.send_message(msg)


async def send(settings: NotifySettings, event: dict[str, Any], to: str) -> Attempt:
    if not settings.smtp_host:
        return Attempt(False, False, None, "e-mail is off (GHGWATCH_NOTIFY__SMTP_HOST is empty)")
    msg = compose(event, to, settings.smtp_from)
    try:
        await asyncio.to_thread(_send, settings, msg)
    except smtplib.SMTPResponseException as exc:
        # 4xx replies are transient by RFC 5321 §4.2.1; 5xx are permanent.
        return Attempt(False, 400 <= exc.smtp_code < 500, exc.smtp_code, str(exc)[:500])
    except (smtplib.SMTPException, OSError) as exc:
        return Attempt(False, True, None, f"{type(exc).__name__}: {exc}"[:500])
    return Attempt(True, False, 250)
