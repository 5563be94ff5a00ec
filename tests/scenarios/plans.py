"""What a candidate does in each shipped scenario, as data: per scenario id a golden plan and
mistake profiles, each a list of abstract steps computed from the candidate's drawn values
and the scenario's world. The same plan is played through the public APIs
(:class:`ApiExecutor`, on ``tests.scenarios.harness.Candidate``) and in Chromium through the
candidate's pages (``tests/web/browser_candidate.py``).

A mistake profile declares the criteria its mistake must lose; it may also skip whole tasks
(a short session): the criteria of a skipped task are lost too, and so is every criterion that
``requires`` a lost one. Mistakes are honest, common ones that do not depend on rubric details
(which are being rewritten): someone else's certificate, a draft signed but not forwarded, a
wrong deadline, a missing attachment or CC, the wrong lead unit, a skipped task.

Every scenario-specific constant (mail bodies, which profiles each set plays, the answer of a
status check when the set has no variant for it) lives in this module, near the top of each
scenario's section, so it can be adjusted in one place."""
from __future__ import annotations

import datetime as dt
import mimetypes
import re
from dataclasses import dataclass
from typing import Callable

from scenarios import templates
from scenarios.variants import context

# =========================================================================================
# steps
# =========================================================================================


@dataclass(frozen=True)
class Received:
    """A mail that reached the candidate's INBOX during the session, not one of the
    scenario's initial mails (a colleague's answer, ``npc: auto_reply``): the newest from
    ``sender`` (a person of the world) whose subject is ``subject`` (any subject when None).
    It can be named where ``SendMail`` names a seed mail's id (``reply_to``, ``forward``,
    ``attach``) and is what ``ReadMail`` looks for."""
    sender: str
    subject: str | None = None


#: a mail of the INBOX: a seed mail's id, or a mail received during the session
MailRef = str | Received


@dataclass(frozen=True)
class SendMail:
    """Write and send one mail in the webmail.

    ``reply_to``: the mail (seed id or :class:`Received`) answered with «Trả lời»
    (``reply_all``: «Trả lời tất cả»); its prefilled To/CC must then be exactly ``to``/``cc``
    (the candidate checks them). ``forward``: the mail forwarded with «Chuyển tiếp» (its files
    carried along unless ``drop_carried``). ``subject`` None keeps the prefilled subject.
    ``body`` is typed at the top of whatever the page prefilled. ``attach``: (mail, file
    name) downloaded from that mail and attached again."""
    task: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str | None = None
    body: str = ""
    attach: tuple[tuple[MailRef, str], ...] = ()
    reply_to: MailRef | None = None
    reply_all: bool = False
    forward: MailRef | None = None
    drop_carried: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadMail:
    """Look for a mail received during the session in the INBOX (the colleague's answer the
    candidate waits for). ``arrived``: it is there; the candidate opens it and reads it: its
    text must show ``expect`` and it must carry the files ``files``. ``arrived=False``: no
    such mail came (the candidate waited in vain)."""
    task: str
    mail: Received
    expect: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    arrived: bool = True


@dataclass(frozen=True)
class Direct:
    """Open an incoming document, write the directive, give roles and deadlines, submit.
    ``rows``: (unit or person id of the world, role xlc/ph/db, deadline or None).
    ``refused``: the software must refuse it with a message containing this text (the page
    comes back with everything typed; the next ``Direct`` corrects it)."""
    task: str
    doc: str
    directive: str
    rows: tuple[tuple[str, str, dt.date | None], ...]
    refused: str | None = None


@dataclass(frozen=True)
class Sign:
    """Sign a draft in the signing dialog with ``cert_owner``'s certificate and ``pin``."""
    task: str
    draft: str
    cert_owner: str
    pin: str


@dataclass(frozen=True)
class Forward:
    """«Chuyển văn thư phát hành» on a draft."""
    task: str
    draft: str


@dataclass(frozen=True)
class ViewTracking:
    """Open the tracking page (optionally filtered) and read it: ``expect`` must be shown."""
    task: str
    q: str = ""
    only_overdue: bool = False
    expect: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenLink:
    """Click a link in a mail's body (the phishing mistake)."""
    task: str
    seed_mail: str
    url: str


Step = SendMail | ReadMail | Direct | Sign | Forward | ViewTracking | OpenLink


@dataclass(frozen=True)
class Plan:
    scenario: str
    profile: str
    steps: tuple
    #: criteria that must be lost (empty for the golden path)
    lose: frozenset[str]
    #: texts the candidate reads on the task sheet before starting
    reads: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Profile:
    steps: tuple
    lose: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    why: str = ""


# =========================================================================================
# the world as the candidate sees it
# =========================================================================================


@dataclass(frozen=True)
class SeedMail:
    id: str
    subject: str
    sender: str
    attachments: tuple[str, ...]
    body: str

    @property
    def urls(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"']+", self.body)


class World:
    """The scenario's world rendered with one candidate's values (what the task sheet, the
    inbox and the document lists show)."""

    def __init__(self, loaded, values: dict, start_date: dt.date):
        self.loaded, self.sc, self.v = loaded, loaded.scenario, values
        self.ctx = context(self.sc, values, start_date)
        self.people = {p.id: p for p in self.sc.world.people}
        self.units = {u.id: u for o in self.sc.world.organisations for u in o.units}
        self.candidate = self.sc.world.candidate

    def render(self, text: str) -> str:
        return templates.render(text, self.ctx)

    def email(self, pid: str) -> str:
        return self.people[pid].email.lower()

    def name(self, pid: str) -> str:
        return self.people[pid].name

    def pin(self, pid: str | None = None) -> str:
        return self.people[pid or self.candidate].pin

    def label(self, target: str) -> str:
        """The name a unit or person has in the forwarding form."""
        if target in self.units:
            return self.units[target].name
        return self.people[target].name

    def is_unit(self, target: str) -> bool:
        return target in self.units

    def own_units(self) -> list[str]:
        """The units of the candidate's organisation, by id."""
        org = self.people[self.candidate].org
        return sorted(u.id for o in self.sc.world.organisations if o.id == org for u in o.units)

    def incoming(self, doc: str):
        return next(d for d in self.sc.initial.incoming if d.id == doc)

    def incoming_symbol(self, doc: str) -> str:
        return self.render(self.incoming(doc).symbol)

    def draft_summary(self, draft: str) -> str:
        return self.render(next(d for d in self.sc.initial.drafts if d.id == draft).summary)

    def seed(self, mail_id: str) -> SeedMail:
        m = next(m for i, m in enumerate(self.sc.initial.mail) if (m.id or f"mail{i + 1}") == mail_id)
        sender = self.render(m.sender)
        if "@" not in sender:
            sender = self.email(sender)
        names = tuple(self.render(a.name) for a in m.attachments)
        return SeedMail(mail_id, self.render(m.subject), sender.lower(), names, self.render(m.body))

    def criteria_of(self, tasks) -> set[str]:
        return {c.id for c in self.sc.rubric.criteria if c.task in set(tasks)}

    def lost_closure(self, lost: set[str]) -> frozenset[str]:
        """Add every criterion that requires a lost one (it is not awarded either)."""
        out = set(lost)
        changed = True
        while changed:
            changed = False
            for c in self.sc.rubric.criteria:
                if c.requires and c.requires in out and c.id not in out:
                    out.add(c.id)
                    changed = True
        return frozenset(out)


def vn_date(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


# =========================================================================================
# the exam sets (thi-*): the same five tasks in every set
# =========================================================================================


@dataclass(frozen=True)
class ExamSet:
    body: str                          # task 1: the mail's body (the content the sheet asks for)
    incoming: str                      # task 2: the incoming document to route
    draft: str                         # task 3: the draft to sign
    specialist: str                    # whose certificate is also on the candidate's token (the trap)
    status_to: str                     # task 4: who gets the status report
    #: the mistake profiles this set plays (see EXAM_MISTAKES). Three per set, rotated so that
    #: every kind of mistake is played in two or three sets: the browser suite's time budget.
    profiles: tuple[str, ...]
    phishing_it: str | None = None     # 2024: the IT person the phishing mail is reported to
    #: (symbol, unit name) of the status check when the set has no ``kiem_tra`` variant
    overdue: tuple[str, str] | None = None
    mail_seed: str = "chi_dao"         # the inbox mail holding the file of task 1
    cc: str = "chanhvp"
    info_unit: str = "vp"              # "nhận để biết"


# task ids, shared by all sets
T_MAIL, T_ROUTE, T_SIGN, T_STATUS, T_SECURITY = "thu", "but_phe", "ky_so", "theo_doi", "attt"

EXAM_SETS: dict[str, ExamSet] = {
    "thi-2022-de-1": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị đồng chí chỉ đạo tổng hợp danh sách công chức tham gia dự thi.\n",
        "kh98", "cv_cu_thi", "binh", "chanhvp",
        ("specialist_certificate", "attachment_missing", "wrong_deadline"),
        overdue=("1520/UBND-KT", "Phòng Công chức - Viên chức")),
    "thi-2022-de-2": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị phòng rà soát, đăng ký công chức tham gia lớp bồi dưỡng.\n",
        "kh135", "cv_dang_ky", "yen", "chanhvp",
        ("not_forwarded", "cc_missing", "wrong_lead"),
        overdue=("2047/UBND-NC", "Thanh tra Sở")),
    "thi-2023-de-1": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị phòng xây dựng chỉ tiêu chuyển đổi số của đơn vị.\n",
        "kh_cds", "bc_cds", "tri", "chutich",
        ("specialist_certificate", "attachment_missing", "wrong_lead")),
    "thi-2023-de-2": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị phòng đề xuất hoạt động hưởng ứng của đơn vị.\n",
        "cv_ngay_cds", "cv_huong_dan", "tu", "giamdoc",
        ("not_forwarded", "cc_missing", "wrong_deadline")),
    "thi-2024-de-1": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị phòng lập danh sách thí sinh, rà soát chữ ký số cá nhân.\n",
        "kh52", "cv_cu_thi_sinh", "vy", "chutich",
        ("specialist_certificate", "wrong_deadline", "phishing_link_clicked"),
        phishing_it="cntt"),
    "thi-2024-de-2": ExamSet(
        "Kính gửi đồng chí,\nĐề nghị phòng rà soát chữ ký số cá nhân, hộp thư công vụ của công chức.\n",
        "cv_attt", "bc_chu_ky_so", "nhuy", "giamdoc",
        ("not_forwarded", "cc_missing", "phishing_link_clicked"),
        phishing_it="cntt"),
}


def _exam_answer(w: World, spec: ExamSet) -> tuple[str, str]:
    """(symbol, unit name) of the status check: from the candidate's values when the set
    draws it (``kiem_tra``), else the set's constant."""
    k = w.v.get("kiem_tra")
    if isinstance(k, dict) and "symbol" in k:
        return k["symbol"], k["unit_name"]
    assert spec.overdue is not None, f"{w.loaded.id}: no kiem_tra variant and no constant answer"
    return spec.overdue


def _exam_mail(w: World, spec: ExamSet, *, cc: bool = True, attach: bool = True) -> tuple:
    v = w.v
    return (SendMail(T_MAIL, to=(v["recipient"]["email"],), cc=(w.email(spec.cc),) if cc else (),
                     subject=v["subject"]["text"], body=spec.body,
                     attach=((spec.mail_seed, v["attachment"]),) if attach else ()),)


def _exam_route(w: World, spec: ExamSet, *, deadline_shift: int = 0, wrong_lead: bool = False) -> tuple:
    r, deadline = w.v["routing"], w.v["deadline"] + dt.timedelta(days=deadline_shift)
    directive = (f"Giao {r['lead_name']} chủ trì, {r['support_name']} phối hợp triển khai; "
                 f"báo cáo kết quả trước ngày {vn_date(deadline)}.")
    rows = ((r["lead"], "xlc", deadline), (r["support"], "ph", deadline), (spec.info_unit, "db", None))
    if not wrong_lead:
        return (Direct(T_ROUTE, spec.incoming, directive, rows),)
    # Gives the lead to a second unit too; the software refuses two leads; the candidate then
    # takes the lead away from the right unit instead of the wrong one.
    spare = next(u for u in w.own_units() if u not in {r["lead"], r["support"], spec.info_unit})
    return (Direct(T_ROUTE, spec.incoming, directive, rows + ((spare, "xlc", deadline),), refused="xử lý chính"),
            Direct(T_ROUTE, spec.incoming, directive, ((spare, "xlc", deadline),) + rows[1:]))


def _exam_sign(w: World, spec: ExamSet, *, cert: str | None = None, forward: bool = True) -> tuple:
    owner = cert or w.candidate
    steps = (Sign(T_SIGN, spec.draft, owner, w.pin(owner)),)
    return steps + ((Forward(T_SIGN, spec.draft),) if forward else ())


def _exam_status(w: World, spec: ExamSet) -> tuple:
    symbol, unit = _exam_answer(w, spec)
    return (ViewTracking(T_STATUS, q=symbol, expect=(symbol, unit)),
            SendMail(T_STATUS, to=(w.email(spec.status_to),), subject=f"Tình hình xử lý văn bản {symbol}",
                     body=f"Kính gửi đồng chí,\nVăn bản {symbol}: {unit} đang quá hạn xử lý.\n"))


def _exam_security(w: World, spec: ExamSet, *, click: bool = False) -> tuple:
    if not spec.phishing_it:
        return ()
    s = w.seed("lua_dao")
    steps = (OpenLink(T_SECURITY, "lua_dao", s.urls[0]),) if click else ()
    return steps + (_phishing_report(w, s, spec.phishing_it, T_SECURITY),)


def _phishing_report(w: World, s: SeedMail, it: str, task: str) -> SendMail:
    return SendMail(task, to=(w.email(it),), subject=f"Báo cáo thư lừa đảo: {s.subject}",
                    body=(f"Hộp thư của tôi nhận một thư đáng ngờ, giả mạo từ {s.sender}, tiêu đề «{s.subject}». "
                          "Tôi chưa mở liên kết, tệp đính kèm. Đề nghị kiểm tra, ngăn chặn.\n"))


def _exam_reads(w: World, spec: ExamSet) -> tuple[str, ...]:
    v = w.v
    return (v["recipient"]["email"], v["subject"]["text"], v["attachment"], v["routing"]["lead_name"],
            vn_date(v["deadline"]), w.pin(), _exam_answer(w, spec)[0])


#: every exam-set mistake: (what is done, criteria the mistake loses, why it is a mistake)
EXAM_MISTAKES: dict[str, Callable[[World, ExamSet], Profile]] = {
    "specialist_certificate": lambda w, s: Profile(
        _exam_sign(w, s, cert=s.specialist), ("S1",), skip=(T_MAIL, T_ROUTE, T_STATUS, T_SECURITY),
        why="ký bằng chứng thư số của chuyên viên soạn thảo (cũng có trên thiết bị ký)"),
    "not_forwarded": lambda w, s: Profile(
        _exam_sign(w, s, forward=False), ("S3",), skip=(T_MAIL, T_ROUTE, T_STATUS, T_SECURITY),
        why="ký số xong nhưng không chuyển văn thư phát hành"),
    "cc_missing": lambda w, s: Profile(
        _exam_mail(w, s, cc=False), ("M2",), skip=(T_ROUTE, T_SIGN, T_STATUS, T_SECURITY),
        why="quên đồng gửi (CC) Chánh Văn phòng"),
    "attachment_missing": lambda w, s: Profile(
        _exam_mail(w, s, attach=False), ("M5",), skip=(T_ROUTE, T_SIGN, T_STATUS, T_SECURITY),
        why="quên đính kèm tệp"),
    "wrong_deadline": lambda w, s: Profile(
        _exam_route(w, s, deadline_shift=1), ("D5",), skip=(T_MAIL, T_SIGN, T_STATUS, T_SECURITY),
        why="đặt hạn xử lý chậm một ngày"),
    "wrong_lead": lambda w, s: Profile(
        _exam_route(w, s, wrong_lead=True), ("D2",), skip=(T_MAIL, T_SIGN, T_STATUS, T_SECURITY),
        why="giao hai đơn vị xử lý chính, bị từ chối, rồi bỏ nhầm đơn vị đúng"),
    "phishing_link_clicked": lambda w, s: Profile(
        _exam_security(w, s, click=True), ("A2",), skip=(T_MAIL, T_ROUTE, T_SIGN, T_STATUS),
        why="bấm vào liên kết của thư lừa đảo trước khi báo cáo"),
}


def _exam_profiles(sid: str) -> dict[str, Callable[[World], Profile]]:
    spec = EXAM_SETS[sid]

    def golden(w: World) -> Profile:
        return Profile(_exam_mail(w, spec) + _exam_security(w, spec) + _exam_route(w, spec) + _exam_sign(w, spec)
                       + _exam_status(w, spec))

    out: dict[str, Callable[[World], Profile]] = {"golden": golden}
    for name in spec.profiles:
        out[name] = (lambda fn: lambda w: fn(w, spec))(EXAM_MISTAKES[name])
    return out


# =========================================================================================
# the drills (luyen-*): one task each
# =========================================================================================

# -- luyen-tra-loi-tat-ca ------------------------------------------------------------------
TRA_LOI = dict(task="tra_loi", seed="lich_truc", author="chanhvp", ccs=("tp_nvy", "tp_khtc"),
               file="Du-thao-lich-truc-Tet.txt")


def _tra_loi(w: World, *, reply_all=True, attach=True, new_mail=False) -> Profile:
    t, ccs = TRA_LOI, tuple(w.email(p) for p in TRA_LOI["ccs"])
    body = f"Tôi đồng ý với dự thảo, đề nghị bổ sung {w.v['bo_sung']['text']}.\n"
    att = ((t["seed"], t["file"]),) if attach else ()
    if new_mail:   # writes a new mail to the same people instead of answering the thread
        return Profile((SendMail(t["task"], to=(w.email(t["author"]),), cc=ccs,
                                 subject="Ý kiến về dự thảo lịch trực Tết Nguyên đán", body=body, attach=att),),
                       ("R1",), why="soạn thư mới thay vì trả lời thư gốc")
    return Profile((SendMail(t["task"], to=(w.email(t["author"]),), cc=ccs if reply_all else (), body=body,
                             attach=att, reply_to=t["seed"], reply_all=reply_all),),
                   () if reply_all else ("R2", "R3"))


TRA_LOI_PROFILES = {
    "golden": lambda w: _tra_loi(w),
    "reply_not_reply_all": lambda w: _tra_loi(w, reply_all=False),
    "attachment_missing": lambda w: Profile(_tra_loi(w, attach=False).steps, ("R4",), why="không gửi kèm lại tệp"),
    "new_mail_not_reply": lambda w: _tra_loi(w, new_mail=True),
}

# -- luyen-chuyen-hai-don-vi -----------------------------------------------------------------
HAI_DON_VI = dict(task="chuyen", doc="cv_du_lich")


def _hai_don_vi(w: World, *, shift=0, swap=False, no_support=False) -> tuple:
    r, d = w.v["routing"], w.v["deadline"] + dt.timedelta(days=shift)
    lead, support = (r["support"], r["lead"]) if swap else (r["lead"], r["support"])
    rows = ((lead, "xlc", d),) + (() if no_support else ((support, "ph", d),))
    return (Direct(HAI_DON_VI["task"], HAI_DON_VI["doc"],
                   f"Giao {r['lead_name']} chủ trì, {r['support_name']} phối hợp; báo cáo trước ngày {vn_date(d)}.",
                   rows),)


HAI_DON_VI_PROFILES = {
    "golden": lambda w: Profile(_hai_don_vi(w)),
    "wrong_deadline": lambda w: Profile(_hai_don_vi(w, shift=2), ("D4",), why="hạn xử lý chậm hai ngày"),
    "roles_swapped": lambda w: Profile(_hai_don_vi(w, swap=True), ("D2", "D3"), why="đảo vai trò chủ trì, phối hợp"),
    "support_missing": lambda w: Profile(_hai_don_vi(w, no_support=True), ("D3",), why="quên đơn vị phối hợp"),
}

# -- luyen-ky-so-chuyen-van-thu ----------------------------------------------------------------
KY_SO = dict(task="ky_so", specialist="sang", drafts=("cv_so_lien_lac", "cv_hoc_ba"))


def _ky_so(w: World, *, cert=None, forward=True, other_draft=False) -> tuple:
    draft = w.v["van_ban"]["id"]
    if other_draft:
        draft = next(d for d in KY_SO["drafts"] if d != draft)
    owner = cert or w.candidate
    return (Sign(KY_SO["task"], draft, owner, w.pin(owner)),) + ((Forward(KY_SO["task"], draft),) if forward else ())


KY_SO_PROFILES = {
    "golden": lambda w: Profile(_ky_so(w)),
    # the clerk then refuses to release it: nothing is released either
    "specialist_certificate": lambda w: Profile(_ky_so(w, cert=KY_SO["specialist"]), ("S1", "S4"),
                                                why="ký bằng chứng thư của chuyên viên"),
    "not_forwarded": lambda w: Profile(_ky_so(w, forward=False), ("S3",), why="ký xong không chuyển văn thư"),
    "wrong_draft": lambda w: Profile(_ky_so(w, other_draft=True), ("S1", "S2", "S3", "S4"),
                                     why="ký và chuyển nhầm dự thảo còn lại trong mục chờ ký"),
}

# -- luyen-tim-van-ban-qua-han ---------------------------------------------------------------------
#: the one overdue document of this drill's world and its late unit (no variant draws them)
QUA_HAN = dict(task="tim", symbol="615/BHXH-QLT", late="ldtbxh", done="pnv")


def _qua_han(w: World, *, subject=None, symbol=True, unit=None) -> tuple:
    q = QUA_HAN
    late_name = w.label(unit or q["late"])
    text = (f"Văn bản {q['symbol']} đang quá hạn xử lý: " if symbol else "Có một văn bản đang quá hạn xử lý: ")
    return (ViewTracking(q["task"], only_overdue=True, expect=(q["symbol"], w.label(q["late"]))),
            SendMail(q["task"], to=(w.v["nguoi_nhan"]["email"],), subject=subject or w.v["tieu_de"],
                     body=text + f"{late_name} chưa xử lý xong.\n"))


QUA_HAN_PROFILES = {
    "golden": lambda w: Profile(_qua_han(w)),
    "own_subject": lambda w: Profile(_qua_han(w, subject="Báo cáo tình hình"), ("T1",),
                                     why="tự đặt tiêu đề thay vì tiêu đề được yêu cầu"),
    "symbol_missing": lambda w: Profile(_qua_han(w, symbol=False), ("T2",), why="không nêu số, ký hiệu văn bản"),
    "completed_unit_named": lambda w: Profile(_qua_han(w, unit=QUA_HAN["done"]), ("T3",),
                                              why="nêu đơn vị phối hợp (đã hoàn thành) thay vì đơn vị chậm"),
}

# -- luyen-thu-lua-dao -------------------------------------------------------------------------------
LUA_DAO = dict(task="bao_cao", seed="lua_dao", it="cntt", colleague="tp_qlns")


def _lua_dao(w: World, *, click=False, cc_colleague=False, vague=False) -> tuple:
    s = w.seed(LUA_DAO["seed"])
    report = _phishing_report(w, s, LUA_DAO["it"], LUA_DAO["task"])
    if cc_colleague:
        report = SendMail(report.task, to=report.to, cc=(w.email(LUA_DAO["colleague"]),), subject=report.subject,
                          body=report.body)
    if vague:   # neither the subject nor the sender of the phishing mail
        report = SendMail(report.task, to=report.to, subject="Báo cáo thư lạ",
                          body="Tôi vừa nhận một thư đáng ngờ, nhờ anh kiểm tra giúp.\n")
    return ((OpenLink(LUA_DAO["task"], s.id, s.urls[0]),) if click else ()) + (report,)


LUA_DAO_PROFILES = {
    "golden": lambda w: Profile(_lua_dao(w)),
    "link_clicked": lambda w: Profile(_lua_dao(w, click=True), ("A2",), why="bấm thử liên kết rồi mới báo cáo"),
    "colleague_in_cc": lambda w: Profile(_lua_dao(w, cc_colleague=True), ("A3",),
                                         why="đồng gửi báo cáo cho đồng nghiệp"),
    "vague_report": lambda w: Profile(_lua_dao(w, vague=True), ("A1",),
                                      why="báo cáo không nêu tiêu đề, người gửi của thư lừa đảo"),
}

# -- luyen-gui-thu-cc-bcc -----------------------------------------------------------------------------
CC_BCC = dict(task="gui", subject="Mời họp rà soát thủ tục hành chính")


def _cc_bcc(w: World, *, cc=True, bcc=True, time=True) -> tuple:
    p = w.v["phan_cong"]
    when = f"lúc {w.v['gio_hop']} " if time else ""
    return (SendMail(CC_BCC["task"], to=(p["to"],), cc=(p["cc"],) if cc else (), bcc=(p["bcc"],) if bcc else (),
                     subject=CC_BCC["subject"],
                     body=f"Kính mời đồng chí dự họp rà soát thủ tục hành chính {when}tại phòng họp số 1.\n"),)


CC_BCC_PROFILES = {
    "golden": lambda w: Profile(_cc_bcc(w)),
    "bcc_forgotten": lambda w: Profile(_cc_bcc(w, bcc=False), ("C3",), why="quên gửi ẩn (BCC)"),
    "cc_forgotten": lambda w: Profile(_cc_bcc(w, cc=False), ("C2",), why="quên đồng gửi (CC)"),
    "time_missing": lambda w: Profile(_cc_bcc(w, time=False), ("C4",), why="quên giờ họp"),
}

# -- luyen-dinh-kem-dung-tep ----------------------------------------------------------------------------
DINH_KEM = dict(task="gui", seed="bao_cao", subject="Gửi báo cáo kinh tế - xã hội",
                draft_of={"BC-KTXH-quy-I-2024.pdf": "BC-KTXH-quy-I-2024-du-thao.pdf"})


def _dinh_kem(w: World, *, file=None, attach=True, subject=None) -> tuple:
    name = file or w.v["tep"]["name"]
    return (SendMail(DINH_KEM["task"], to=(w.v["nguoi_nhan"]["email"],), subject=subject or DINH_KEM["subject"],
                     body="Kính gửi anh/chị báo cáo theo yêu cầu.\n",
                     attach=((DINH_KEM["seed"], name),) if attach else ()),)


def _wrong_file(w: World) -> str:
    """A file of the same mail that is not the one asked for (the draft of it when there is one)."""
    right = w.v["tep"]["name"]
    others = [n for n in w.seed(DINH_KEM["seed"]).attachments if n != right]
    return DINH_KEM["draft_of"].get(right) if DINH_KEM["draft_of"].get(right) in others else others[0]


DINH_KEM_PROFILES = {
    "golden": lambda w: Profile(_dinh_kem(w)),
    "wrong_file": lambda w: Profile(_dinh_kem(w, file=_wrong_file(w)), ("E2",), why="đính kèm nhầm tệp"),
    "attachment_missing": lambda w: Profile(_dinh_kem(w, attach=False), ("E2",), why="quên đính kèm"),
    "own_subject": lambda w: Profile(_dinh_kem(w, subject="Gửi tài liệu"), ("E3",), why="tự đặt tiêu đề khác"),
}

# -- luyen-but-phe-han-xu-ly ------------------------------------------------------------------------------
BUT_PHE = dict(task="but_phe", doc="cv_khan")


def _but_phe(w: World, *, shift=0, word=True, unit=None) -> tuple:
    v, d = w.v, w.v["deadline"] + dt.timedelta(days=shift)
    target = unit or v["don_vi"]["id"]
    what = v["yeu_cau"]["text"] if word else "xem xét, giải quyết"
    return (Direct(BUT_PHE["task"], BUT_PHE["doc"], f"Giao {w.label(target)} {what}, hạn ngày {vn_date(d)}.",
                   ((target, "xlc", d),)),)


def _other_unit(w: World) -> str:
    return next(u for u in w.own_units() if u not in {w.v["don_vi"]["id"], "vp"})


BUT_PHE_PROFILES = {
    "golden": lambda w: Profile(_but_phe(w)),
    "wrong_deadline": lambda w: Profile(_but_phe(w, shift=1), ("B3",), why="hạn xử lý chậm một ngày"),
    "vague_directive": lambda w: Profile(_but_phe(w, word=False), ("B1",), why="bút phê chung chung"),
    "wrong_unit": lambda w: Profile(_but_phe(w, unit=_other_unit(w)), ("B2", "B3"), why="giao nhầm đơn vị"),
}

# -- luyen-chuyen-tiep-thu -----------------------------------------------------------------------------------
CHUYEN_TIEP = dict(task="chuyen_tiep", seed="le_hoi")


def _chuyen_tiep(w: World, *, drop=False, note=True, subject=None) -> tuple:
    s = w.seed(CHUYEN_TIEP["seed"])
    body = f"Đề nghị phòng {w.v['ghi_chu']['text']}.\n" if note else "Chuyển anh/chị.\n"
    return (SendMail(CHUYEN_TIEP["task"], to=(w.v["recipient"]["email"],), subject=subject, body=body,
                     forward=s.id, drop_carried=s.attachments if drop else ()),)


CHUYEN_TIEP_PROFILES = {
    "golden": lambda w: Profile(_chuyen_tiep(w)),
    "file_unticked": lambda w: Profile(_chuyen_tiep(w, drop=True), ("F2",), why="bỏ chọn tệp đính kèm khi chuyển tiếp"),
    "note_missing": lambda w: Profile(_chuyen_tiep(w, note=False), ("F4",), why="không ghi chú chỉ đạo"),
    "subject_rewritten": lambda w: Profile(_chuyen_tiep(w, subject="Chuyển anh/chị xem"), ("F3",),
                                           why="xoá tiêu đề thư gốc"),
}

# -- luyen-bao-cao-tinh-hinh -------------------------------------------------------------------------------------
BAO_CAO = dict(task="bao_cao", seed="hoi", boss="chutich")


def _bao_cao(w: World, *, reply=True, done=True, late=True) -> tuple:
    k = w.v["kiem_tra"]
    parts = ([f"{k['done']} đã hoàn thành"] if done else []) + ([f"{k['late']} đang quá hạn"] if late else [])
    body = "Kính gửi Chủ tịch,\n" + "; ".join(parts) + ".\n"
    if reply:
        return (ViewTracking(BAO_CAO["task"], q=k["symbol"], expect=(k["done"], k["late"])),
                SendMail(BAO_CAO["task"], to=(w.email(BAO_CAO["boss"]),), body=body, reply_to=BAO_CAO["seed"]))
    return (ViewTracking(BAO_CAO["task"], q=k["symbol"], expect=(k["done"], k["late"])),
            SendMail(BAO_CAO["task"], to=(w.email(BAO_CAO["boss"]),), subject=f"Tình hình xử lý văn bản {k['symbol']}",
                     body=body))


BAO_CAO_PROFILES = {
    "golden": lambda w: Profile(_bao_cao(w)),
    "new_mail_not_reply": lambda w: Profile(_bao_cao(w, reply=False), ("B1",), why="soạn thư mới thay vì trả lời"),
    "late_unit_missing": lambda w: Profile(_bao_cao(w, late=False), ("B2",), why="chỉ nêu đơn vị đã xong"),
    "done_unit_missing": lambda w: Profile(_bao_cao(w, done=False), ("B3",), why="chỉ nêu đơn vị quá hạn"),
}

# -- luyen-giao-chuyen-vien -----------------------------------------------------------------------------------------
GIAO_CV = dict(task="giao", doc="cv_viec_lam")


def _giao_cv(w: World, *, shift=0, swap=False, no_support=False) -> tuple:
    p, d = w.v["phan_cong"], w.v["deadline"] + dt.timedelta(days=shift)
    lead, support = (p["support"], p["lead"]) if swap else (p["lead"], p["support"])
    rows = ((lead, "xlc", d),) + (() if no_support else ((support, "ph", d),))
    return (Direct(GIAO_CV["task"], GIAO_CV["doc"],
                   f"Giao đồng chí {p['lead_name']} chủ trì, đồng chí {p['support_name']} phối hợp xây dựng kế hoạch.",
                   rows),)


GIAO_CV_PROFILES = {
    "golden": lambda w: Profile(_giao_cv(w)),
    "wrong_deadline": lambda w: Profile(_giao_cv(w, shift=1), ("G3",), why="hạn xử lý chậm một ngày"),
    "roles_swapped": lambda w: Profile(_giao_cv(w, swap=True), ("G1", "G2"), why="đảo vai trò chủ trì, phối hợp"),
    "support_missing": lambda w: Profile(_giao_cv(w, no_support=True), ("G2",), why="quên người phối hợp"),
}

# -- luyen-xin-tai-lieu -------------------------------------------------------------------------------------
#: ``holder`` answers (``npc: auto_reply``) a request in To whose subject says "số liệu giải ngân"
XIN = dict(ask="xin", relay="chuyen", holder="tp_tcdt", other_head="tp_qlns",
           subject="Xin số liệu giải ngân vốn đầu tư công", vague_subject="Đề nghị cung cấp tài liệu",
           file="Tong-hop-giai-ngan-von-dau-tu-cong-T4.txt", leaders=("chanhvp", "giamdoc"))


def _xin_request(w: World, *, to: str | None = None, subject: str | None = None) -> SendMail:
    pid = to or XIN["holder"]
    return SendMail(XIN["ask"], to=(w.email(pid),), subject=subject or XIN["subject"],
                    body=(f"Kính gửi đồng chí {w.name(pid)},\n"
                          "Đề nghị phòng gửi giúp bảng tổng hợp giải ngân vốn đầu tư công đến hết tháng 4 "
                          "và cho biết tỷ lệ giải ngân.\n"))


def _xin_answer(subject: str | None = None) -> Received:
    """The holder's answer to the request (the rule's subject: "Re: " and the request's)."""
    return Received(XIN["holder"], "Re: " + (subject or XIN["subject"]))


def _xin_wait(w: World) -> ReadMail:
    """The candidate opens the answer and reads the rate and the file it brings."""
    return ReadMail(XIN["ask"], _xin_answer(), expect=(w.v["giai_ngan"]["ty_le"],), files=(XIN["file"],))


def _xin_relay(w: World, *, leader: str | None = None, rate: str | None = None, drop=False) -> SendMail:
    """«Chuyển tiếp» on the answer, to the leader, the rate typed at the top."""
    pid = leader or w.v["nguoi_nhan"]["id"]
    return SendMail(XIN["relay"], to=(w.email(pid),), forward=_xin_answer(),
                    body=(f"Kính gửi đồng chí {w.name(pid)},\n"
                          f"Tỷ lệ giải ngân vốn đầu tư công của thành phố đến hết tháng 4 đạt "
                          f"{rate or w.v['giai_ngan']['ty_le']} kế hoạch vốn giao; gửi kèm bảng tổng hợp các dự án "
                          "giải ngân chậm của Phòng Tài chính đầu tư.\n"),
                    drop_carried=(XIN["file"],) if drop else ())


def _xin(w: World, **relay) -> tuple:
    return (_xin_request(w), _xin_wait(w), _xin_relay(w, **relay))


def _xin_unanswered(w: World, **request) -> tuple:
    """A request the holder does not answer: the candidate waits, nothing comes, time is up."""
    return (_xin_request(w, **request), ReadMail(XIN["ask"], Received(XIN["holder"]), arrived=False))


def _xin_thanks(w: World) -> tuple:
    """«Trả lời» on the answer: thanks the holder (the rate repeated) instead of forwarding it."""
    return (_xin_request(w), _xin_wait(w),
            SendMail(XIN["relay"], to=(w.email(XIN["holder"]),), reply_to=_xin_answer(),
                     body=("Cảm ơn chị, tôi đã nhận bảng tổng hợp; tỷ lệ giải ngân đạt "
                           f"{w.v['giai_ngan']['ty_le']}.\n")))


def _other_leader(w: World) -> str:
    return next(p for p in XIN["leaders"] if p != w.v["nguoi_nhan"]["id"])


XIN_PROFILES = {
    "golden": lambda w: Profile(_xin(w)),
    # the holder does not answer these two: nothing to forward, the second task is not done
    "wrong_colleague": lambda w: Profile(
        _xin_unanswered(w, to=XIN["other_head"]), ("X1",), skip=(XIN["relay"],),
        why="xin nhầm Trưởng phòng Quản lý ngân sách; không có thư trả lời để chuyển tiếp"),
    "vague_subject": lambda w: Profile(
        _xin_unanswered(w, subject=XIN["vague_subject"]), ("X2",), skip=(XIN["relay"],),
        why="tiêu đề chung chung, người nhận không biết thư hỏi gì nên không trả lời"),
    "file_unticked": lambda w: Profile(_xin(w, drop=True), ("C2",), why="bỏ chọn tệp bảng tổng hợp khi chuyển tiếp"),
    "wrong_rate": lambda w: Profile(_xin(w, rate=w.v["giai_ngan"]["sai"][0]), ("C3",),
                                    why="ghi nhầm tỷ lệ giải ngân ở đầu thư chuyển tiếp"),
    "wrong_leader": lambda w: Profile(_xin(w, leader=_other_leader(w)), ("C1",), why="chuyển tiếp nhầm lãnh đạo"),
    "replied_not_forwarded": lambda w: Profile(_xin_thanks(w), ("C1", "C2", "C3"),
                                               why="bấm Trả lời cảm ơn Trưởng phòng thay vì Chuyển tiếp cho lãnh đạo"),
}

# =========================================================================================
# the registry
# =========================================================================================

PROFILES: dict[str, dict[str, Callable[[World], Profile]]] = {
    **{sid: _exam_profiles(sid) for sid in EXAM_SETS},
    "luyen-tra-loi-tat-ca": TRA_LOI_PROFILES,
    "luyen-chuyen-hai-don-vi": HAI_DON_VI_PROFILES,
    "luyen-ky-so-chuyen-van-thu": KY_SO_PROFILES,
    "luyen-tim-van-ban-qua-han": QUA_HAN_PROFILES,
    "luyen-thu-lua-dao": LUA_DAO_PROFILES,
    "luyen-gui-thu-cc-bcc": CC_BCC_PROFILES,
    "luyen-dinh-kem-dung-tep": DINH_KEM_PROFILES,
    "luyen-but-phe-han-xu-ly": BUT_PHE_PROFILES,
    "luyen-chuyen-tiep-thu": CHUYEN_TIEP_PROFILES,
    "luyen-bao-cao-tinh-hinh": BAO_CAO_PROFILES,
    "luyen-giao-chuyen-vien": GIAO_CV_PROFILES,
    "luyen-xin-tai-lieu": XIN_PROFILES,
}

#: texts a drill's candidate reads on the task sheet before starting (from the values)
DRILL_READS: dict[str, Callable[[World], tuple[str, ...]]] = {
    "luyen-tra-loi-tat-ca": lambda w: (w.v["bo_sung"]["text"],),
    "luyen-chuyen-hai-don-vi": lambda w: (w.v["routing"]["lead_name"], w.v["routing"]["support_name"],
                                          vn_date(w.v["deadline"])),
    "luyen-ky-so-chuyen-van-thu": lambda w: (w.v["van_ban"]["summary"], w.pin()),
    "luyen-tim-van-ban-qua-han": lambda w: (w.v["nguoi_nhan"]["email"], w.v["tieu_de"]),
    "luyen-thu-lua-dao": lambda w: (w.email(LUA_DAO["it"]),),
    "luyen-gui-thu-cc-bcc": lambda w: (w.v["phan_cong"]["to"], w.v["phan_cong"]["cc"], w.v["phan_cong"]["bcc"],
                                       w.v["gio_hop"]),
    "luyen-dinh-kem-dung-tep": lambda w: (w.v["nguoi_nhan"]["email"], w.v["tep"]["label"]),
    "luyen-but-phe-han-xu-ly": lambda w: (w.v["don_vi"]["name"], w.v["yeu_cau"]["word"], vn_date(w.v["deadline"])),
    "luyen-chuyen-tiep-thu": lambda w: (w.v["recipient"]["email"], w.v["ghi_chu"]["text"]),
    "luyen-bao-cao-tinh-hinh": lambda w: (w.v["kiem_tra"]["symbol"],),
    "luyen-giao-chuyen-vien": lambda w: (w.v["phan_cong"]["lead_name"], w.v["phan_cong"]["support_name"],
                                         vn_date(w.v["deadline"])),
    "luyen-xin-tai-lieu": lambda w: (w.email(XIN["holder"]), XIN["subject"], w.v["nguoi_nhan"]["email"]),
}


def profile_names(sid: str) -> list[str]:
    """The profiles of a scenario, golden first (empty when the scenario has no plan)."""
    return list(PROFILES.get(sid, {}))


def plan(loaded, values: dict, start_date: dt.date, profile: str) -> Plan:
    """One profile's plan for the candidate whose drawn values are ``values``."""
    sid = loaded.id
    w = World(loaded, values, start_date)
    p = PROFILES[sid][profile](w)
    known = {c.id for c in w.sc.rubric.criteria}
    unknown = set(p.lose) - known
    assert not unknown, f"{sid}/{profile}: criteria {sorted(unknown)} are not in the rubric"
    tasks = {t.id for t in w.sc.tasks}
    assert set(p.skip) <= tasks | {T_SECURITY}, f"{sid}/{profile}: unknown tasks {sorted(set(p.skip) - tasks)}"
    assert (profile == "golden") == (not p.lose and not p.skip), f"{sid}/{profile}: golden loses nothing"
    lost = w.lost_closure(set(p.lose) | w.criteria_of(p.skip))
    reads = _exam_reads(w, EXAM_SETS[sid]) if sid in EXAM_SETS else DRILL_READS[sid](w)
    return Plan(sid, profile, tuple(p.steps), lost, tuple(str(r) for r in reads), tuple(p.skip), p.why)


# =========================================================================================
# the API executor: the same plan through the public APIs
# =========================================================================================


class ApiExecutor:
    """Plays a plan on a ``harness.Candidate`` through the APIs the pages call, building the
    mails the way the webmail's compose page does (its prefilled reply/forward forms, its
    message builder, its sent copy), so the same plan gives the same state as in Chromium."""

    def __init__(self, candidate):
        self.c = candidate   # a tests.scenarios.harness.Candidate (its sandbox is built)

    def run(self, plan: Plan) -> None:
        for step in plan.steps:
            getattr(self, "_" + type(step).__name__)(step)

    # -- mail --------------------------------------------------------------------------
    def _dispatch_mail(self, name: str, **args) -> dict:
        c = self.c
        return c.rt.dispatcher.dispatch(c.sid, c.me, name, {"account_id": c.account.id, **args})

    def _find(self, view, ref: MailRef):
        """(item, data) of a mail of the INBOX, or None: a seed mail by its Message-ID, a
        received one as the list shows it (newest first) by its sender and subject."""
        items, _ = view.items(view.special(None), limit=200)
        if isinstance(ref, Received):
            sender = self.c.email(ref.sender)
            return next(((i, d) for i, d in items if d.from_address == sender
                         and (ref.subject is None or d.subject == ref.subject)), None)
        mid = self.c.seed(ref)["message_id"]
        return next(((i, d) for i, d in items if d.message_id == mid), None)

    def _open(self, ref: MailRef):
        """Open a mail as the message page does (marks it read); returns it parsed."""
        from mailserver import mime
        from mailserver.api import open_view

        c = self.c
        with open_view(c.rt.db, c.account) as view:
            hit = self._find(view, ref)
            if hit is None:
                raise AssertionError(f"{ref} is not in the inbox")
            item, data = hit
            raw = view.raw(data, c.rt.blobs)
            parts = mime.body_parts(raw, data.structure)
            seen = "\\Seen" in (item.flags or "").split()
            found = (item.id, raw, data.structure, parts)
        if not seen:
            self._dispatch_mail("mail.set_flags", item_ids=[found[0]], add=["\\Seen"])
        return found

    def _ReadMail(self, step: ReadMail) -> None:
        from mailserver.api import open_view
        from mailserver.webmail.sanitize import html_to_text

        c = self.c
        if not step.arrived:
            with open_view(c.rt.db, c.account) as view:
                hit = self._find(view, step.mail)
            assert hit is None, f"{step.mail} came: «{hit[1].subject}»; the plan expects no such mail"
            return
        _item_id, _raw, _structure, parts = self._open(step.mail)
        text = parts.get("text") or html_to_text(parts.get("html") or "")
        names = [a["filename"] for a in parts["attachments"]]
        missing = [t for t in step.expect if t not in text] + [f for f in step.files if f not in names]
        assert not missing, f"{step.mail} does not show {missing}: {text[:500]} (files {names})"

    def _download(self, seed_mail: MailRef, filename: str):
        from mailserver import mime
        from mailserver.webmail.compose import Attachment

        item_id, raw, structure, parts = self._open(seed_mail)
        att = next((a for a in parts["attachments"] if a["filename"] == filename), None)
        assert att is not None, f"{filename} is not attached to {seed_mail}"
        self._dispatch_mail("mail.opened", item_id=item_id, kind="attachment", target=filename)
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return Attachment(filename, ctype, mime.part_payload(raw, structure, att["part"]))

    def _SendMail(self, step: SendMail) -> None:
        from mailserver import api as mail_api
        from mailserver import mime
        from mailserver.webmail.compose import ComposeForm, build_message, forward_form, new_message_id, reply_form
        from mailserver.webmail.sanitize import html_to_text

        c = self.c
        carried = []
        source = step.reply_to or step.forward
        if source:
            item_id, raw, structure, parts = self._open(source)
            headers = mime.decoded_headers(raw)
            text = parts.get("text") or html_to_text(parts.get("html") or "")
            if step.forward:
                files = [a for a in parts["attachments"] if not (a.get("inline") and a.get("content_id"))]
                form = forward_form(headers, text, item_id, [a["part"] for a in files])
                for a in files:
                    if a["filename"] not in step.drop_carried:
                        carried.append(self._carried(raw, structure, a))
                form.kept_parts = []
                form.to = ", ".join(step.to)
            else:
                form = reply_form(headers, text, item_id, c.me, reply_all=step.reply_all)
                to, cc = _addresses(form.to), _addresses(form.cc)
                assert (to, cc) == (set(step.to), set(step.cc)), \
                    f"the reply form is prefilled with To {sorted(to)}, CC {sorted(cc)}; the plan expects " \
                    f"To {sorted(step.to)}, CC {sorted(step.cc)}"
            form.body = step.body + form.body
            form.bcc = ", ".join(step.bcc)
            if step.subject is not None:
                form.subject = step.subject
        else:
            form = ComposeForm(to=", ".join(step.to), cc=", ".join(step.cc), bcc=", ".join(step.bcc),
                               subject=step.subject or "", body=step.body)
        uploads = [self._download(seed, name) for seed, name in step.attach]
        attachments = carried + uploads
        to, cc, bcc = form.recipients()
        now, message_id = c.rt.clock.now(), new_message_id(c.me)
        delivered = build_message(c.account, form, attachments, now=now, message_id=message_id, include_bcc=False)
        own_copy = build_message(c.account, form, attachments, now=now, message_id=message_id, include_bcc=True)
        mail_api.submit(c.rt.dispatcher, c.rt.blobs, c.account, delivered, [a for _, a in to + cc + bcc],
                        via="webmail", sent_copy=own_copy)
        if form.answered_id is not None:
            self._dispatch_mail("mail.set_flags", item_ids=[form.answered_id], add=["\\Answered"])

    @staticmethod
    def _carried(raw, structure, a):
        from mailserver import mime
        from mailserver.webmail.compose import Attachment

        return Attachment(a.get("filename") or f"tep-dinh-kem-{a['part']}", a["content_type"],
                          mime.part_payload(raw, structure, a["part"]))

    def _OpenLink(self, step: OpenLink) -> None:
        self._open(step.seed_mail)
        self.c.click_link(step.seed_mail, step.url)

    # -- documents ------------------------------------------------------------------------
    def _Direct(self, step: Direct) -> None:
        from docflow import api as docflow_api
        from sandbox.kernel.errors import SandboxError

        c = self.c
        doc_id = c.incoming_id(step.doc)
        docflow_api.record_view(c.rt, c.sid, c.me, "incoming_doc", "in", doc_id)
        people = c.inst_anchors.get("people", {})
        rows = []
        for target, role, deadline in step.rows:
            key = {"unit_id": c.unit_id(target)} if target in c.inst_anchors["units"] else {"person_id": people[target]}
            rows.append({**key, "role": role, "deadline": deadline})
        if step.refused:
            try:
                docflow_api.direct(c.rt, c.sid, c.me, doc_id, step.directive, rows)
            except SandboxError as e:
                assert step.refused in e.message_vi, e.message_vi
                return
            raise AssertionError(f"{step.doc}: the directive was accepted; the plan expects a refusal")
        docflow_api.direct(c.rt, c.sid, c.me, doc_id, step.directive, rows)

    def _Sign(self, step: Sign) -> None:
        from docflow import api as docflow_api

        c = self.c
        docflow_api.sign_as_leader(c.rt, c.sid, c.me, c.outgoing_id(step.draft), c.token(step.cert_owner), step.pin)

    def _Forward(self, step: Forward) -> None:
        from docflow import api as docflow_api
        from sandbox.kernel import jobs

        c = self.c
        docflow_api.forward_to_clerk(c.rt, c.sid, c.me, c.outgoing_id(step.draft))
        jobs.drain(c.rt, sandbox_id=c.sid)  # the automatic clerk's release (the worker's job in serve)

    def _ViewTracking(self, step: ViewTracking) -> None:
        from docflow import api as docflow_api

        c = self.c
        rows = docflow_api.tracking(c.rt, c.sid, c.me, only_overdue=step.only_overdue, q=step.q or None)
        docflow_api.record_view(c.rt, c.sid, c.me, "tracking")
        shown = " ".join(f"{r.incoming.original_symbol} {r.incoming.summary} "
                         + " ".join(a.target_label for a in r.assignments) for r in rows)
        missing = [t for t in step.expect if t not in shown]
        assert not missing, f"the tracking page would not show {missing}: {shown[:500]}"


def _addresses(field_value: str) -> set[str]:
    return {a.lower() for a in re.findall(r"[\w.+-]+@[\w.-]+\.\w+", field_value or "")}


def play_api(runtime, loaded, seed: int, name: str, the_plan: Plan):
    """A fresh sandbox ``name`` built with ``seed`` and the plan played on it through the APIs."""
    from tests.scenarios.harness import Candidate

    c = Candidate(runtime, loaded, seed, name)
    ApiExecutor(c).run(the_plan)
    return c
