"""Signing tables: certificates and the virtual tokens that hold their keys, per sandbox, and
the PDFs people handed to the signing dialog (so a blob is only reachable from its sandbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class SigningToken(Base):
    """A virtual USB token: one certificate and its private key, encrypted with the PIN.

    ``holder`` is the in-world person (their address) who carries it and sees it in the
    signing dialog; ``owner`` is the in-world person the certificate belongs to (default: the
    holder). A scenario puts a specialist's certificate in the leader's list with a second
    row for the same certificate, ``holder`` = the leader, ``owner`` = the specialist: choosing
    it is the classic mistake the verifier names. ``role_required`` names the role that may
    use it (the organisation's token: ``"clerk"``).
    """

    __tablename__ = "signing_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    holder: Mapped[str] = mapped_column(String(320))
    owner: Mapped[str] = mapped_column(String(320), default="")
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


class SigningFile(Base):
    """A PDF a person uploaded to (or got back from) the signing dialog: the blob hash is only
    served or signed again for the same sandbox and person."""

    __tablename__ = "signing_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    person: Mapped[str] = mapped_column(String(320))
    blob: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(20))  # upload | signed
    source_blob: Mapped[str | None] = mapped_column(String(64), nullable=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
