"""Every shipped drill (luyen-*): the golden path through the public APIs scores full marks,
an untouched sandbox scores 0. One short golden function per drill."""
from __future__ import annotations

import re

import pytest

from docflow import api as docflow_api
from mailserver import api as mail_api
from mailserver import mime
from scenarios.library import LIBRARY, load

from .harness import Candidate, lost


def tra_loi_tat_ca(c: Candidate):
    v = c.v
    c.send([c.email("chanhvp")], "Re: Xin ý kiến dự thảo lịch trực Tết Nguyên đán",
           f"Tôi đồng ý với dự thảo, đề nghị bổ sung {v['bo_sung']['text']}.\n",
           cc=[c.email("tp_nvy"), c.email("tp_khtc")],
           attachments=[c.attachment_of("lich_truc", "Du-thao-lich-truc-Tet.txt")], reply_to_seed="lich_truc")


def chuyen_hai_don_vi(c: Candidate):
    r, d = c.v["routing"], c.v["deadline"]
    c.direct("cv_du_lich", "Giao các phòng thực hiện, báo cáo đúng hạn.",
             [(r["lead"], "xlc", d), (r["support"], "ph", d)])


def ky_so_chuyen_van_thu(c: Candidate):
    c.sign(c.v["van_ban"]["id"])


def tim_van_ban_qua_han(c: Candidate):
    # read the tracking page as the candidate would: exactly one document is overdue
    rows = docflow_api.tracking(c.rt, c.sid, c.me, only_overdue=True)
    assert len(rows) == 1, [r.incoming.original_symbol for r in rows]
    late = [a.target_label for a in rows[0].assignments if a.overdue]
    c.send([c.v["nguoi_nhan"]["email"]], c.v["tieu_de"],
           f"Văn bản {rows[0].incoming.original_symbol} quá hạn: {', '.join(late)} chưa xử lý xong.\n")


def report_phishing(c: Candidate, seed: str, it: str):
    s = c.seed(seed)
    c.send([c.email(it)], f"Báo cáo thư lừa đảo: {s['subject']}",
           f"Thư đáng ngờ từ {s['from']}, tiêu đề «{s['subject']}». Tôi chưa mở liên kết.\n")


def thu_lua_dao(c: Candidate):
    report_phishing(c, "lua_dao", "cntt")


def gui_thu_cc_bcc(c: Candidate):
    p = c.v["phan_cong"]
    c.send([p["to"]], "Mời họp rà soát thủ tục hành chính",
           f"Mời dự họp lúc {c.v['gio_hop']} tại phòng họp số 1.\n", cc=[p["cc"]], bcc=[p["bcc"]])


def dinh_kem_dung_tep(c: Candidate):
    c.send([c.v["nguoi_nhan"]["email"]], "Gửi báo cáo kinh tế - xã hội", "Gửi anh/chị báo cáo.\n",
           attachments=[c.attachment_of("bao_cao", c.v["tep"]["name"])])


def but_phe_han_xu_ly(c: Candidate):
    v = c.v
    c.direct("cv_khan", f"Giao {v['don_vi']['name']} {v['yeu_cau']['text']}.", [(v["don_vi"]["id"], "xlc", v["deadline"])])


def chuyen_tiep_thu(c: Candidate):
    c.send([c.v["recipient"]["email"]], "Fwd: Kế hoạch tổ chức Lễ hội Bánh dân gian Nam Bộ năm 2024",
           f"Đề nghị phòng {c.v['ghi_chu']['text']}.\n\n---------- Thư chuyển tiếp ----------\n",
           attachments=[c.attachment_of("le_hoi", "Du-thao-KH-Le-hoi-Banh-dan-gian-2024.txt")])


def bao_cao_tinh_hinh(c: Candidate):
    k = c.v["kiem_tra"]
    c.send([c.email("chutich")], f"Re: Hỏi tình hình xử lý văn bản {k['symbol']}",
           f"{k['done']} đã hoàn thành; {k['late']} đang quá hạn.\n", reply_to_seed="hoi")


def giao_chuyen_vien(c: Candidate):
    p, d = c.v["phan_cong"], c.v["deadline"]
    ids = c.inst_anchors["people"]
    docflow_api.direct(c.rt, c.sid, c.me, c.incoming_id("cv_viec_lam"), "Giao chuyên viên thực hiện.",
                       [{"person_id": ids[p["lead"]], "role": "xlc", "deadline": d},
                        {"person_id": ids[p["support"]], "role": "ph", "deadline": d}])


def received(c: Candidate, pid: str) -> tuple[str, str, list[tuple[str, bytes]]]:
    """(subject, text, files) of the newest mail from ``pid`` in the candidate's INBOX."""
    with mail_api.open_view(c.rt.db, c.account) as view:
        items, _ = view.items(view.special(None), limit=100)
        item, data = next((i, d) for i, d in items if d.from_address == c.email(pid))
        raw = view.raw(data, c.rt.blobs)
        parts = mime.body_parts(raw, data.structure)
        files = [(a["filename"], mime.part_payload(raw, data.structure, a["part"])) for a in parts["attachments"]]
        return data.subject, parts["text"], files


def xin_tai_lieu(c: Candidate):
    c.send([c.email("tp_tcdt")], "Xin số liệu giải ngân vốn đầu tư công",
           "Đề nghị chị gửi bảng tổng hợp giải ngân vốn đầu tư công đến hết tháng 4 và cho biết tỷ lệ giải ngân.\n")
    subject, text, files = received(c, "tp_tcdt")   # the colleague's answer (npc: auto_reply)
    rate = re.search(r"đạt (\d+,\d+%)", text).group(1)
    c.send([c.v["nguoi_nhan"]["email"]], f"Fwd: {subject}",
           f"Kính gửi anh, tỷ lệ giải ngân vốn đầu tư công đến hết tháng 4 đạt {rate}.\n\n"
           f"---------- Thư chuyển tiếp ----------\n{text}", attachments=files)


DRILLS = {
    "luyen-tra-loi-tat-ca": tra_loi_tat_ca,
    "luyen-chuyen-hai-don-vi": chuyen_hai_don_vi,
    "luyen-ky-so-chuyen-van-thu": ky_so_chuyen_van_thu,
    "luyen-tim-van-ban-qua-han": tim_van_ban_qua_han,
    "luyen-thu-lua-dao": thu_lua_dao,
    "luyen-gui-thu-cc-bcc": gui_thu_cc_bcc,
    "luyen-dinh-kem-dung-tep": dinh_kem_dung_tep,
    "luyen-but-phe-han-xu-ly": but_phe_han_xu_ly,
    "luyen-chuyen-tiep-thu": chuyen_tiep_thu,
    "luyen-bao-cao-tinh-hinh": bao_cao_tinh_hinh,
    "luyen-giao-chuyen-vien": giao_chuyen_vien,
    "luyen-xin-tai-lieu": xin_tai_lieu,
}


def test_every_drill_in_the_library_has_a_golden_path():
    shipped = {p.stem for p in LIBRARY.glob("luyen-*.yaml")}
    assert shipped == set(DRILLS)
    assert len(shipped) >= 10


@pytest.mark.parametrize("drill", sorted(DRILLS))
def test_drill_untouched_zero_golden_full_marks(sqlite_runtime, drill):
    loaded = load(drill)
    sc = loaded.scenario
    assert sc.kind == "drill" and 10 <= sc.points <= 20 and 10 <= sc.duration_minutes <= 20
    assert Candidate(sqlite_runtime, loaded, 11, "idle").grade()["total"] == 0
    c = Candidate(sqlite_runtime, loaded, 3, "gold")
    DRILLS[drill](c)
    report = c.grade()
    assert report["total"] == sc.points, lost(report)
