"""Signatures seen recently, shared by every process through the database (replays refused across replicas).

A row per accepted signature (its SHA-256, not the signature itself), kept until twice the allowed clock skew
has passed; the primary key makes a second insert of the same signature fail, which is the replay check.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ghgwatch.store.base import Base


class SeenSignature(Base):
    __tablename__ = "seen_signatures"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the expected signature header of an accepted request."""
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    """Unix seconds after which the row may be deleted (the timestamp can no longer pass the age check)."""
