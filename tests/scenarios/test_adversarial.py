"""Candidates who guess instead of knowing (issue 12): for every shipped exam set, scripted
candidates game each task (name every unit, send to every address, CC everyone, attach every
file, route to every unit, report without doing the mail task); each must score no more than
an honest candidate who makes that task's mistake, and never full marks for the task. Honest
mistakes lose exactly the criteria they should, with a message that says what happened.

Also the findings the issue measured on main: T1 gamed by one mail naming every unit, the
inconsistent "không gửi nhầm", the wrong address that cost 17 of 20 points."""
from __future__ import annotations

import datetime as dt

import pytest

from scenarios.library import load

from .harness import Candidate, lost
from .test_exam_sets import SETS, Spec, _overdue


def _units(c: Candidate) -> dict[str, str]:
    return {u.id: u.name for o in c.loaded.scenario.world.organisations for u in o.units}


def _addresses(c: Candidate) -> list[str]:
    return sorted(p.email.lower() for p in c.loaded.scenario.world.people if p.email.lower() != c.me)


def session(c: Candidate, spec: Spec, *, mail1=True, to=None, cc=None, attach=None, extra_rcpts=(),
            routing=None, report=None, sign=True):
    """The golden path, with any task replaced: ``to``/``cc``/``attach`` lists for task 1,
    ``routing`` rows for task 2, ``report`` body for task 4 (False: no report)."""
    v = c.v
    if mail1:
        atts = [c.attachment_of(spec.mail_seed, n) for n in (attach if attach is not None else [v["attachment"]])]
        c.send(to if to is not None else [v["recipient"]["email"]], v["subject"]["text"], spec.body,
               cc=cc if cc is not None else [c.email(spec.cc)], attachments=atts, extra_rcpts=extra_rcpts)
    lead, support, d = v["routing"]["lead"], v["routing"]["support"], v["deadline"]
    c.direct(spec.incoming, "Giao các đơn vị triển khai, báo cáo đúng hạn.",
             routing if routing is not None else [(lead, "xlc", d), (support, "ph", d), (spec.info_unit, "db", None)])
    if sign:
        c.sign(spec.draft)
    if report is not False:
        c.send([c.email(spec.status_to)], "Tình hình xử lý văn bản", report if report is not None else spec.status(v))
    if spec.phishing:   # 2024: the phishing mail, reported to IT without opening it
        seed, it = spec.phishing
        s = c.seed(seed)
        c.send([c.email(it)], f"Báo cáo thư lừa đảo: {s['subject']}",
               f"Thư đáng ngờ từ {s['from']}, tiêu đề «{s['subject']}». Tôi chưa mở liên kết.\n")


def by_id(report: dict) -> dict[str, dict]:
    return {r["id"]: r for r in report["criteria"]}


def task_points(report: dict, task: str) -> float:
    return next(t["awarded"] for t in report["tasks"] if t["id"] == task)


def _answer_id(loaded) -> str:
    return next(c.id for c in loaded.scenario.rubric.criteria if c.check.type == "mail.answer_set")


def _outsider(c: Candidate, spec: Spec) -> str:
    return next(a for a in _addresses(c) if a not in (c.v["recipient"]["email"], c.email(spec.cc)))


def _wrong_unit(c: Candidate, spec: Spec) -> str:
    right = c.v["kiem_tra"]["unit"]
    return next(u for u in sorted(_units(c)) if u != right and u in spec.units)


#: (name, gamer's session options, honest mistake's session options, the task)
def _games(c: Candidate, spec: Spec):
    v, units = c.v, _units(c)
    lead, support, d = v["routing"]["lead"], v["routing"]["support"], v["deadline"]
    everyone = _addresses(c)
    other_file = next(n for n in c.seed(spec.mail_seed)["attachments"] if n != v["attachment"])
    wrong = _wrong_unit(c, spec)
    outsider = _outsider(c, spec)
    return [
        ("mention_every_unit", {"report": "Các đơn vị quá hạn: " + ", ".join(units.values()) + ".\n"},
         {"report": f"Văn bản {v['kiem_tra']['symbol']}: {units[wrong]} đang quá hạn xử lý.\n"}, "theo_doi"),
        ("send_to_every_address", {"to": everyone, "cc": []},
         {"to": [v["recipient"]["email"], outsider]}, "thu"),
        ("cc_everyone", {"cc": [a for a in everyone if a != v["recipient"]["email"]]},
         {"cc": [c.email(spec.cc), outsider]}, "thu"),
        ("attach_every_file", {"attach": [v["attachment"], other_file]}, {"attach": [other_file]}, "thu"),
        ("route_to_every_unit",
         {"routing": [(lead, "xlc", d)] + [(u, "ph", d) for u in sorted(units) if u != lead]},
         {"routing": [(lead, "xlc", d), (next(u for u in spec.units if u not in (lead, support)), "ph", d),
                      (spec.info_unit, "db", None)]}, "but_phe"),
        # the task-1 criteria are not reached without the task-1 mail, whatever else was sent
        ("report_without_the_mail_task", {"mail1": False}, {"mail1": False}, "thu"),
    ]


GAMES = ["mention_every_unit", "send_to_every_address", "cc_everyone", "attach_every_file",
         "route_to_every_unit", "report_without_the_mail_task"]
CASES = [(exam, g) for exam in sorted(SETS) for g in GAMES]


@pytest.mark.parametrize("exam,game", CASES, ids=[f"{e}-{g}" for e, g in CASES])
def test_a_guess_scores_no_more_than_an_honest_mistake(sqlite_runtime, exam, game):
    loaded, spec = load(exam), SETS[exam]
    probe = Candidate(sqlite_runtime, loaded, 4, f"probe-{game}")
    _name, gamer_opts, honest_opts, task = next(g for g in _games(probe, spec) if g[0] == game)
    session(probe, spec, sign=False, **gamer_opts)   # signing is not at stake here: both skip it
    gamed = probe.grade()
    honest = Candidate(sqlite_runtime, loaded, 4, f"honest-{game}")
    session(honest, spec, sign=False, **honest_opts)
    fair = honest.grade()
    full = sum(r["points"] for r in gamed["criteria"] if r["task"] == task)
    assert task_points(gamed, task) < full, lost(gamed)
    assert task_points(gamed, task) <= task_points(fair, task), (lost(gamed), lost(fair))
    assert gamed["total"] <= fair["total"], (lost(gamed), lost(fair))
    if game == "report_without_the_mail_task":
        assert task_points(gamed, task) == 0, lost(gamed)


@pytest.mark.parametrize("exam", sorted(SETS))
def test_finding_3_naming_every_unit_earns_no_answer_point_and_says_which_are_extra(sqlite_runtime, exam):
    loaded, spec = load(exam), SETS[exam]
    c = Candidate(sqlite_runtime, loaded, 6, "every-unit")
    units = _units(c)
    session(c, spec, sign=False, report="Các đơn vị quá hạn: " + ", ".join(units.values()) + ".\n")
    row = by_id(c.grade())[_answer_id(loaded)]
    assert row["verdict"] == "fail" and row["awarded"] == 0
    extra = [units[u] for u in row["evidence"]["extra"]]
    assert extra and all(name in row["detail"] for name in extra)
    assert units[c.v["kiem_tra"]["unit"]] not in row["detail"]


@pytest.mark.parametrize("exam", sorted(SETS))
def test_the_overdue_answer_varies_with_the_seed(exam):
    from scenarios.variants import draw
    sc = load(exam).scenario
    answers = {draw(exam, sc, seed, dt.date(2026, 5, 20))["kiem_tra"]["unit"] for seed in range(12)}
    assert len(answers) >= 2, answers


@pytest.mark.parametrize("exam", sorted(SETS))
def test_finding_4_not_sent_wrong_needs_the_task_done_and_says_so(sqlite_runtime, exam):
    loaded, spec = load(exam), SETS[exam]
    only_report = Candidate(sqlite_runtime, loaded, 8, "only-report")
    session(only_report, spec, mail1=False, sign=False)
    nothing = Candidate(sqlite_runtime, loaded, 8, "nothing")
    a, b = by_id(only_report.grade())["M6"], by_id(nothing.grade())["M6"]
    assert a["awarded"] == b["awarded"] == 0
    for row in (a, b):
        assert "Chưa gửi thư của nhiệm vụ này" in row["message"]
        assert "người ngoài" not in row["message"]


@pytest.mark.parametrize("exam", sorted(SETS))
def test_finding_5_a_wrong_to_address_costs_the_address_not_the_rest(sqlite_runtime, exam):
    loaded, spec = load(exam), SETS[exam]
    c = Candidate(sqlite_runtime, loaded, 5, "wrong-to")
    right = c.v["recipient"]["email"]
    wrong = next(a for a in _addresses(c) if a not in (right, c.email(spec.cc)))
    session(c, spec, to=[wrong])
    report = c.grade()
    rows = by_id(report)
    failed = sorted(r["id"] for r in report["criteria"] if r["verdict"] != "pass")
    assert failed == ["M1", "M6"], lost(report)
    assert wrong in rows["M1"]["detail"] and right in rows["M1"]["message"]
    assert wrong in rows["M6"]["detail"]
    for cid in ("M3", "M4", "M5"):        # the subject, the body and the file were right: said so
        assert rows[cid]["verdict"] == "pass" and rows[cid]["evidence"]["to"] == [wrong]


HONEST = [
    # (name, session options from the candidate, criteria lost, words of the message or detail)
    ("extra_unit_in_the_report", lambda c, s: {"report": _overdue(c.v).rstrip("\n") + " "
                                                + _units(c)[_wrong_unit(c, s)] + " cũng quá hạn.\n"}, "answer", "nêu thừa"),
    ("wrong_unit_in_the_report", lambda c, s: {"report": f"{_units(c)[_wrong_unit(c, s)]} đang quá hạn.\n"},
     "answer", "chưa nêu"),
    ("wrong_support_unit", lambda c, s: {"routing": [
        (c.v["routing"]["lead"], "xlc", c.v["deadline"]),
        (next(u for u in s.units if u not in (c.v["routing"]["lead"], c.v["routing"]["support"])), "ph", c.v["deadline"]),
        (s.info_unit, "db", None)]}, ["D3"], "Chưa giao"),
    ("wrong_file_attached", lambda c, s: {"attach": [next(n for n in c.seed(s.mail_seed)["attachments"]
                                                         if n != c.v["attachment"])]}, ["M5"], "không phải tệp"),
    ("an_extra_file_attached", lambda c, s: {"attach": list(c.seed(s.mail_seed)["attachments"])}, ["M5"],
     "kèm thêm tệp"),
    ("an_extra_cc", lambda c, s: {"cc": [c.email(s.cc), _outsider(c, s)]}, ["M6"], "gửi tới"),
]
HONEST_CASES = [(exam, h[0]) for exam in sorted(SETS) for h in HONEST]


@pytest.mark.parametrize("exam,name", HONEST_CASES, ids=[f"{e}-{n}" for e, n in HONEST_CASES])
def test_an_honest_mistake_loses_exactly_its_criteria(sqlite_runtime, exam, name):
    loaded, spec = load(exam), SETS[exam]
    _n, opts, want, words = next(h for h in HONEST if h[0] == name)
    c = Candidate(sqlite_runtime, loaded, 3, name)
    session(c, spec, **opts(c, spec))
    report = c.grade()
    want = [_answer_id(loaded)] if want == "answer" else want
    failed = [r for r in report["criteria"] if r["verdict"] != "pass"]
    assert [r["id"] for r in failed] == want, lost(report)
    assert report["total"] == loaded.scenario.points - sum(r["points"] for r in failed)
    text = " ".join(f"{r['message']} {r.get('detail', '')}" for r in failed)
    assert words in text, text


# -- drills -------------------------------------------------------------------------------------
def _people(c: Candidate) -> list[str]:
    return _addresses(c)


def _drill_games():
    """drill → [(name, gamer(c), honest mistake(c))]"""
    from docflow import api as docflow_api

    def cc_bcc(to, cc, bcc):
        def play(c):
            c.send(to(c), "Mời họp rà soát thủ tục hành chính",
                   f"Mời dự họp lúc {c.v['gio_hop']} tại phòng họp số 1.\n", cc=cc(c), bcc=bcc(c))
        return play

    def pc(c):
        return c.v["phan_cong"]

    def attach(names):
        def play(c):
            c.send([c.v["nguoi_nhan"]["email"]], "Gửi báo cáo kinh tế - xã hội", "Gửi anh/chị báo cáo.\n",
                   attachments=[c.attachment_of("bao_cao", n) for n in names(c)])
        return play

    def sign(drafts, forward):
        def play(c):
            for d in drafts(c):
                c.sign(d, forward=forward(c, d))
        return play

    def tracking_report(body):
        def play(c):
            c.send([c.v["nguoi_nhan"]["email"]], c.v["tieu_de"], body(c))
        return play

    def tinh_hinh(body):
        def play(c):
            k = c.v["kiem_tra"]
            c.send([c.email("chutich")], f"Re: Hỏi tình hình xử lý văn bản {k['symbol']}", body(c, k),
                   reply_to_seed="hoi")
        return play

    def route(rows):
        def play(c):
            c.direct("cv_du_lich", "Giao các phòng thực hiện.", rows(c))
        return play

    def reply(cc):
        def play(c):
            c.send([c.email("chanhvp")], "Re: Xin ý kiến dự thảo lịch trực Tết Nguyên đán",
                   f"Tôi đồng ý với dự thảo, đề nghị bổ sung {c.v['bo_sung']['text']}.\n", cc=cc(c),
                   attachments=[c.attachment_of("lich_truc", "Du-thao-lich-truc-Tet.txt")], reply_to_seed="lich_truc")
        return play

    def forward(to):
        def play(c):
            c.send(to(c), "Fwd: Kế hoạch tổ chức Lễ hội Bánh dân gian Nam Bộ năm 2024",
                   f"Đề nghị phòng {c.v['ghi_chu']['text']}.\n",
                   attachments=[c.attachment_of("le_hoi", "Du-thao-KH-Le-hoi-Banh-dan-gian-2024.txt")])
        return play

    def phishing(to):
        def play(c):
            s = c.seed("lua_dao")
            c.send(to(c), f"Báo cáo thư lừa đảo: {s['subject']}",
                   f"Thư đáng ngờ từ {s['from']}, tiêu đề «{s['subject']}». Tôi chưa mở liên kết.\n")
        return play

    def overdue_rows(c):
        return docflow_api.tracking(c.rt, c.sid, c.me, only_overdue=False)

    others = lambda c, *keep: [a for a in _people(c) if a not in keep]  # noqa: E731
    units = lambda c: _units(c)  # noqa: E731
    org_mail = lambda c: c.loaded.scenario.world.organisations[0].email  # noqa: E731
    return {
        "luyen-gui-thu-cc-bcc": [("everyone_in_every_field",
                                  cc_bcc(lambda c: [pc(c)["to"]], lambda c: others(c, pc(c)["to"]), lambda c: []),
                                  cc_bcc(lambda c: [pc(c)["to"]], lambda c: [pc(c)["cc"], pc(c)["bcc"]], lambda c: []))],
        "luyen-dinh-kem-dung-tep": [("attach_every_file", attach(lambda c: list(c.seed("bao_cao")["attachments"])),
                                     attach(lambda c: [n for n in c.seed("bao_cao")["attachments"]
                                                       if n != c.v["tep"]["name"]][:1]))],
        "luyen-ky-so-chuyen-van-thu": [("sign_and_forward_every_draft",
                                        sign(lambda c: sorted(c.inst_anchors["drafts"]), lambda c, d: True),
                                        sign(lambda c: sorted(c.inst_anchors["drafts"]),
                                             lambda c, d: d == c.v["van_ban"]["id"]))],
        "luyen-tim-van-ban-qua-han": [("name_every_document_and_unit",
                                       tracking_report(lambda c: "Các văn bản " + ", ".join(
                                           r.incoming.original_symbol for r in overdue_rows(c))
                                           + " quá hạn: " + ", ".join(units(c).values()) + ".\n"),
                                       tracking_report(lambda c: "Văn bản 702/SXD-HTKT quá hạn: Phòng Quản lý đô thị.\n"))],
        "luyen-bao-cao-tinh-hinh": [("every_unit_late_and_done",
                                     tinh_hinh(lambda c, k: ", ".join(units(c).values()) + " đã hoàn thành; "
                                               + ", ".join(units(c).values()) + " đang quá hạn.\n"),
                                     tinh_hinh(lambda c, k: f"{k['late']} đã hoàn thành; {k['done']} đang quá hạn.\n"))],
        "luyen-chuyen-hai-don-vi": [("route_to_every_unit",
                                     route(lambda c: [(c.v["routing"]["lead"], "xlc", c.v["deadline"])]
                                           + [(u, "ph", c.v["deadline"]) for u in sorted(units(c))
                                              if u != c.v["routing"]["lead"]]),
                                     route(lambda c: [(c.v["routing"]["lead"], "xlc", c.v["deadline"]),
                                                      (next(u for u in sorted(units(c)) if u not in (
                                                          c.v["routing"]["lead"], c.v["routing"]["support"])),
                                                       "ph", c.v["deadline"])]))],
        # everyone of this small world is in the thread already: the guess adds the office's address
        "luyen-tra-loi-tat-ca": [("cc_everyone", reply(lambda c: others(c, c.email("chanhvp")) + [org_mail(c)]),
                                  reply(lambda c: [c.email("tp_nvy"), c.email("tp_khtc"), org_mail(c)]))],
        "luyen-chuyen-tiep-thu": [("send_to_both_heads", forward(lambda c: [c.email("tp_qldl"), c.email("tp_qlvh")]),
                                   forward(lambda c: [next(a for a in (c.email("tp_qldl"), c.email("tp_qlvh"))
                                                           if a != c.v["recipient"]["email"])]))],
        "luyen-thu-lua-dao": [("report_to_everyone", phishing(lambda c: _people(c)),
                               phishing(lambda c: [c.email("cntt"), c.email("giamdoc")]))],
    }


DRILL_CASES = [(d, g[0]) for d, games in sorted(_drill_games().items()) for g in games]


@pytest.mark.parametrize("drill,game", DRILL_CASES, ids=[f"{d}-{g}" for d, g in DRILL_CASES])
def test_a_drill_guess_scores_no_more_than_an_honest_mistake(sqlite_runtime, drill, game):
    loaded = load(drill)
    _n, gamer, honest = next(g for g in _drill_games()[drill] if g[0] == game)
    a = Candidate(sqlite_runtime, loaded, 4, "gamer")
    gamer(a)
    b = Candidate(sqlite_runtime, loaded, 4, "honest")
    honest(b)
    gamed, fair = a.grade(), b.grade()
    assert gamed["total"] < loaded.scenario.points, lost(gamed)
    assert gamed["total"] <= fair["total"], (lost(gamed), lost(fair))
