"""The mail store through its actions and MailView: folders, flags, moves, search, scoping."""
from __future__ import annotations

import pytest

from mailserver import api as mail_api
from mailserver.api import MailView
from sandbox.kernel.errors import NotFound, SandboxError
from tests.factories import make_message, make_world

from .helpers import chain_ok, counts


def send(rt, ref, to, subject, body="Nội dung.\n"):
    raw = make_message(f"{ref.display_name} <{ref.address}>", to, subject=subject, body=body)
    return mail_api.submit(rt.dispatcher, rt.blobs, ref, raw, to, via="smtp")


def items(rt, ref, use=None, query=""):
    with rt.db.read() as s:
        view = MailView(s, ref.sandbox_id, ref.id)
        rows, total = view.items(view.special(use), query=query)
        return [(it.id, it.uid, d.subject, it.flags) for it, d in rows], total


def act(rt, ref, action_name, **args):
    return rt.dispatcher.dispatch(ref.sandbox_id, ref.address, action_name, {"account_id": ref.id, **args})


def test_accounts_start_with_special_folders(world, runtime):
    with runtime.db.read() as s:
        folders = MailView(s, world.sandbox_id, world["lanhdao"].id).folders()
    assert [(f.box.name, f.box.special_use, f.label) for f in folders] == [
        ("INBOX", None, "Hộp thư đến"), ("Drafts", "\\Drafts", "Thư nháp"), ("Sent", "\\Sent", "Thư đã gửi"),
        ("Junk", "\\Junk", "Thư rác"), ("Trash", "\\Trash", "Thùng rác")]
    assert len({f.box.uidvalidity for f in folders}) == 5


def test_search_is_vietnamese_case_insensitive_and_keeps_diacritics(world, runtime):
    send(runtime, world["vanthu"], ["lanhdao@cantho.gov.vn"], "Công văn số 12 về chuyển đổi số")
    send(runtime, world["vanthu"], ["lanhdao@cantho.gov.vn"], "Lịch họp giao ban", body="Cà phê lúc 7 giờ.\n")
    assert [r[2] for r in items(runtime, world["lanhdao"], query="CÔNG VĂN")[0]] == ["Công văn số 12 về chuyển đổi số"]
    assert items(runtime, world["lanhdao"], query="cà phê")[1] == 1
    assert items(runtime, world["lanhdao"], query="ca phe")[1] == 0
    assert items(runtime, world["lanhdao"], query="LÊ THỊ THƯ")[1] == 2  # sender's name is searchable
    assert items(runtime, world["lanhdao"], query="100%_")[1] == 0  # LIKE wildcards are literal


def test_uids_flags_move_copy_delete_expunge(world, runtime):
    me = world["lanhdao"]
    for i in range(3):
        send(runtime, world["vanthu"], [me.address], f"Thư {i}")
    rows, _ = items(runtime, me)
    assert [r[1] for r in rows] == [3, 2, 1]
    ids = [r[0] for r in rows]
    act(runtime, me, "mail.set_flags", item_ids=ids[:2], add=["\\Seen", "\\flagged"])
    assert {r[3] for r in items(runtime, me)[0][:2]} == {"\\Flagged \\Seen"}
    folder = act(runtime, me, "mail.create_folder", name="Công việc/Năm 2024")
    moved = act(runtime, me, "mail.move", item_ids=[ids[0]], target_mailbox_id=folder["mailbox_id"])
    assert [m[:2] for m in moved["mapping"]] == [[3, 1]]
    act(runtime, me, "mail.copy", item_ids=[ids[1]], target_mailbox_id=folder["mailbox_id"])
    c = counts(runtime, me)
    assert c["INBOX"] == 2 and c["Công việc/Năm 2024"] == 2
    act(runtime, me, "mail.delete", item_ids=[ids[2]])
    assert counts(runtime, me)["Trash"] == 1
    [(trash_id, *_)] = items(runtime, me, "\\Trash")[0]
    act(runtime, me, "mail.delete", item_ids=[trash_id])  # from Trash: gone
    assert counts(runtime, me)["Trash"] == 0
    act(runtime, me, "mail.set_flags", item_ids=[ids[1]], add=["\\Deleted"])
    inbox_id = next(f.box.id for f in MailView_folders(runtime, me) if f.box.name == "INBOX")
    assert act(runtime, me, "mail.expunge", mailbox_id=inbox_id)["expunged"] == [2]
    assert counts(runtime, me)["INBOX"] == 0
    renamed = act(runtime, me, "mail.rename_folder", mailbox_id=folder["mailbox_id"], new_name="Lưu trữ")
    assert renamed["name"] == "Lưu trữ" and counts(runtime, me)["Lưu trữ"] == 2
    with pytest.raises(SandboxError):
        act(runtime, me, "mail.rename_folder", mailbox_id=inbox_id, new_name="X")
    with pytest.raises(SandboxError):
        act(runtime, me, "mail.set_flags", item_ids=[ids[1]], add=["\\Bogus"])
    assert chain_ok(runtime, world.sandbox_id)


def MailView_folders(rt, ref):
    with rt.db.read() as s:
        return MailView(s, ref.sandbox_id, ref.id).folders()


def test_nothing_crosses_between_sandboxes(runtime):
    a = make_world(runtime, "ts001")
    b = make_world(runtime, "ts002")
    send(runtime, b["vanthu"], [b["lanhdao"].address], "Bí mật của B")
    [(b_item, *_)] = items(runtime, b["lanhdao"])[0]
    b_inbox = next(f.box.id for f in MailView_folders(runtime, b["lanhdao"]))
    with runtime.db.read() as s:
        view = MailView(s, a.sandbox_id, a["lanhdao"].id)
        with pytest.raises(NotFound):
            view.item(b_item)
        with pytest.raises(NotFound):
            view.mailbox(b_inbox)
        with pytest.raises(NotFound):  # another account in the same sandbox is out of reach too
            MailView(s, a.sandbox_id, a["vanthu"].id).mailbox(next(f.box.id for f in MailView_folders(runtime, a["lanhdao"])))
    for name, args in [("mail.move", {"item_ids": [b_item], "target_mailbox_id": b_inbox}),
                       ("mail.set_flags", {"item_ids": [b_item], "add": ["\\Seen"]}),
                       ("mail.delete", {"item_ids": [b_item]}),
                       ("mail.expunge", {"mailbox_id": b_inbox})]:
        with pytest.raises(NotFound):
            act(runtime, a["lanhdao"], name, **args)
    with pytest.raises(NotFound):  # an account id of another sandbox, dispatched into this one
        runtime.dispatcher.dispatch(a.sandbox_id, "x", "mail.set_flags",
                                    {"account_id": b["lanhdao"].id, "item_ids": [b_item], "add": ["\\Seen"]})
    assert items(runtime, b["lanhdao"])[0][0][3] == ""  # still unread, untouched
    assert chain_ok(runtime, a.sandbox_id) and chain_ok(runtime, b.sandbox_id)


def test_directory_lists_people_of_this_world_only(runtime):
    a = make_world(runtime, "ts001")
    make_world(runtime, "ts002", people=[("x", "nguoila@khac.gov.vn", "Người Lạ")])
    with runtime.db.read() as s:
        people = MailView(s, a.sandbox_id, a["lanhdao"].id).directory("")
        assert ("Lê Thị Thư", "vanthu@cantho.gov.vn") in people
        assert all(addr.endswith("@cantho.gov.vn") for _, addr in people)
        assert MailView(s, a.sandbox_id, a["lanhdao"].id).directory("TRẦN") == [("Trần Minh Khoa", "truongphong@cantho.gov.vn")]


def test_message_dates_keep_their_instant(world, runtime):
    from datetime import datetime, timezone

    from sandbox.kernel.clock import as_utc
    raw = make_message("vanthu@cantho.gov.vn", ["lanhdao@cantho.gov.vn"], subject="Giờ Việt Nam").replace(
        b"Date: Mon, 03 Jun 2024 08:30:00 +0000", b"Date: Mon, 03 Jun 2024 08:30:00 +0700")
    mail_api.submit(runtime.dispatcher, runtime.blobs, world["vanthu"], raw, ["lanhdao@cantho.gov.vn"], via="smtp")
    with runtime.db.read() as s:
        view = MailView(s, world.sandbox_id, world["lanhdao"].id)
        [(_, data)] = view.items(view.special(None))[0]
        assert as_utc(data.date) == datetime(2024, 6, 3, 1, 30, tzinfo=timezone.utc)
