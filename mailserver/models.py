"""Mail store tables. Every row carries ``sandbox_id``; only ``mailserver`` queries them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sandbox.kernel.db import Base


class MailDomain(Base):
    """A domain of a sandbox's world: mail to it stays inside the sandbox."""

    __tablename__ = "mail_domains"
    __table_args__ = (UniqueConstraint("sandbox_id", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))


class MailAccount(Base):
    """A mailbox owner in a world. The same address may exist in many sandboxes."""

    __tablename__ = "mail_accounts"
    __table_args__ = (UniqueConstraint("sandbox_id", "address"), Index("ix_mail_accounts_login", "address", "password_tag"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_tag: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Mailbox(Base):
    """A folder. ``modseq`` counts every change (IMAP IDLE and caches watch it)."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mail_accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    special_use: Mapped[str | None] = mapped_column(String(20), nullable=True)
    uidvalidity: Mapped[int] = mapped_column(Integer)
    uidnext: Mapped[int] = mapped_column(Integer, default=1)
    modseq: Mapped[int] = mapped_column(Integer, default=1)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True)


class MessageData(Base):
    """One message's immutable content: raw bytes by blob hash and the structure parsed once
    at delivery. Copies in several folders of one sandbox share it."""

    __tablename__ = "mail_message_data"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    blob: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    vsize: Mapped[int] = mapped_column(Integer)  # RFC822.SIZE: bare LF counted as CRLF
    structure: Mapped[dict] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_name: Mapped[str] = mapped_column(String(300), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    to_text: Mapped[str] = mapped_column(Text, default="")
    cc_text: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    has_attachments: Mapped[bool] = mapped_column(Boolean, default=False)
    search_text: Mapped[str] = mapped_column(Text, default="")
    preview: Mapped[str] = mapped_column(String(300), default="")


class MailItem(Base):
    """A message in a folder: UID, flags, internal date."""

    __tablename__ = "mail_items"
    __table_args__ = (UniqueConstraint("mailbox_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(Integer)
    data_id: Mapped[int] = mapped_column(ForeignKey("mail_message_data.id"), index=True)
    flags: Mapped[str] = mapped_column(String(500), default="")
    internal_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    modseq: Mapped[int] = mapped_column(Integer, default=1)


class Submission(Base):
    """A message handed to the mail system for sending (SMTP or webmail): the grader's source
    of truth for what a person sent, whatever their client did with its Sent folder."""

    __tablename__ = "mail_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mail_accounts.id", ondelete="CASCADE"), index=True)
    data_id: Mapped[int] = mapped_column(ForeignKey("mail_message_data.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    via: Mapped[str] = mapped_column(String(20))
    mail_from: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[list] = mapped_column(JSON)  # [{"address", "status": delivered|bounced, "account_id"}]


class MailOpen(Base):
    """A link clicked or an attachment downloaded in the webmail: the evidence for the
    information-security tasks (a phishing mail's link or attachment must not be opened)."""

    __tablename__ = "mail_opens"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(ForeignKey("sandboxes.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mail_accounts.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))       # link | attachment
    target: Mapped[str] = mapped_column(Text)           # the URL, or the attachment's file name
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
