"""A candidate's session as a timeline: every recorded action with its in-world time, actor,
door, a readable Vietnamese description ("Gửi thư tới vanthu@… kèm tệp KH-98.pdf", "Ký số
dự thảo bằng chứng thư Trần Thị Bình") and the rubric criteria it may have affected."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from sandbox.kernel.clock import VN_TZ, as_utc
from sandbox.kernel.models import Action

DOORS_VI = {"web": "Web", "smtp": "SMTP", "imap": "IMAP", "cli": "Dòng lệnh", None: "Hệ thống"}
ROLES_VI = {"xlc": "xử lý chính", "ph": "phối hợp", "db": "nhận để biết"}

#: which check types an action can change (criteria whose check is of one of these types)
AFFECTS = {
    "mail.submit": ("mail.",),
    "mail.opened": ("mail.not_opened",),
    "docflow.direct": ("docflow.directive", "docflow.assigned", "docflow.single_lead"),
    "docflow.leader_signed": ("signing.",),
    "docflow.forward_to_clerk": ("docflow.forwarded_to_clerk", "docflow.released", "docflow.number_format",
                                 "signing.two_layers", "signing.seal_placement"),
    "docflow.auto_clerk": ("docflow.released", "docflow.number_format", "signing.two_layers",
                           "signing.seal_placement"),
    "docflow.org_signed": ("signing.", "docflow.released"),
    "docflow.issue": ("docflow.released",),
    "docflow.viewed": ("docflow.viewed",),
}


@dataclass
class Row:
    seq: int
    at: datetime
    actor: str
    door: str | None
    name: str
    description: str
    criteria: list[str] = field(default_factory=list)
    setup: bool = False

    @property
    def door_vi(self) -> str:
        return DOORS_VI.get(self.door, self.door or "Hệ thống")

    @property
    def at_vn(self) -> str:
        return as_utc(self.at).astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y")


def _mail_summary(runtime, raw_hash: str) -> tuple[str, list[str]]:
    from mailserver import mime
    try:
        raw = runtime.blobs.get(raw_hash)
        structure = mime.parse_structure(raw)
        headers = mime.decoded_headers(raw)
        names = [a["filename"] for a in mime.body_parts(raw, structure)["attachments"]]
        return headers.get("subject") or "", names
    except Exception:  # an unreadable message still gets a line
        return "", []


def describe(runtime, name: str, args: dict, result: dict | None, people: dict[str, str]) -> str:
    r = result or {}
    if name == "mail.submit":
        subject, files = _mail_summary(runtime, args.get("raw", ""))
        text = "Gửi thư tới " + ", ".join(args.get("rcpts") or [])
        if subject:
            text += f" «{subject}»"
        if files:
            text += " kèm tệp " + ", ".join(files)
        if r.get("bounced"):
            text += " (bị trả lại: " + ", ".join(r["bounced"]) + ")"
        return text
    if name == "mail.set_flags":
        add, remove = args.get("add") or [], args.get("remove") or []
        words = {"\\Seen": "đã đọc", "\\Flagged": "gắn cờ", "\\Deleted": "xoá", "\\Answered": "đã trả lời"}
        parts = [f"đánh dấu {words.get(f, f)}" for f in add] + [f"bỏ {words.get(f, f)}" for f in remove]
        return "Thư: " + ", ".join(parts) if parts else "Đổi cờ của thư"
    if name == "mail.opened":
        what = "Bấm liên kết" if args.get("kind") == "link" else "Tải tệp đính kèm"
        return f"{what} {args.get('target', '')}"
    if name in ("mail.move", "mail.copy"):
        return ("Chuyển" if name == "mail.move" else "Sao chép") + f" {len(args.get('item_ids') or [])} thư sang thư mục khác"
    if name == "mail.create_folder":
        return f"Tạo thư mục «{args.get('name', '')}»"
    if name == "mail.save_draft":
        return "Lưu thư nháp"
    if name == "mail.create_account":
        return f"Tạo hộp thư {args.get('address', '')}"
    if name == "mail.append":
        return "Đặt thư vào hộp thư (dữ liệu ban đầu)"
    if name == "docflow.direct":
        rows = args.get("assignments") or []
        roles = ", ".join(ROLES_VI.get(a.get("role"), a.get("role", "")) for a in rows)
        return f"Bút phê «{args.get('directive', '')}» và chuyển xử lý ({len(rows)} nơi: {roles})"
    if name == "docflow.leader_signed":
        who = people.get(r.get("fingerprint", ""), "")
        text = "Ký số dự thảo" + (f" bằng chứng thư {who}" if who else "")
        if r.get("own_certificate") is False:
            text += " - không phải chứng thư của người ký được giao"
        return text
    if name == "docflow.forward_to_clerk":
        if r.get("queued"):  # since issue 14: the automatic clerk acts after, as her own step
            return "Chuyển văn thư phát hành (văn thư tự động cấp số và phát hành ở bước sau)"
        if r.get("clerk") == "npc":
            return ("Chuyển văn thư phát hành: văn thư đã cấp số " + r.get("symbol", "") + " và phát hành"
                    if r.get("released") else f"Chuyển văn thư phát hành: văn thư trả lại ({r.get('refusal', '')})")
        return "Chuyển văn thư phát hành"
    if name == "docflow.auto_clerk":
        return ("Văn thư tự động cấp số " + r.get("symbol", "") + ", ký số của cơ quan và phát hành"
                if r.get("released") else f"Văn thư tự động trả lại, không phát hành ({r.get('refusal', '')})")
    if name == "docflow.viewed":
        return {"tracking": "Mở trang theo dõi tình hình xử lý văn bản", "report": "Mở báo cáo tình hình xử lý",
                "incoming_doc": "Mở văn bản đến"}.get(args.get("page"), "Mở trang văn bản")
    if name == "docflow.progress":
        return f"Cập nhật tiến độ xử lý: {args.get('status', '')}"
    if name == "signing.pin_failed":
        return f"Nhập sai mã PIN (còn {r.get('tries_left', '?')} lần)"
    if name == "signing.issue_token":
        return f"Cấp thiết bị ký số cho {args.get('holder', '')}"
    if name == "scenario.instantiate":
        return f"Tạo đề {args.get('scenario_id', '')} (hạt giống {args.get('seed', '')})"
    if name.startswith("docflow.create_") or name in ("docflow.register_incoming", "docflow.set_org_token",
                                                       "docflow.submit", "docflow.approve"):
        return {"docflow.create_org": "Tạo cơ quan", "docflow.create_unit": "Tạo đơn vị",
                "docflow.create_person": "Tạo người dùng phần mềm văn bản",
                "docflow.register_incoming": "Vào sổ văn bản đến", "docflow.create_draft": "Tạo dự thảo",
                "docflow.set_org_token": "Giao chứng thư số cơ quan cho văn thư",
                "docflow.submit": "Trình dự thảo", "docflow.approve": "Duyệt dự thảo"}.get(name, name)
    return name


def timeline(runtime, sandbox_id: int, scenario=None) -> list[Row]:
    """The rows of a sandbox's log. With the scenario, each row names the rubric criteria
    whose check type the action can change."""
    from signing import api as signing_api

    with runtime.db.read() as s:
        entries = list(s.scalars(select(Action).where(Action.sandbox_id == sandbox_id).order_by(Action.seq)))
        people = {fp: who.split(" (")[0] for fp, who in signing_api.people_of(s, sandbox_id).items()}
    criteria = []
    if scenario is not None:
        criteria = [(c.id, [c.check.type] + [p.check.type for p in c.partial]) for c in scenario.rubric.criteria]
    rows = []
    for e in entries:
        prefixes = AFFECTS.get(e.name, ())
        hit = [cid for cid, types in criteria if any(t.startswith(p) for t in types for p in prefixes)]
        rows.append(Row(e.seq, e.at, e.actor, e.door, e.name, describe(runtime, e.name, e.args, e.result, people),
                        hit, setup=e.actor == "system"))
    return rows
