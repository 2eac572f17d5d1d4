"""Users and ingest devices."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.kit.timeutil import utcnow
from ghgwatch.security.crypto import EncryptedString
from ghgwatch.store.base import Base


class Role(StrEnum):
    ADMIN = "admin"
    ENGINEER = "engineer"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", native_enum=False, create_constraint=False, length=20,
             values_callable=lambda e: [m.value for m in e])
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), default=None, index=True
    )
    """``None`` only for platform administrators, who see every organisation."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Carried in access tokens; bumped by deactivation, role or password change and revocation (older tokens
    are then refused)."""


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the secret part of the bearer token; the token itself is shown once."""
    hmac_secret: Mapped[str] = mapped_column(EncryptedString(500), info={"secret": True})
    """Key for request signatures. Verification needs it back, so it is encrypted (not hashed) at rest with the
    key from settings (``security/crypto.py``) and redacted in audit snapshots."""
    require_signature: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="system")
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    gateway: Mapped[bool] = mapped_column(default=False, server_default=false())
    """An edge gateway (docs/edge.md): may fetch its organisation's sensors, limits and device keys, and send
    summaries and alarm events."""
