"""The Decree 30 verdicts of the verifier: one small rule per verdict code, in a registry.

A rule is a function of the :class:`Facts` of a PDF (its signatures as
:class:`signing.verify.SignatureInfo`, in signing order, the empty signature fields, which
signature is the leader's and which the organisation's, ...), registered under its code with
:func:`verdict`. It returns :func:`passed` or :func:`failed` with a Vietnamese message, or
``None`` when it cannot judge this file (e.g. ``order`` without both layers). :func:`judge`
runs every rule in registration order, which is the order of the report::

    @verdict("not_revoked")
    def _not_revoked(f: Facts) -> Judgement | None:
        revoked = [s for s in f.sigs if s.revoked]
        if not revoked:
            return passed("Không chứng thư số nào bị thu hồi ...")
        return failed("Chứng thư số đã bị thu hồi: ...")

The codes and when each is given are listed in :mod:`signing.verify` (JSON form).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, NamedTuple

from .attachments import ATTACHMENT_FIELD, COPY_FIELD
from .document import LEADER_FIELD, ORG_FIELD

if TYPE_CHECKING:
    from .verify import EmptyField, SignatureInfo

__all__ = ["Verdict", "Facts", "Judgement", "VERDICTS", "verdict", "passed", "failed", "judge",
           "facts_of", "MODIFICATION_VI", "SEAL_OVERLAP_RANGE", "SEPARATE_FIELDS"]

#: pyHanko modification level -> plain Vietnamese.
MODIFICATION_VI = {
    "NONE": "không có thay đổi nào sau khi ký",
    "LTA_UPDATES": "chỉ bổ sung dữ liệu kiểm tra dài hạn (dấu thời gian, thông tin thu hồi)",
    "FORM_FILLING": "chỉ điền biểu mẫu (số, ngày) và ký tiếp vào trường chữ ký sau khi ký",
    "ANNOTATIONS": "có thêm hoặc sửa chú thích (annotation) sau khi ký",
    "OTHER": "nội dung văn bản đã bị thay đổi sau khi ký",
}
#: Acceptable share of the leader box's width covered by the seal (about one third).
SEAL_OVERLAP_RANGE = (0.2, 0.45)
#: Field names of the organisation signature on a separate attachment and on an electronic
#: copy (signing.attachments) -> document kind: one organisation signature alone makes such a
#: file complete.
SEPARATE_FIELDS = {ATTACHMENT_FIELD: "attachment", COPY_FIELD: "copy"}
_SEPARATE_VI = {"attachment": "tệp đính kèm (phụ lục)", "copy": "bản sao điện tử"}


@dataclass
class Verdict:
    code: str
    ok: bool
    message: str
    value: float | None = None


class Judgement(NamedTuple):
    """What a rule returns: :func:`judge` adds the code."""

    ok: bool
    message: str
    value: float | None = None


def passed(message: str, value: float | None = None) -> Judgement:
    return Judgement(True, message, value)


def failed(message: str, value: float | None = None) -> Judgement:
    return Judgement(False, message, value)


Rule = Callable[["Facts"], "Judgement | None"]
#: Verdict code -> rule, in the order of the report.
VERDICTS: dict[str, Rule] = {}


def verdict(code: str) -> Callable[[Rule], Rule]:
    """Register the decorated rule under ``code`` (after the rules registered before it)."""
    def register(rule: Rule) -> Rule:
        if code in VERDICTS and VERDICTS[code] is not rule:
            raise RuntimeError(f"verdict {code!r} registered twice")
        VERDICTS[code] = rule
        return rule
    return register


# --- the facts the rules read ------------------------------------------------------------------
@dataclass(frozen=True)
class Facts:
    """A PDF's signatures as the rules see them."""

    sigs: list[SignatureInfo]            # in signing order
    empty_names: frozenset[str]          # unsigned signature fields
    by_field: dict[str, SignatureInfo]   # signed field name -> its signature
    people: dict[str, str]               # fingerprint -> in-world name
    expected: str | None                 # the expected leader's fingerprint, as given
    has_anchor: bool                     # a validation context (trust root) was given
    first_page: tuple[float, float, float, float] | None  # page 1's visible box
    #: a Decree 30 document: a SigLanhDao field or a personal signature outside the
    #: attachment/copy fields
    decree30: bool
    leader: SignatureInfo | None         # the first layer (personal)
    org: SignatureInfo | None            # the second layer (organisation)

    @property
    def both_layers(self) -> bool:
        return self.decree30 and self.leader is not None and self.org is not None


def facts_of(sigs: list[SignatureInfo], empty: list[EmptyField], field_names: set[str],
             people: dict[str, str], expected: str | None, has_anchor: bool = True,
             first_page: tuple[float, float, float, float] | None = None) -> Facts:
    by_field = {s.field: s for s in sigs}
    leader = by_field.get(LEADER_FIELD) or next(
        (s for s in sigs if s.kind == "personal"), None)
    org = by_field.get(ORG_FIELD)
    if org is None:
        org = next((s for s in sigs if s.kind == "organisation" and s is not leader), None)
    decree30 = LEADER_FIELD in field_names or any(
        s.kind == "personal" for s in sigs if s.field not in SEPARATE_FIELDS)
    if decree30:
        leader = by_field.get(LEADER_FIELD) or next(
            (s for s in sigs if s.kind == "personal" and s.field not in SEPARATE_FIELDS), None)
        if org is not None and org.field in SEPARATE_FIELDS:
            org = next((s for s in sigs if s.kind == "organisation" and s is not leader
                        and s.field not in SEPARATE_FIELDS), None)
    return Facts(sigs=sigs, empty_names=frozenset(e.field for e in empty), by_field=by_field,
                 people=people, expected=expected, has_anchor=has_anchor,
                 first_page=first_page, decree30=decree30, leader=leader, org=org)


def judge(sigs: list[SignatureInfo], empty: list[EmptyField], field_names: set[str],
          people: dict[str, str], expected: str | None, has_anchor: bool = True,
          first_page: tuple[float, float, float, float] | None = None) -> list[Verdict]:
    """Every registered rule's verdict on these signatures, in registration order."""
    facts = facts_of(sigs, empty, field_names, people, expected, has_anchor, first_page)
    out: list[Verdict] = []
    for code, rule in VERDICTS.items():
        j = rule(facts)
        if j is not None:
            out.append(Verdict(code, j.ok, j.message, j.value))
    return out


# --- helpers ---------------------------------------------------------------------------------
def _name_of(s: SignatureInfo) -> str:
    kind = {"personal": "chứng thư số cá nhân", "organisation": "chứng thư số cơ quan, tổ chức"}
    return f"{kind.get(s.kind or '', 'chứng thư số')} của {s.who}"


def _seal_overlap(leader: list[float], seal: list[float]) -> float:
    lw = leader[2] - leader[0]
    if lw <= 0:
        return 0.0
    return max(0.0, min(leader[2], seal[2]) - max(leader[0], seal[0])) / lw


def _top_right(rect: list[float], box: tuple[float, float, float, float]) -> bool:
    """The rectangle's centre lies in the right half and its top in the top fifth."""
    x1, y1, x2, y2 = box
    cx = (rect[0] + rect[2]) / 2
    return cx > (x1 + x2) / 2 and rect[3] > y2 - (y2 - y1) / 5


# --- the two layers (Decree 30 documents) ------------------------------------------------------
@verdict("two_layers")
def _two_layers(f: Facts) -> Judgement | None:
    if not f.decree30:
        return None
    leader = f.leader
    has_personal = leader is not None and leader.kind == "personal"
    has_org = any(s.kind == "organisation" for s in f.sigs
                  if s is not leader and s.field not in SEPARATE_FIELDS)
    if has_personal and has_org:
        return passed("Đủ hai lớp chữ ký số: lãnh đạo (cá nhân) và cơ quan, tổ chức.")
    if not has_personal and leader is None:
        return failed("Thiếu chữ ký số của lãnh đạo (lớp thứ nhất, chứng thư số cá nhân)"
                      + (" - trường SigLanhDao còn trống." if LEADER_FIELD in f.empty_names
                         else "."))
    if not has_personal:
        return failed(f"Lớp thứ nhất không phải chữ ký cá nhân của lãnh đạo: {_name_of(leader)}.")
    where = (" (trường SigToChuc còn trống, chờ văn thư phát hành)"
             if ORG_FIELD in f.empty_names else "")
    return failed("Văn bản mới có một lớp chữ ký (của lãnh đạo); còn thiếu chữ ký số của cơ "
                  f"quan, tổ chức{where}.")


@verdict("order")
def _order(f: Facts) -> Judgement | None:
    if not f.both_layers:
        return None
    leader, org = f.leader, f.org
    if leader.revision is not None and org.revision is not None \
            and leader.revision < org.revision:
        return passed("Đúng thứ tự: lãnh đạo ký trước, cơ quan, tổ chức ký sau.")
    return failed("Sai thứ tự ký: chữ ký số của cơ quan, tổ chức có trước chữ ký của lãnh đạo; "
                  "lãnh đạo phải ký trước, văn thư ký số của cơ quan sau cùng khi phát hành.")


@verdict("unchanged_after_leader")
def _unchanged_after_leader(f: Facts) -> Judgement | None:
    if not f.decree30 or f.leader is None:
        return None
    from pyhanko.sign.diff_analysis import ModificationLevel

    lvl = f.leader.modification_level
    ok_lvl = lvl is not None and ModificationLevel[lvl] <= ModificationLevel.FORM_FILLING
    if ok_lvl and f.leader.docmdp_ok:
        return passed("Sau khi lãnh đạo ký chỉ có điền số, ngày và chữ ký số của cơ quan: nội "
                      "dung không bị thay đổi.")
    if lvl is None:
        return failed("Không xác định được những gì thay đổi sau khi lãnh đạo ký vì chữ ký của "
                      "lãnh đạo đã hỏng.")
    return failed(f"Văn bản đã bị sửa sau khi lãnh đạo ký ({MODIFICATION_VI.get(lvl, lvl)}): "
                  "chữ ký của lãnh đạo không còn giá trị. Sau khi lãnh đạo ký chỉ được điền "
                  "số, ngày (điền biểu mẫu) và ký số của cơ quan.")


# --- who signed --------------------------------------------------------------------------------
@verdict("leader_is_expected_person")
def _leader_is_expected_person(f: Facts) -> Judgement | None:
    if not f.expected:
        return None
    exp = f.expected.lower().replace(":", "").strip()
    first = f.leader or (f.sigs[0] if f.sigs else None)
    if first is None:
        return failed("Chưa có chữ ký của người được giao ký.")
    if first.fingerprint == exp:
        return passed(f"Chữ ký thứ nhất đúng của người được giao ký: {_name_of(first)}.")
    who = f.people.get(exp)
    tail = f" (người được giao ký: {who})" if who else ""
    return failed(f"Chữ ký thứ nhất không phải của người được giao ký: {_name_of(first)}{tail}.")


@verdict("organisation_field_has_organisation_cert")
def _organisation_field_has_organisation_cert(f: Facts) -> Judgement | None:
    org_field = f.by_field.get(ORG_FIELD)
    if org_field is None:
        return None
    if org_field.kind == "organisation":
        return passed("Trường chữ ký của cơ quan dùng chứng thư số của cơ quan, tổ chức "
                      f"({org_field.signer}).")
    return failed(f"Trường chữ ký của cơ quan (SigToChuc) lại được ký bằng {_name_of(org_field)}; "
                  "phải dùng chứng thư số của cơ quan, tổ chức do văn thư quản lý.")


# --- a separate attachment (SigPhuLuc) and an electronic copy (SigBanSao) ----------------------
def _separate_cert(field: str) -> Rule:
    """The attachment's or copy's signature uses the organisation certificate."""
    what = _SEPARATE_VI[SEPARATE_FIELDS[field]]

    def rule(f: Facts) -> Judgement | None:
        sig = f.by_field.get(field)
        if sig is None:
            return None
        if sig.kind == "organisation":
            return passed(f"Chữ ký số trên {what} dùng chứng thư số của cơ quan, tổ chức "
                          f"({sig.signer}).")
        return failed(f"Chữ ký số trên {what} lại dùng {_name_of(sig)}; phải dùng chứng thư "
                      "số của cơ quan, tổ chức do văn thư quản lý.")
    return rule


def _separate_placement(field: str) -> Rule:
    """The attachment's or copy's signature is visible at the top right of page 1."""
    what = _SEPARATE_VI[SEPARATE_FIELDS[field]]

    def rule(f: Facts) -> Judgement | None:
        sig = f.by_field.get(field)
        if sig is None:
            return None
        if sig.rect is None or sig.page is None:
            return failed(f"Chữ ký số trên {what} không hiển thị (chữ ký ẩn); phải đặt ở góc "
                          "trên, bên phải trang đầu.")
        if sig.page != 0:
            return failed(f"Chữ ký số trên {what} nằm ở trang {sig.page + 1}; phải đặt ở góc "
                          "trên, bên phải trang đầu.")
        if f.first_page is not None and not _top_right(sig.rect, f.first_page):
            return failed(f"Chữ ký số trên {what} không nằm ở góc trên, bên phải trang đầu.")
        return passed(f"Chữ ký số trên {what} nằm ở góc trên, bên phải trang đầu.")
    return rule


for _field, _kind in SEPARATE_FIELDS.items():
    verdict(f"{_kind}_organisation_cert")(_separate_cert(_field))
    verdict(f"{_kind}_placement")(_separate_placement(_field))
del _field, _kind


# --- every signature ---------------------------------------------------------------------------
@verdict("trusted")
def _trusted(f: Facts) -> Judgement | None:
    untrusted = [s for s in f.sigs if not s.trusted and not s.revoked]
    if not untrusted:
        return passed("Mọi chứng thư số đều do CA tin cậy cấp (chuỗi đến chứng thư gốc).")
    parts = []
    for s in untrusted:
        if s.error or not s.valid:
            why = "không kiểm tra được"
        elif not f.has_anchor:
            why = "chưa đối chiếu được (không có chứng thư gốc tin cậy nào được cung cấp)"
        else:
            why = f"do “{s.issuer or 'CA không rõ'}” cấp - CA không được tin cậy"
        parts.append(f"{s.field}: {_name_of(s)} {why}")
    return failed("Chứng thư số không được tin cậy (không chuỗi đến chứng thư gốc tin cậy): "
                  + "; ".join(parts) + ".")


@verdict("not_revoked")
def _not_revoked(f: Facts) -> Judgement | None:
    revoked = [s for s in f.sigs if s.revoked]
    if not revoked:
        return passed("Không chứng thư số nào bị thu hồi (theo danh sách thu hồi đã có).")
    return failed("Chứng thư số đã bị thu hồi: "
                  + "; ".join(f"{s.field}: {_name_of(s)}" for s in revoked)
                  + ". Chữ ký bằng chứng thư số bị thu hồi không có giá trị.")


@verdict("intact")
def _intact(f: Facts) -> Judgement | None:
    broken = [s for s in f.sigs if not s.intact or not s.valid]
    if not broken:
        return passed("Mọi chữ ký đều toàn vẹn: nội dung đã ký không bị sửa.")
    return failed("Chữ ký không còn toàn vẹn (tệp bị sửa, dù chỉ một byte, trong phần đã ký): "
                  + ", ".join(f"{s.field} ({s.who})" for s in broken) + ".")


# --- the seal over the leader's signature (Decree 30 documents) -------------------------------
@verdict("seal_placement")
def _seal_placement(f: Facts) -> Judgement | None:
    if not f.both_layers:
        return None
    leader, org = f.leader, f.org
    if leader.rect is None or org.rect is None or leader.page != org.page:
        return failed("Không xác định được vị trí dấu so với chữ ký của lãnh đạo (chữ ký ẩn "
                      "hoặc khác trang).", 0.0)
    ratio = round(_seal_overlap(leader.rect, org.rect), 3)
    lo, hi = SEAL_OVERLAP_RANGE
    left = org.rect[0] < leader.rect[0]
    vert = org.rect[1] < leader.rect[3] and leader.rect[1] < org.rect[3]
    pct = f"{ratio * 100:.0f}%"
    if left and vert and lo <= ratio <= hi:
        return passed(f"Dấu trùm lên khoảng 1/3 chữ ký của lãnh đạo về phía bên trái "
                      f"({pct} bề rộng).", ratio)
    where = "" if left and vert else ", không nằm về phía bên trái chữ ký"
    return failed(f"Dấu trùm lên {pct} bề rộng chữ ký của lãnh đạo{where}; phải trùm khoảng 1/3 "
                  "chữ ký về phía bên trái.", ratio)
