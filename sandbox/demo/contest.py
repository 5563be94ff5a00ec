"""The demo contest of `make demo`: a 2024-style contest (theory 60 + practical 40) with three
units (sở / huyện / xã), six candidates in one shift on the 2024 exam set, their sandboxes
built, and admin accounts for an organiser, an examiner and a trainer; plus a trainee's
practice sandbox of a drill. Built once through the same APIs the organiser uses."""
from __future__ import annotations

from sandbox.kernel.errors import SandboxError

CODE = "demo2024"
ADMIN_PASSWORD = "demo@2024"
ADMINS = [("btc", "Nguyễn Văn Tổ Chức", "organiser"), ("giamkhao", "Trần Thị Giám Khảo", "examiner"),
          ("giangvien", "Lê Văn Giảng", "trainer")]
UNITS = [("Sở Nội vụ", "sở"), ("UBND quận Ninh Kiều", "huyện"), ("UBND phường An Hòa", "xã")]
ROSTER = """Họ và tên,Chức vụ,Đơn vị,Cấp,Email,Điện thoại
Nguyễn Thanh Tùng,Phó Giám đốc Sở,Sở Nội vụ,sở,tungnt@sonoivu.cantho.gov.vn,0901000001
Trần Thị Mai,Trưởng phòng,Sở Nội vụ,sở,maitt@sonoivu.cantho.gov.vn,0901000002
Lê Văn Hậu,Phó Chủ tịch UBND quận,UBND quận Ninh Kiều,huyện,haulv@ninhkieu.cantho.gov.vn,0901000003
Phạm Thị Lan,Chánh Văn phòng,UBND quận Ninh Kiều,huyện,lanpt@ninhkieu.cantho.gov.vn,0901000004
Võ Minh Khoa,Chủ tịch UBND phường,UBND phường An Hòa,xã,khoavm@anhoa.cantho.gov.vn,0901000005
Huỳnh Thị Hoa,Phó Chủ tịch UBND phường,UBND phường An Hòa,xã,hoaht@anhoa.cantho.gov.vn,0901000006
"""
PRACTICE = ("hocvien-demo", "luyen-ky-so-chuyen-van-thu")


def build_demo_contest(rt) -> dict:
    """Create the demo contest once; later calls only report it."""
    from sandbox.contest import api
    from sandbox.contest.passwords import candidate_password
    from scenarios.build import build
    from scenarios.library import load

    from sandbox.kernel.sandboxes import find_sandbox

    try:
        api.contest_info(rt, CODE)
        exists = True
    except SandboxError:
        exists = False
    if not exists:
        for login, name, role in ADMINS:
            api.add_admin(rt, login, name, role, ADMIN_PASSWORD)
        api.create_contest(rt, CODE, "Cuộc thi đánh giá năng lực ứng dụng CNTT, chuyển đổi số (demo)", 2024,
                           [("Lý thuyết", 60), ("Thực hành", 40)], duration_minutes=60, actor="demo")
        for name, tier in UNITS:
            api.add_unit(rt, CODE, name, tier, actor="demo")
        report = api.import_roster(rt, CODE, "danh-sach.csv", ROSTER.encode("utf-8"), actor="demo")
        if not report.ok:
            raise SandboxError("Không tạo được danh sách thí sinh demo: " + "; ".join(report.lines()),
                               "demo roster rejected")
        api.add_shift(rt, CODE, "Ca 1", "thi-2024-de-1", "thi-2024-de-2", actor="demo")
        api.add_room(rt, CODE, "Phòng máy 1", 10, actor="demo")
        api.seat_candidates(rt, CODE, actor="demo")
        api.provision_shift(rt, CODE, "Ca 1", actor="demo")
    with rt.db.read() as s:
        practice_exists = find_sandbox(s, PRACTICE[0]) is not None
    if not practice_exists:
        build(rt, load(PRACTICE[1]), 1, PRACTICE[0], practice=True)
    cands = [(c.number, c.full_name, candidate_password(rt.secret, CODE, c.number))
             for c in api.list_candidates(rt, CODE)]
    from scenarios.build import derive_password, instance_of
    with rt.db.read() as s:
        inst = instance_of(s, find_sandbox(s, PRACTICE[0]).id)
    trainee = (inst.candidate_address, derive_password(rt.secret, PRACTICE[0], inst.candidate))
    return {"code": CODE, "candidates": cands, "admins": ADMINS, "admin_password": ADMIN_PASSWORD,
            "trainee": trainee, "drill": PRACTICE[1]}


def describe_contest(info: dict, base: str) -> str:
    lines = ["", "=== Cuộc thi demo ===",
             f"Cổng thí sinh:   {base}/thi   (số báo danh + mật khẩu)"]
    for number, name, password in info["candidates"]:
        lines.append(f"  {number:<12} {password:<10} {name}")
    lines.append(f"Quản trị:        {base}/quan-tri   (mật khẩu mọi tài khoản: {info['admin_password']})")
    for login, name, role in info["admins"]:
        role_vi = {"organiser": "Ban tổ chức", "examiner": "Giám khảo", "trainer": "Giảng viên"}[role]
        lines.append(f"  {login:<12} {role_vi} - {name}")
    address, password = info["trainee"]
    lines.append(f"Luyện tập ({info['drill']}): {base}/login  {address} / {password}  → Đề bài, Kiểm tra, Làm lại")
    return "\n".join(lines) + "\n"
