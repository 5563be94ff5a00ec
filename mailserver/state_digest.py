"""The mail part of a sandbox's state digest (``sandbox.kernel.actions.state_contributor``): what
the webmail and IMAP show, per account, without database ids or message bytes (a message
the automatic clerk sends carries a PDF whose bytes differ between runs; its Message-ID,
subject and flags do not). Prepared plain-column queries: this runs after every action."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from sandbox.kernel.actions import state_contributor
from sandbox.kernel.clock import as_utc

from .models import MailAccount, Mailbox, MailDomain, MailItem, MailOpen, MessageData, Submission

_A, _B, _I, _D = MailAccount.__table__, Mailbox.__table__, MailItem.__table__, MessageData.__table__
_O, _S, _DOM = MailOpen.__table__, Submission.__table__, MailDomain.__table__
_SID = bindparam("sid")
_ACCOUNTS = select(_A.c.id, _A.c.address, _A.c.display_name).where(_A.c.sandbox_id == _SID).order_by(_A.c.id)
_DOMAINS = select(_DOM.c.domain).where(_DOM.c.sandbox_id == _SID).order_by(_DOM.c.domain)
_BOXES = select(_B.c.id, _B.c.account_id, _B.c.name, _B.c.special_use, _B.c.subscribed, _B.c.uidvalidity,
                _B.c.uidnext).where(_B.c.sandbox_id == _SID)
_ITEMS = (select(_I.c.mailbox_id, _I.c.uid, _I.c.flags, _I.c.internal_date, _D.c.message_id, _D.c.subject)
          .join(_D, _D.c.id == _I.c.data_id).where(_I.c.sandbox_id == _SID).order_by(_I.c.mailbox_id, _I.c.uid))
_OPENS = select(_O.c.account_id, _O.c.message_id, _O.c.kind, _O.c.target, _O.c.at) \
    .where(_O.c.sandbox_id == _SID).order_by(_O.c.id)
_SENT = (select(_S.c.account_id, _S.c.at, _S.c.via, _S.c.mail_from, _S.c.recipients, _D.c.message_id)
         .join(_D, _D.c.id == _S.c.data_id).where(_S.c.sandbox_id == _SID).order_by(_S.c.id))


def _t(value) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


@state_contributor("mail", label="thư điện tử", sections={"domains": "tên miền"},
                   tables=("mail_accounts", "mailboxes", "mail_items", "mail_message_data", "mail_opens",
                           "mail_submissions", "mail_domains"))
def mail_state(session, sandbox_id: int) -> dict:
    """``{"domains": [...], "hộp thư <address>": {folders with their messages in UID order
    (UID, Message-ID, subject, flags, internal date), links clicked and files downloaded, mail
    sent}}``."""
    p = {"sid": sandbox_id}
    out: dict = {"domains": list(session.execute(_DOMAINS, p).scalars())}
    by_account: dict[int, dict] = {}
    for acc_id, address, display in session.execute(_ACCOUNTS, p):
        by_account[acc_id] = out[f"hộp thư {address}"] = {"name": display, "folders": {}, "opens": [], "sent": []}
    folders: dict[int, list] = {}
    for box_id, acc_id, name, use, subscribed, validity, uidnext in session.execute(_BOXES, p):
        folders[box_id] = []
        by_account[acc_id]["folders"][name] = {"use": use, "subscribed": bool(subscribed), "uidvalidity": validity,
                                               "uidnext": uidnext, "messages": folders[box_id]}
    for box_id, uid, flags, when, mid, subject in session.execute(_ITEMS, p):
        folders[box_id].append([uid, mid, subject, " ".join(sorted((flags or "").split())), _t(when)])
    for acc_id, mid, kind, target, at in session.execute(_OPENS, p):
        by_account[acc_id]["opens"].append([mid, kind, target, _t(at)])
    for acc_id, at, via, mail_from, recipients, mid in session.execute(_SENT, p):
        by_account[acc_id]["sent"].append([mid, _t(at), via, mail_from,
                                           [[r.get("address"), r.get("status")] for r in recipients or []]])
    return out
