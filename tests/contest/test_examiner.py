"""The examiner's live room view and time extensions (one candidate, a whole room), each
with a reason recorded as a contest event; the deadline and the sandbox's closing time move
together."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from sandbox.kernel.clock import FixedClock, as_utc
from sandbox.contest import examiner
from sandbox.contest import session as exam
from sandbox.contest.models import Candidate, ContestEvent
from sandbox.kernel.models import Sandbox

from .portal_factory import AT, make_portal_world


@pytest.fixture
def rt(sqlite_runtime):
    sqlite_runtime.clock = sqlite_runtime.dispatcher.clock = FixedClock(AT)
    return sqlite_runtime


def test_room_view_statuses(rt):
    w = make_portal_world(rt, n=5, questions=5, room_of={"TS004": "Phòng 2", "TS005": "Phòng 2"})
    c = w.candidates
    exam.start_attempt(rt, c["TS001"], seat="10.0.0.1")
    exam.start_attempt(rt, c["TS002"], seat="10.0.0.2")
    exam.start_attempt(rt, c["TS004"], seat="10.0.0.4")
    exam.finish(rt, c["TS004"])
    with rt.db.write() as s:
        s.get(Candidate, c["TS005"]).attendance = "absent"
    rt.clock.advance(minutes=5)
    exam.touch(rt, c["TS001"], part="practical")
    rows = {r.number: r for r in examiner.room_view(rt, w.contest_id)}
    assert [r.number for r in examiner.room_view(rt, w.contest_id)] == ["TS001", "TS002", "TS003", "TS004", "TS005"]
    assert (rows["TS001"].status, rows["TS001"].part_vi, rows["TS001"].remaining_seconds) == ("dang-thi", "Thực hành", 3300)
    assert rows["TS001"].questions == 5 and rows["TS001"].last_seat == "10.0.0.1"
    assert rows["TS003"].status_vi == "Chưa bắt đầu" and rows["TS005"].status_vi == "Vắng thi"
    assert rows["TS004"].status_vi == "Đã kết thúc" and rows["TS004"].remaining_seconds == 0
    rt.clock.advance(minutes=3)        # TS002 silent for 8 minutes
    rows = {r.number: r for r in examiner.room_view(rt, w.contest_id)}
    assert rows["TS002"].status_vi == "Mất kết nối" and not rows["TS002"].online
    room2 = examiner.room_view(rt, w.contest_id, room_id=examiner.contest_rooms(rt, w.contest_id)[2][1].id)
    assert [r.number for r in room2] == ["TS004", "TS005"]


def test_extend_one_and_a_room(rt):
    w = make_portal_world(rt, n=3, questions=5, scenario="thi-2024-de-1")
    c = w.candidates
    for number in ("TS001", "TS002", "TS003"):
        exam.start_attempt(rt, c[number])
    exam.finish(rt, c["TS003"])      # finished by themselves: a room extension leaves them alone
    deadline = AT + dt.timedelta(minutes=60)
    with pytest.raises(examiner.SandboxError) as e:
        examiner.extend(rt, c["TS001"], 5, "  ", actor="giamkhao:gk")
    assert e.value.message_vi == "Cần ghi lý do gia hạn thời gian."
    with pytest.raises(examiner.SandboxError) as e:
        examiner.extend(rt, c["TS001"], 500, "Mất điện", actor="giamkhao:gk")
    assert "từ 1 đến 120" in e.value.message_vi
    with pytest.raises(examiner.SandboxError) as e:
        examiner.extend(rt, c["TS003"], 5, "Xin thêm giờ", actor="giamkhao:gk")
    assert "đã tự kết thúc" in e.value.message_vi

    examiner.extend(rt, c["TS001"], 7, "Máy treo, đổi sang máy dự phòng", actor="giamkhao:gk")
    done = examiner.extend_room(rt, w.contest_id, w.room_id, 5, "Mất điện cả phòng", actor="giamkhao:gk")
    assert sorted(d["number"] for d in done) == ["TS001", "TS002"]
    st1, st2 = exam.state(rt, c["TS001"]), exam.state(rt, c["TS002"])
    assert st1.deadline == deadline + dt.timedelta(minutes=12) and st1.extra_minutes == 12
    assert st2.deadline == deadline + dt.timedelta(minutes=5)
    with rt.db.read() as s:
        closes = {sb.name: as_utc(sb.closes_at) for sb in s.scalars(select(Sandbox))}
        events = s.scalars(select(ContestEvent).where(ContestEvent.kind == "extend_time").order_by(ContestEvent.id)).all()
    assert closes["cds2024-ts001"] == st1.deadline and closes["cds2024-ts002"] == st2.deadline
    assert closes["cds2024-ts003"] == AT                # finished at once: closed then
    assert [(e.reason, e.detail["minutes"], e.actor) for e in events] == [
        ("Máy treo, đổi sang máy dự phòng", 7, "giamkhao:gk"), ("Mất điện cả phòng", 5, "giamkhao:gk"),
        ("Mất điện cả phòng", 5, "giamkhao:gk")]
    assert events[1].detail["room_id"] == w.room_id


def test_examiner_pages(admin_web):
    rt = admin_web.rt
    rt.clock = rt.dispatcher.clock = FixedClock(AT)
    w = make_portal_world(rt, n=2, questions=5)
    exam.start_attempt(rt, w.candidates["TS001"], seat="10.0.0.7")
    web = admin_web
    assert web.get("/quan-tri/giam-sat/cds2024").status_code == 302       # not logged in
    web.login("gv")
    assert web.get("/quan-tri/giam-sat/cds2024").status_code == 403       # a trainer
    web.login("gk")
    page = web.get("/quan-tri/giam-sat/").get_data(as_text=True)
    assert "/quan-tri/giam-sat/cds2024" in page
    page = web.get(f"/quan-tri/giam-sat/cds2024?phong={w.room_id}").get_data(as_text=True)
    assert "Đang làm bài: 1" in page and "Chưa bắt đầu: 1" in page and "10.0.0.7" in page
    assert "60 phút 0 giây" in page and 'http-equiv="refresh"' in page
    web.token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = web.post("/quan-tri/giam-sat/cds2024/gia-han", {"candidate_id": w.candidates["TS001"], "minutes": "5",
                                                           "reason": "Máy treo", "phong": w.room_id})
    assert resp.status_code == 302
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Đã gia hạn 5 phút cho thí sinh TS001." in page and "65 phút 0 giây" in page and "Máy treo" in page
    resp = web.post("/quan-tri/giam-sat/cds2024/gia-han", {"phong": w.room_id, "minutes": "3", "reason": ""},
                    headers={"Referer": f"/quan-tri/giam-sat/cds2024?phong={w.room_id}"})
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Cần ghi lý do gia hạn thời gian." in page
    resp = web.post("/quan-tri/giam-sat/cds2024/gia-han", {"phong": w.room_id, "minutes": "3", "reason": "Mất điện"})
    page = web.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Đã gia hạn 3 phút cho 1 thí sinh của phòng." in page and "68 phút 0 giây" in page
