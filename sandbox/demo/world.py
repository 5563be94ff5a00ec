"""The demo world of ``make demo``: a city department with a leader, a clerk and two heads
of office, a few messages waiting in the leader's INBOX. Built through the real actions."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from sandbox.kernel.clock import VN_TZ
from sandbox.runtime import Runtime
from sandbox.kernel.sandboxes import find_sandbox, get_or_create_sandbox

DEMO_SANDBOX = "demo"
DEMO_PASSWORD = "demo@2024"
DEMO_PEOPLE = [
    ("lanhdao@sonoivu.cantho.gov.vn", "Nguyễn Văn An", "Giám đốc Sở Nội vụ"),
    ("vanthu@sonoivu.cantho.gov.vn", "Lê Thị Thư", "Văn thư"),
    ("truongphong.cchc@sonoivu.cantho.gov.vn", "Trần Minh Khoa", "Trưởng phòng Cải cách hành chính"),
    ("chanhvanphong@sonoivu.cantho.gov.vn", "Phạm Thị Hoa", "Chánh Văn phòng"),
    ("vanphong@ubnd.cantho.gov.vn", "Văn phòng UBND thành phố", ""),
]


def minimal_pdf(text: str = "Cong van", *, width: float = 595, height: float = 842,
                crop: tuple[float, float, float, float] | None = None) -> bytes:
    """A tiny valid one-page PDF (demo and test attachments); A4 unless told, with an
    optional CropBox."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    crop_entry = b" /CropBox [%g %g %g %g]" % crop if crop else b""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g]" % (width, height) + crop_entry +
            b" /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _message(rt: Runtime, sender: tuple[str, str], to: str, subject: str, body: str,
             attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{sender[1]} <{sender[0]}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(rt.clock.now().astimezone(VN_TZ))
    msg.set_content(body)
    if attachment:
        msg.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return msg.as_bytes()


def build_demo(rt: Runtime) -> dict:
    """Create the demo sandbox once; later calls only report it."""
    from mailserver import api as mail_api

    with rt.db.read() as s:
        exists = find_sandbox(s, DEMO_SANDBOX) is not None
    if not exists:
        sandbox_id = get_or_create_sandbox(rt.db, rt.clock, DEMO_SANDBOX, title="Thế giới demo: Sở Nội vụ thành phố Cần Thơ")
        refs = {}
        for address, name, _title in DEMO_PEOPLE:
            account_id = mail_api.add_account(rt.dispatcher, rt.secret, sandbox_id, address, DEMO_PASSWORD, name)
            with rt.db.read() as s:
                refs[address] = mail_api.account_ref(s, account_id)
        leader = DEMO_PEOPLE[0][0]
        ubnd, cchc, cvp = refs[DEMO_PEOPLE[4][0]], refs[DEMO_PEOPLE[2][0]], refs[DEMO_PEOPLE[3][0]]
        mails = [
            (ubnd, "V/v triển khai Kế hoạch chuyển đổi số năm 2024",
             "Kính gửi Giám đốc Sở Nội vụ,\n\nVăn phòng UBND thành phố gửi Kế hoạch chuyển đổi số năm 2024 "
             "(tệp đính kèm) để Sở nghiên cứu, triển khai.\n\nTrân trọng.\n",
             ("Kế hoạch chuyển đổi số năm 2024.pdf", minimal_pdf("Ke hoach chuyen doi so 2024"))),
            (cchc, "Báo cáo kết quả cải cách hành chính quý II",
             "Kính gửi anh An,\n\nPhòng CCHC xin gửi báo cáo kết quả quý II để anh cho ý kiến.\n\nTrần Minh Khoa\n", None),
            (cvp, "Lịch họp giao ban tuần",
             "Kính gửi Giám đốc,\n\nLịch họp giao ban sáng thứ Hai lúc 07 giờ 30 tại phòng họp số 1.\n\nPhạm Thị Hoa\n", None),
        ]
        for ref, subject, body, attachment in mails:
            raw = _message(rt, (ref.address, ref.display_name), leader, subject, body, attachment)
            mail_api.submit(rt.dispatcher, rt.blobs, ref, raw, [leader], via="webmail")
        from signing.demo import provision_demo_tokens
        provision_demo_tokens(rt, sandbox_id, org="SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ", leader=DEMO_PEOPLE[0],
                              clerk=DEMO_PEOPLE[1][0], other=DEMO_PEOPLE[2])
    return {"sandbox": DEMO_SANDBOX, "password": DEMO_PASSWORD, "people": DEMO_PEOPLE}


def describe(info: dict, host: str, http_port: int, smtp_port: int, imap_port: int, settings) -> str:
    lines = [
        "",
        "=== Sandbox demo ===",
        f"Dữ liệu: {settings.data_dir}  (CSDL: {settings.database_url})",
        f"Webmail:  http://{host}:{http_port}/",
        f"SMTP:     {host}:{smtp_port}  (AUTH PLAIN/LOGIN bắt buộc, có STARTTLS)",
        f"IMAP:     {host}:{imap_port}  (có STARTTLS)",
        f"Sandbox:  {info['sandbox']}    Mật khẩu mọi tài khoản: {info['password']}",
        "Tài khoản:",
    ]
    for address, name, title in info["people"]:
        lines.append(f"  {address:<42} {name}{' — ' + title if title else ''}")
    lines.append(f"Đăng nhập webmail bằng địa chỉ và mật khẩu trên (hoặc {info['sandbox']}/địa-chỉ).")
    lines.append(f"Ký số: http://{host}:{http_port}/ky-so/  (mã PIN 123456; văn thư: 654321)")
    return "\n".join(lines) + "\n"
