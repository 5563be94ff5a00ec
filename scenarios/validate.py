"""Validate a scenario file: every problem with file, line and a plain Vietnamese message.

Two passes: the structure (:mod:`scenarios.schema`, pydantic), then the cross-references a
schema cannot see: ids that must exist, points that must add up, placeholders that must
resolve for every variant value, variants that must be used. Check types and their
parameters belong to the grader, which passes its own validator in (``check_validator``:
``(type, params) -> list of messages``), so this package never imports the grader."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import ValidationError

from . import templates
from .schema import Scenario
from .variants import context, entities, options
from .yamlsrc import Source, YamlError, parse

#: ``(check type, rendered params, the scenario's names by kind) -> problems``: a message,
#: or (parameter, message) for a name that does not resolve
CheckValidator = Callable[[str, dict[str, Any], dict[str, Any]], list]

_ID_HINT = "chỉ gồm chữ thường không dấu, chữ số và dấu gạch dưới, bắt đầu bằng chữ cái"
_SAMPLE_START = dt.date(2026, 1, 5)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


def _line_for(src: Source | None, loc: Iterable[Any]) -> int | None:
    if src is None:
        return None
    path: tuple = ()
    best = src.lines.get((), 1)
    for seg in loc:
        if path + (seg,) in src.lines:
            path = path + (seg,)
            best = src.lines[path]
    return best


def _where(loc: tuple) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ".".join(parts)


def _pydantic_message(err: dict) -> str:
    loc = tuple(p for p in err["loc"] if p not in ("auto_reply",))
    field = _where(loc) or "tệp"
    kind, ctx, inp = err["type"], err.get("ctx") or {}, err.get("input")
    last = str(loc[-1]) if loc else ""
    if kind == "missing":
        return f"thiếu trường bắt buộc '{last}' (trong {_where(loc[:-1]) or 'gốc tệp'})"
    if kind == "extra_forbidden":
        return f"trường '{last}' không được hỗ trợ (trong {_where(loc[:-1]) or 'gốc tệp'})"
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        if pattern.startswith("^[a-z][a-z0-9_]*"):
            return f"{field}: mã '{inp}' không hợp lệ ({_ID_HINT})"
        if pattern.startswith("^[A-Z]"):
            return f"{field}: mã tiêu chí '{inp}' phải viết hoa, ví dụ M1, D2, S1"
        if "@" in pattern:
            return f"{field}: địa chỉ thư '{inp}' không hợp lệ"
        if "\\." in pattern and "[a-z]" in pattern and last == "type":
            return f"{field}: loại kiểm tra '{inp}' phải có dạng nhóm.tên, ví dụ mail.sent_to"
        if last == "pin":
            return f"{field}: mã PIN phải gồm 4 đến 16 chữ số"
        return f"{field}: giá trị '{inp}' không đúng định dạng"
    if kind == "literal_error":
        return f"{field}: giá trị '{inp}' không hợp lệ; chỉ nhận {ctx.get('expected', '').replace(' or ', ' hoặc ')}"
    if kind == "union_tag_invalid":
        return f"{field}: loại '{ctx.get('tag')}' không hợp lệ; chỉ nhận {ctx.get('expected_tags', '')}"
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type", "int_from_float"):
        return f"{field}: phải là một số (đang là '{inp}')"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        bound = ctx.get("gt", ctx.get("ge", ctx.get("le")))
        word = {"greater_than": "lớn hơn", "greater_than_equal": "từ", "less_than_equal": "không quá"}[kind]
        return f"{field}: phải {word} {bound} (đang là {inp})"
    if kind in ("string_type",):
        return f"{field}: phải là một chuỗi văn bản"
    if kind in ("list_type",):
        return f"{field}: phải là một danh sách (các dòng bắt đầu bằng '- ')"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"{field}: phải là một nhóm trường (tên: giá trị)"
    if kind in ("date_parsing", "date_from_datetime_parsing", "date_type", "datetime_parsing",
                "datetime_type", "datetime_from_date_parsing"):
        return f"{field}: ngày/giờ không hợp lệ '{inp}' (dạng YYYY-MM-DD hoặc YYYY-MM-DDTHH:MM:SS+07:00)"
    if kind in ("bool_parsing", "bool_type"):
        return f"{field}: phải là true hoặc false"
    if kind in ("too_short",):
        return f"{field}: không được để trống"
    if kind in ("string_too_long", "too_long"):
        return f"{field}: quá dài (tối đa {ctx.get('max_length')})"
    if kind == "value_error":
        msg = str(ctx.get("error", err.get("msg", "")))
        return f"{field}: {msg}"
    return f"{field}: {err.get('msg', 'giá trị không hợp lệ')}"


class _Checker:
    """The cross-reference pass over a structurally valid scenario: :meth:`run` collects
    every problem (the order does not matter: the caller sorts them by line)."""

    def __init__(self, name: str, src: Source, sc: Scenario, check_validator: CheckValidator | None):
        self.name, self.src, self.sc, self.cv = name, src, sc, check_validator
        self.problems: list[Problem] = []
        w = sc.world
        self.orgs = {o.id: o for o in w.organisations}
        self.units = {u.id: (o, u) for o in w.organisations for u in o.units}
        self.people = {p.id: p for p in w.people}
        #: the world's entities and the names a placeholder may start with (set by :meth:`run`)
        self.ents: dict[str, Any] = {}
        self.roots: set[str] = set()
        #: the variant roots a placeholder used (every declared variant must be)
        self.used: set[str] = set()

    def bad(self, loc: tuple, message: str) -> None:
        self.problems.append(Problem(self.name, _line_for(self.src, loc), message))

    def run(self) -> list[Problem]:
        self._unique_ids()
        self._world_people()
        self._world_tokens()
        self._world_clerks()
        self._initial_mail_refs()
        self._incoming_refs()
        self._draft_refs()
        self._npc_refs()
        self.ents = entities(self.sc)
        self.roots = set(self.ents) | {"candidate", "start"} | set(self.sc.variants)
        self._variant_values()
        self._task_texts()
        samples = self._samples(self.sc, self.ents)
        names = [self._names(self.sc, ctx) for ctx in samples]
        self._intents(samples, names)
        self._criteria(samples, names)
        self._initial_texts()
        self._npc_texts()
        self._points_add_up()
        self._variants_used()
        if self.sc.kind == "backup" and not self.sc.backup_of:
            self.bad(("kind",), "đề dự phòng cần khai báo backup_of (mã đề chính)")
        return self.problems

    # -- ids -----------------------------------------------------------------------------------
    def _unique(self, items: list[tuple[tuple, str]], what: str) -> None:
        seen: dict[str, tuple] = {}
        for loc, key in items:
            if key in seen:
                self.bad(loc, f"{what} '{key}' bị trùng (đã khai báo ở dòng {_line_for(self.src, seen[key])})")
            else:
                seen[key] = loc

    def _unique_ids(self) -> None:
        sc, w = self.sc, self.sc.world
        self._unique([(("world", "organisations", i, "id"), o.id) for i, o in enumerate(w.organisations)], "mã cơ quan")
        self._unique([(("world", "organisations", i, "units", j, "id"), u.id)
                      for i, o in enumerate(w.organisations) for j, u in enumerate(o.units)], "mã đơn vị")
        self._unique([(("world", "people", i, "id"), p.id) for i, p in enumerate(w.people)], "mã người")
        self._unique([(("world", "people", i, "email"), p.email.lower()) for i, p in enumerate(w.people)],
                     "địa chỉ thư")
        self._unique([(("initial", "incoming", i, "id"), d.id) for i, d in enumerate(sc.initial.incoming)],
                     "mã văn bản đến")
        self._unique([(("initial", "drafts", i, "id"), d.id) for i, d in enumerate(sc.initial.drafts)],
                     "mã dự thảo")
        self._unique([(("tasks", i, "id"), t.id) for i, t in enumerate(sc.tasks)], "mã nhiệm vụ")
        self._unique([(("rubric", "criteria", i, "id"), c.id) for i, c in enumerate(sc.rubric.criteria)],
                     "mã tiêu chí")

    # -- names that must exist in the world ----------------------------------------------------
    def _person(self, loc, pid, *, role=None, cert=False, what="người"):
        """The person ``pid`` (None, reported, when there is none), with the role and the
        certificate asked for."""
        p = self.people.get(pid)
        if p is None:
            self.bad(loc, f"{what} '{pid}' không có trong danh sách người (world.people)")
            return None
        if role and p.role != role:
            self.bad(loc, f"{what} '{pid}' phải có vai trò {role} (đang là {p.role})")
        if cert and not p.certificate:
            self.bad(loc, f"{what} '{pid}' chưa được cấp chứng thư số (certificate: true)")
        return p

    def _org(self, loc, oid) -> bool:
        if oid not in self.orgs:
            self.bad(loc, f"cơ quan '{oid}' không có trong world.organisations")
            return False
        return True

    def _addr_or_person(self, loc, value: str) -> None:
        """A mail party: an address or a placeholder as written, else a person's id."""
        if "@" in value or templates.references(value):
            return
        self._person(loc, value)

    def _world_people(self) -> None:
        """Each person's organisation, unit, leadership and address domain."""
        orgs, units = self.orgs, self.units
        for i, p in enumerate(self.sc.world.people):
            loc = ("world", "people", i)
            if self._org(loc + ("org",), p.org) and p.unit is not None:
                if p.unit not in units:
                    self.bad(loc + ("unit",), f"đơn vị '{p.unit}' không có trong cơ quan '{p.org}'")
                elif units[p.unit][0].id != p.org:
                    self.bad(loc + ("unit",), f"đơn vị '{p.unit}' thuộc cơ quan '{units[p.unit][0].id}', "
                                              f"không thuộc '{p.org}'")
            if p.leads == "unit" and p.unit is None:
                self.bad(loc + ("leads",), f"'{p.id}' lãnh đạo đơn vị nhưng chưa khai báo 'unit'")
            if p.org in orgs and p.email.lower().split("@")[1] != orgs[p.org].domain:
                self.bad(loc + ("email",), f"địa chỉ '{p.email}' không thuộc tên miền của cơ quan "
                                           f"({orgs[p.org].domain})")

    def _world_tokens(self) -> None:
        """The candidate, the extra tokens' holders and certificates, the revoked certificates."""
        w = self.sc.world
        self._person(("world", "candidate"), w.candidate, what="thí sinh")
        for i, t in enumerate(w.extra_tokens):
            self._person(("world", "extra_tokens", i, "holder"), t.holder)
            self._person(("world", "extra_tokens", i, "certificate_of"), t.certificate_of, cert=True)
        for i, pid in enumerate(w.revoked):
            self._person(("world", "revoked", i), pid, cert=True)

    def _world_clerks(self) -> None:
        """An organisation that releases documents has a clerk (the candidate, when so declared)."""
        w = self.sc.world
        for i, o in enumerate(w.organisations):
            if o.clerk != "none" and not any(p.org == o.id and p.role == "van_thu" for p in w.people):
                self.bad(("world", "organisations", i, "clerk"),
                         f"cơ quan '{o.id}' cần một văn thư (role: van_thu) để phát hành văn bản")
            if o.clerk == "candidate":
                cand = self.people.get(w.candidate)
                if cand is not None and (cand.role != "van_thu" or cand.org != o.id):
                    self.bad(("world", "organisations", i, "clerk"),
                             "clerk: candidate nhưng thí sinh không phải văn thư của cơ quan này")

    def _initial_mail_refs(self) -> None:
        """The seed mails' mailbox owners and parties."""
        for i, m in enumerate(self.sc.initial.mail):
            loc = ("initial", "mail", i)
            p = self._person(loc + ("mailbox",), m.mailbox)
            if p is not None and not p.mailbox:
                self.bad(loc + ("mailbox",), f"'{m.mailbox}' không có hộp thư (mailbox: false)")
            self._addr_or_person(loc + ("from",), m.sender)
            for key in ("to", "cc"):
                for j, v in enumerate(getattr(m, key)):
                    self._addr_or_person(loc + (key, j), v)

    def _incoming_refs(self) -> None:
        """The incoming documents' issuer, director and assignments (exactly one lead)."""
        for i, d in enumerate(self.sc.initial.incoming):
            loc = ("initial", "incoming", i)
            self._org(loc + ("org",), d.org)
            if d.directed_by:
                self._person(loc + ("directed_by",), d.directed_by, role="lanh_dao")
            leads = 0
            for j, a in enumerate(d.assignments):
                if a.target not in self.units and a.target not in self.people:
                    self.bad(loc + ("assignments", j, "target"),
                             f"nơi nhận xử lý '{a.target}' không phải đơn vị hay người trong thế giới")
                leads += a.role == "xlc"
            if d.assignments and leads != 1:
                self.bad(loc + ("assignments",), f"văn bản '{d.id}' cần đúng một đơn vị/người xử lý chính "
                                                 f"(đang có {leads})")

    def _draft_refs(self) -> None:
        """The drafts' organisation, unit, drafter, signer (a leader with a certificate), recipients."""
        for i, d in enumerate(self.sc.initial.drafts):
            loc = ("initial", "drafts", i)
            self._org(loc + ("org",), d.org)
            if d.unit is not None and d.unit not in self.units:
                self.bad(loc + ("unit",), f"đơn vị '{d.unit}' không có trong thế giới")
            self._person(loc + ("drafter",), d.drafter)
            self._person(loc + ("signer",), d.signer, role="lanh_dao", cert=True, what="người ký")
            for j, r in enumerate(d.recipients):
                if r.unit is not None and r.unit not in self.units:
                    self.bad(loc + ("recipients", j, "unit"), f"đơn vị nhận '{r.unit}' không có trong thế giới")
                if r.org is not None:
                    self._org(loc + ("recipients", j, "org"), r.org)

    def _npc_refs(self) -> None:
        for i, rule in enumerate(self.sc.npc):
            self._person(("npc", i, "person"), rule.person)

    def _variant_values(self) -> None:
        """A variant drawn from the world names only what the world has."""
        known = {"person": self.people, "unit": self.units, "org": self.orgs,
                 "incoming": {d.id for d in self.sc.initial.incoming}, "draft": {d.id for d in self.sc.initial.drafts}}
        for name, var in self.sc.variants.items():
            src = var.source
            if src in known:
                for j, vid in enumerate(getattr(var, src)):
                    if vid not in known[src]:
                        self.bad(("variants", name, src, j), f"tham số '{name}': '{vid}' không có trong thế giới")

    # -- placeholders: where they may appear, and that they resolve for every value -----------
    def _text(self, loc, text: str, *, allow: bool = True) -> None:
        """A text's braces match and its placeholders are declared and resolve for every value
        (``allow=False``: a text published before the exam, where none may appear)."""
        if templates.stray_braces(text):
            self.bad(loc, "dấu ngoặc nhọn không khớp; viết {{ hoặc }} nếu muốn in dấu ngoặc")
        for ref in templates.references(text):
            root = ref.split(".")[0]
            if not allow:
                self.bad(loc, f"không được dùng tham số '{{{ref}}}' ở đây: nội dung này được công bố "
                              "cho thí sinh trước khi thi")
                continue
            if root not in self.roots:
                self.bad(loc, f"tham số '{{{ref}}}' không được khai báo trong variants")
                continue
            self.used.add(root)
            self._resolve_all(loc, ref, self.sc, self.ents)

    def _task_texts(self) -> None:
        for i, t in enumerate(self.sc.tasks):
            self._text(("tasks", i, "title"), t.title)
            self._text(("tasks", i, "text"), t.text)

    def _criteria(self, samples: list[dict], names: list[dict]) -> None:
        """Each criterion's texts, task, ``requires`` (declared before it), partial points and
        check parameters."""
        crit_ids: list[str] = []
        task_ids = {t.id for t in self.sc.tasks}
        for i, c in enumerate(self.sc.rubric.criteria):
            loc = ("rubric", "criteria", i)
            self._text(loc + ("description",), c.description, allow=False)
            self._text(loc + ("pass_message",), c.pass_message)
            self._text(loc + ("fail_message",), c.fail_message)
            if c.task is not None and c.task not in task_ids:
                self.bad(loc + ("task",), f"nhiệm vụ '{c.task}' không có trong tasks")
            if c.requires is not None and c.requires not in crit_ids:
                self.bad(loc + ("requires",), f"tiêu chí '{c.requires}' (requires) phải được khai báo trước "
                                              f"tiêu chí {c.id}")
            crit_ids.append(c.id)
            for j, p in enumerate(c.partial):
                if p.points >= c.points:
                    self.bad(loc + ("partial", j, "points"),
                             f"điểm từng phần ({_num(p.points)}) phải nhỏ hơn điểm của tiêu chí ({_num(c.points)})")
            checks = [(loc + ("check",), c.check)] + [(loc + ("partial", j, "check"), p.check)
                                                      for j, p in enumerate(c.partial)]
            for cloc, chk in checks:
                for ploc, s in templates.strings_in(chk.params):
                    self._text(cloc + ("params",) + ploc, s)
                if self.cv is not None:
                    self._check_params(c.id, cloc, chk, samples, names)

    def _initial_texts(self) -> None:
        """The initial state may carry a candidate's values too (a drawn sender, subject, file)."""
        sc = self.sc
        for i, m in enumerate(sc.initial.mail):
            loc = ("initial", "mail", i)
            for key in ("subject", "body"):
                self._text(loc + (key,), getattr(m, key))
            self._text(loc + ("from",), m.sender)
            for key in ("to", "cc"):
                for j, v in enumerate(getattr(m, key)):
                    self._text(loc + (key, j), v)
            self._attachment_texts(loc, m.attachments)
        for kind in ("incoming", "drafts"):
            for i, d in enumerate(getattr(sc.initial, kind)):
                for key in ("summary", "sender", "symbol"):
                    if isinstance(getattr(d, key, None), str):
                        self._text(("initial", kind, i, key), getattr(d, key))
                for j, b in enumerate(d.body):
                    self._text(("initial", kind, i, "body", j), b)

    def _attachment_texts(self, loc: tuple, attachments) -> None:
        """A declared file's name, text and generated PDF are rendered with the values too."""
        for j, a in enumerate(attachments):
            here = loc + ("attachments", j)
            self._text(here + ("name",), a.name)
            if a.text is not None:
                self._text(here + ("text",), a.text)
            if a.pdf is not None:
                self._text(here + ("pdf", "title"), a.pdf.title)
                for k, line in enumerate(a.pdf.body):
                    self._text(here + ("pdf", "body", k), line)

    def _npc_texts(self) -> None:
        for rule_i, rule in enumerate(self.sc.npc):
            for key in ("subject_contains", "reply_subject", "reply_body"):
                if getattr(rule, key):
                    self._text(("npc", rule_i, key), getattr(rule, key))
            self._attachment_texts(("npc", rule_i), rule.attachments)

    # -- totals and leftovers ------------------------------------------------------------------
    def _points_add_up(self) -> None:
        total = 0.0
        for c in self.sc.rubric.criteria:
            total += c.points
        if abs(total - self.sc.points) > 1e-9:
            self.bad(("rubric", "criteria"), f"tổng điểm các tiêu chí là {_num(total)}, "
                                             f"khác tổng điểm khai báo ({_num(self.sc.points)})")

    def _variants_used(self) -> None:
        for name in self.sc.variants:
            if name not in self.used:
                self.bad(("variants", name), f"tham số '{name}' được khai báo nhưng không được dùng ở đâu")

    # -- names every sample of values must resolve -------------------------------------------
    @staticmethod
    def _samples(sc: Scenario, ents: dict) -> list[dict]:
        """Contexts that, together, give every variant every one of its values."""
        opts = {n: options(v, ents, _SAMPLE_START) for n, v in sc.variants.items()}
        opts = {n: o for n, o in opts.items() if o}
        count = max((len(o) for o in opts.values()), default=1)
        return [context(sc, {n: o[k % len(o)] for n, o in opts.items()}, _SAMPLE_START) for k in range(count)]

    @staticmethod
    def _names(sc: Scenario, ctx: dict) -> dict[str, Any]:
        """The scenario's names by kind (what a check parameter may refer to)."""
        w = sc.world
        units = {u.id for o in w.organisations for u in o.units}
        people = {p.id for p in w.people}
        addresses = {p.email.lower() for p in w.people}
        addresses |= {o.email.lower() for o in w.organisations if o.email}
        addresses |= {u.email.lower() for o in w.organisations for u in o.units if u.email}
        mail = {}
        for m in sc.initial.mail:
            if m.id is None:
                continue
            files = []
            for a in m.attachments:
                try:
                    files.append(templates.render(a.name, ctx))
                except templates.TemplateError:
                    files.append(a.name)
            mail[m.id] = files
        return {"incoming": {d.id for d in sc.initial.incoming}, "draft": {d.id for d in sc.initial.drafts},
                "mail": mail, "unit": units, "person": people, "target": units | people, "address": addresses,
                "intent": set(sc.rubric.mails), "task": {t.id for t in sc.tasks}}

    def _check_params(self, cid: str, cloc: tuple, chk, samples: list[dict], names: list[dict]) -> None:
        """The grader's word on a check's parameters, rendered for every sample of values:
        usable, and every name they use resolves."""
        for ctx, known in zip(samples, names):
            try:
                rendered = templates.render_value(chk.params, ctx)
            except templates.TemplateError:
                return  # the placeholder problem is already reported
            for msg in self.cv(chk.type, rendered, known):
                if isinstance(msg, tuple):
                    param, text = msg
                    top = param.split(".")[0]
                    where = cloc + ("params", top) if top in chk.params else cloc + ("params",)
                    raw = chk.params.get(top)
                    if isinstance(raw, str) and templates.references(raw):
                        text += f" (giá trị của {raw})"
                    self.bad(where, f"tiêu chí {cid}: {text}")
                else:
                    self.bad(cloc + ("type",) if "loại kiểm tra" in msg else cloc + ("params",),
                             f"tiêu chí {cid}: {msg}")

    def _intents(self, samples: list[dict], names: list[dict]) -> None:
        """``rubric.mails``: placeholders, addresses, seed mails, files and tasks resolve."""
        for iid, intent in self.sc.rubric.mails.items():
            loc = ("rubric", "mails", iid)
            for ploc, text in templates.strings_in(intent.model_dump()):
                self._text(loc + ploc[:1], text)
            if intent.task is not None and intent.task not in names[0]["task"]:
                self.bad(loc + ("task",), f"thư '{iid}': nhiệm vụ '{intent.task}' không có trong tasks")
            if intent.reply_to is not None and intent.reply_to not in names[0]["mail"]:
                self.bad(loc + ("reply_to",), f"thư '{iid}': thư ban đầu '{intent.reply_to}' không có trong đề")
            if not (intent.to or intent.cc or intent.bcc):
                self.bad(loc, f"thư '{iid}' cần ít nhất một người nhận (to, cc hoặc bcc)")
            for ctx, known in zip(samples, names):
                try:
                    r = templates.render_value(intent.model_dump(), ctx)
                except templates.TemplateError:
                    break   # the placeholder problem is already reported; check the next intent
                for key in ("to", "cc", "bcc"):
                    values = [r[key]] if isinstance(r[key], str) else r[key]
                    for v in values:
                        if str(v).lower() not in known["address"]:
                            self.bad(loc + (key,), f"thư '{iid}': địa chỉ '{v}' không phải địa chỉ thư "
                                                   "của ai trong thế giới của đề")
                for j, a in enumerate(r["attachments"]):
                    files = known["mail"].get(a["seed_mail"])
                    if files is None:
                        self.bad(loc + ("attachments", j, "seed_mail"),
                                 f"thư '{iid}': thư ban đầu '{a['seed_mail']}' không có trong đề")
                    elif a["name"] not in files:
                        self.bad(loc + ("attachments", j, "name"),
                                 f"thư '{iid}': thư ban đầu '{a['seed_mail']}' không có tệp '{a['name']}'")

    def _resolve_all(self, loc, ref: str, sc: Scenario, ents: dict) -> None:
        root, _, rest = ref.partition(".")
        if root in sc.variants:
            for n, value in enumerate(options(sc.variants[root], ents, _SAMPLE_START), 1):
                if not rest:
                    continue
                try:
                    templates.resolve("x." + rest, {"x": value})
                except templates.TemplateError:
                    self.bad(loc, f"'{{{ref}}}': lựa chọn thứ {n} của tham số '{root}' không có thuộc tính '{rest}'")
                    return
            return
        ctx = dict(ents)
        ctx["candidate"] = ents["people"].get(sc.world.candidate, {})
        ctx["start"] = _SAMPLE_START
        try:
            templates.resolve(ref, ctx)
        except templates.TemplateError as exc:
            self.bad(loc, f"'{{{ref}}}': {exc}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")


def validate_text(text: str, name: str, check_validator: CheckValidator | None = None
                  ) -> tuple[Scenario | None, list[Problem]]:
    """Parse and validate; returns the scenario (None when structurally invalid) and problems."""
    try:
        src = parse(text)
    except YamlError as exc:
        return None, [Problem(name, exc.line, exc.message)]
    return validate_source(src, name, check_validator)


def validate_source(src: Source, name: str, check_validator: CheckValidator | None = None
                    ) -> tuple[Scenario | None, list[Problem]]:
    """Validate parsed YAML (its data may have been changed in place of scalar values: the
    lines still hold; the mutation tests use it to skip parsing the same text again)."""
    if not isinstance(src.data, dict):
        return None, [Problem(name, 1, "tệp đề phải là một nhóm trường (title, kind, world, tasks, rubric...)")]
    try:
        sc = Scenario.model_validate(src.data)
    except ValidationError as exc:
        problems = [Problem(name, _line_for(src, e["loc"]), _pydantic_message(e)) for e in exc.errors()]
        return None, sorted(set(problems), key=lambda p: (p.line or 0, p.message))
    problems = _Checker(name, src, sc, check_validator).run()
    return sc, sorted(set(problems), key=lambda p: (p.line or 0, p.message))


def validate_file(path: str | Path, check_validator: CheckValidator | None = None
                  ) -> tuple[Scenario | None, list[Problem]]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), None, f"không đọc được tệp ({exc.strerror})")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return None, [Problem(str(path), line, "tệp không phải UTF-8: hãy lưu lại với bảng mã UTF-8")]
    if path.suffix != ".yaml":
        return None, [Problem(str(path), None, "tệp đề phải có đuôi .yaml")]
    return validate_text(text, str(path), check_validator)
