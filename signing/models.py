"""Signing tables: certificates and the virtual tokens that hold their keys, per sandbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.db import Base


class SigningToken(Base):
    """A virtual USB token: one certificate and its private key, encrypted with the PIN.

    ``holder`` is the in-world person (their address) who carries it; ``role_required``
    names the role that may use it (the organisation's token: ``"clerk"``).
    """

    __tablename__ = "signing_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    holder: Mapped[str] = mapped_column(String(320))
    label: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20))  # personal | organisation
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint: Mapped[str] = mapped_column(String(64))
    cert_pem: Mapped[str] = mapped_column(Text)
    key_blob: Mapped[bytes] = mapped_column(LargeBinary)
    role_required: Mapped[str | None] = mapped_column(String(50), nullable=True)
    max_tries: Mapped[int] = mapped_column(Integer, default=3)
    tries_left: Mapped[int] = mapped_column(Integer, default=3)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
