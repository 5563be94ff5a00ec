"""The messages of the IMAP differential suite: the same bytes are APPENDed, with the same
flags and INTERNALDATE, to Dovecot and to our server.

Built with the stdlib ``email`` package (as a mail client would write them) and by hand
(raw 8-bit headers, hand-written RFC 2047 / RFC 2231 forms, groups). All use CRLF line
ends, as IMAP APPEND requires. INTERNALDATEs are at 12:00 UTC so that SINCE/BEFORE/ON,
which compare dates "disregarding time and timezone" in the server's own zone, give the
same answer on any server zone between -11 and +11.
"""
from __future__ import annotations

import base64
import random
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from functools import lru_cache

CRLF = b"\r\n"
BIG_ATTACHMENT_BYTES = 10 * 1024 * 1024   # the raw attachment; ~13.6 MB once base64'd


@dataclass
class Message:
    key: str
    raw: bytes
    flags: tuple[str, ...] = ()
    internaldate: str = "03-Jun-2024 12:00:00 +0000"
    subject: str = ""          # decoded subject, for the expected answers of SEARCH
    tags: set = field(default_factory=set)


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _bytes(msg: EmailMessage, name: str) -> bytes:
    """The message with deterministic multipart boundaries (the same bytes every run)."""
    for i, part in enumerate(msg.walk()):
        if part.get_content_maintype() == "multipart":
            part.set_boundary(f"=_{name}_{i}_=")
    return _crlf(msg.as_bytes())


def _lines(*lines: str) -> bytes:
    return ("\r\n".join(lines)).encode("utf-8")


def plain() -> bytes:
    """text/plain, ASCII subject, UTF-8 8bit body."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Nguyễn Văn An <lanhdao@cantho.gov.vn>"
    msg["To"] = "vanthu@cantho.gov.vn"
    msg["Subject"] = "Meeting agenda for Monday"
    msg["Date"] = "Mon, 03 Jun 2024 08:30:00 +0700"
    msg["Message-ID"] = "<plain-1@cantho.gov.vn>"
    msg.set_content("Kính gửi chị Thư,\n\nLịch họp sáng thứ Hai lúc 8 giờ.\nTrân trọng.\n", cte="8bit")
    return _crlf(msg.as_bytes())


def mixed_vietnamese_filenames() -> bytes:
    """multipart/mixed: text + a PDF named with RFC 2231 (email package) + a file named with
    RFC 2047 in quotes (what Outlook and old Thunderbird write) + a text attachment."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Lê Thị Thư <vanthu@cantho.gov.vn>"
    msg["To"] = "Nguyễn Văn An <lanhdao@cantho.gov.vn>"
    msg["Cc"] = "truongphong@cantho.gov.vn"
    msg["Subject"] = "Công văn số 12/UBND về kế hoạch năm 2024"
    msg["Date"] = "Tue, 04 Jun 2024 09:15:00 +0700"
    msg["Message-ID"] = "<mixed-2@cantho.gov.vn>"
    msg.set_content("Gửi anh bản kế hoạch ngân sách và danh sách.\n")
    msg.add_attachment(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
                       maintype="application", subtype="pdf", filename="Kế hoạch năm 2024.pdf")
    msg.add_attachment("STT;Họ tên;Đơn vị\n1;Trần Minh Khoa;Phòng Tổng hợp\n".encode("utf-8"),
                       maintype="text", subtype="csv", filename="danh-sach.csv")
    raw = _bytes(msg, "mixed")
    # a hand-written RFC 2047 file name part before the closing boundary
    boundary = msg.get_boundary().encode()
    q = "=?UTF-8?B?" + base64.b64encode("Tờ trình số 5.docx".encode()).decode() + "?="
    part = _lines(
        f"--{boundary.decode()}",
        "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;",
        f' name="{q}"',
        "Content-Transfer-Encoding: base64",
        f'Content-Disposition: attachment; filename="{q}"',
        "",
        base64.b64encode(b"PK\x03\x04 fake docx " * 20).decode(),
        "",
    )
    close = b"--" + boundary + b"--"
    i = raw.rindex(close)
    return raw[:i] + part + CRLF + raw[i:]


def alternative_in_mixed() -> bytes:
    """multipart/mixed > (multipart/alternative > text/plain + text/html) + image attachment."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Trần Minh Khoa <truongphong@cantho.gov.vn>"
    msg["To"] = "Nguyễn Văn An <lanhdao@cantho.gov.vn>, Lê Thị Thư <vanthu@cantho.gov.vn>"
    msg["Subject"] = "Báo cáo tháng 5"
    msg["Date"] = "Wed, 05 Jun 2024 14:00:00 +0700"
    msg["Message-ID"] = "<alt-3@cantho.gov.vn>"
    msg["X-Priority"] = "1"
    msg.set_content("Báo cáo tháng 5: tổng hợp số liệu.\nXem bản HTML.\n")
    msg.add_alternative("<html><body><p>Báo cáo <b>tháng 5</b>: tổng hợp số liệu.</p>"
                        "<p>htmltoken-ABC</p></body></html>\n", subtype="html")
    msg.make_mixed()
    png = (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    msg.add_attachment(png, maintype="image", subtype="png", filename="bieu-do.png")
    return _bytes(msg, "alt")


def nested_rfc822() -> bytes:
    """A forward: multipart/mixed > text + message/rfc822 > its own multipart/mixed
    (text + attachment)."""
    inner = EmailMessage(policy=SMTP)
    inner["From"] = "Phạm Thị Hoa <chanhvanphong@cantho.gov.vn>"
    inner["To"] = "Trần Minh Khoa <truongphong@cantho.gov.vn>"
    inner["Subject"] = "Công văn khẩn: họp giao ban"
    inner["Date"] = "Thu, 30 May 2024 16:45:00 +0700"
    inner["Message-ID"] = "<inner-4@cantho.gov.vn>"
    inner.set_content("Đề nghị các phòng cử người dự họp giao ban.\n")
    inner.add_attachment("Nội dung cuộc họp giao ban tuần.\n".encode(), maintype="text", subtype="plain",
                         filename="Giấy mời.txt")
    outer = EmailMessage(policy=SMTP)
    outer["From"] = "Trần Minh Khoa <truongphong@cantho.gov.vn>"
    outer["To"] = "lanhdao@cantho.gov.vn"
    outer["Subject"] = "Fwd: Công văn khẩn: họp giao ban"
    outer["Date"] = "Thu, 06 Jun 2024 07:00:00 +0700"
    outer["Message-ID"] = "<fwd-4@cantho.gov.vn>"
    outer["In-Reply-To"] = "<inner-4@cantho.gov.vn>"
    outer.set_content("Chuyển tiếp anh công văn bên dưới.\n")
    outer.add_attachment(inner)
    return _bytes(outer, "fwd")


def raw_8bit_headers() -> bytes:
    """UTF-8 in headers, unencoded (RFC 6532 style, what some clients still send)."""
    return _lines(
        "From: Trần Minh Khoa <truongphong@cantho.gov.vn>",
        "To: Nguyễn Văn An <lanhdao@cantho.gov.vn>",
        "Subject: CÔNG VĂN về việc chuẩn bị hội nghị",
        "Date: Fri, 07 Jun 2024 10:00:00 +0700",
        "Message-ID: <raw8-5@cantho.gov.vn>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Đề nghị phòng chuẩn bị hội trường và tài liệu.",
        "Đồng chí phụ trách: Đặng Đức Đạt.",
        "",
    )


def rfc2047_headers() -> bytes:
    """Hand-written RFC 2047: B and Q words, a folded Subject of two words, encoded names."""
    subj1 = base64.b64encode("Công văn khẩn về ".encode()).decode()
    subj2 = base64.b64encode("phòng chống bão lũ".encode()).decode()
    return _lines(
        "From: =?UTF-8?Q?Ph=E1=BA=A1m_Th=E1=BB=8B_Hoa?= <chanhvanphong@cantho.gov.vn>",
        "To: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBBbg==?= <lanhdao@cantho.gov.vn>",
        f"Subject: =?UTF-8?B?{subj1}?=",
        f" =?UTF-8?B?{subj2}?=",
        "Date: Sat, 08 Jun 2024 11:11:11 +0700",
        "Message-ID: <enc-6@cantho.gov.vn>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: quoted-printable",
        "",
        "C=C3=B4ng v=C4=83n y=C3=AAu c=E1=BA=A7u b=C3=A1o c=C3=A1o ng=C3=A2n s=C3=A1ch tr=C6=B0=E1=BB=9Bc =",
        "ng=C3=A0y 15.",
        "",
    )


def groups_and_reply_to() -> bytes:
    """To as a group, Cc an empty group, Bcc, Reply-To, Sender, References."""
    return _lines(
        "From: Nguyễn Văn An <lanhdao@cantho.gov.vn>",
        "Sender: Văn thư <vanthu@cantho.gov.vn>",
        "Reply-To: Phòng Hành chính <vanthu@cantho.gov.vn>",
        "To: =?UTF-8?Q?Ph=C3=B2ng_H=C3=A0nh_ch=C3=ADnh?=: vanthu@cantho.gov.vn,",
        " Trần Minh Khoa <truongphong@cantho.gov.vn>;",
        "Cc: undisclosed-recipients:;",
        "Bcc: chanhvanphong@cantho.gov.vn",
        "Subject: Re: Lịch trực tuần",
        "Date: Sun, 09 Jun 2024 18:20:00 +0700",
        "Message-ID: <grp-7@cantho.gov.vn>",
        "In-Reply-To: <plain-1@cantho.gov.vn>",
        "References: <plain-1@cantho.gov.vn> <mixed-2@cantho.gov.vn>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=\"utf-8\"; format=flowed",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Đã nhận, cảm ơn Phòng Hành chính.",
        "",
    )


def diacritics_a() -> bytes:
    return _lines(
        "From: vanthu@cantho.gov.vn",
        "To: lanhdao@cantho.gov.vn",
        "Subject: =?UTF-8?B?" + base64.b64encode("Cà phê sáng thứ Hai".encode()).decode() + "?=",
        "Date: Mon, 10 Jun 2024 07:30:00 +0700",
        "Message-ID: <dia-8@cantho.gov.vn>",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        "Mời anh uống cà phê.",
        "",
    )


def diacritics_b() -> bytes:
    return _lines(
        "From: truongphong@cantho.gov.vn",
        "To: lanhdao@cantho.gov.vn",
        "Subject: =?UTF-8?B?" + base64.b64encode("Ca trực đêm".encode()).decode() + "?=",
        "Date: Mon, 10 Jun 2024 17:30:00 +0700",
        "Message-ID: <dia-9@cantho.gov.vn>",
        "",
        "Lich truc ca dem tuan nay.",
        "",
    )


def html_only_base64() -> bytes:
    html = "<html><body><h1>Thông báo</h1><p>Nghỉ lễ Quốc khánh 2/9.</p></body></html>\r\n"
    body = base64.encodebytes(html.encode()).decode().replace("\n", "\r\n").rstrip("\r\n")
    return _lines(
        "From: =?UTF-8?B?" + base64.b64encode("Văn phòng".encode()).decode() + "?= <chanhvanphong@cantho.gov.vn>",
        "To: lanhdao@cantho.gov.vn",
        "Subject: =?UTF-8?Q?Th=C3=B4ng_b=C3=A1o_ngh=E1=BB=89_l=E1=BB=85?=",
        "Date: Tue, 11 Jun 2024 08:00:00 +0700",
        "Message-ID: <html-10@cantho.gov.vn>",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=UTF-8",
        "Content-Transfer-Encoding: base64",
        "",
        body,
        "",
    )


def headers_only() -> bytes:
    """The smallest message: two headers, empty body, no MIME headers at all."""
    return b"Subject: ping\r\nFrom: truongphong@cantho.gov.vn\r\n\r\n"


@lru_cache(maxsize=1)
def big_attachment() -> bytes:
    """multipart/mixed with a 10 MB (pseudo-random, deterministic) attachment."""
    data = random.Random(20240603).randbytes(BIG_ATTACHMENT_BYTES)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Lê Thị Thư <vanthu@cantho.gov.vn>"
    msg["To"] = "lanhdao@cantho.gov.vn"
    msg["Subject"] = "Hồ sơ dự án (tệp lớn)"
    msg["Date"] = "Wed, 12 Jun 2024 15:00:00 +0700"
    msg["Message-ID"] = "<big-12@cantho.gov.vn>"
    msg.set_content("Gửi anh hồ sơ đầy đủ.\n")
    msg.add_attachment(data, maintype="application", subtype="zip", filename="Hồ sơ dự án.zip")
    return _bytes(msg, "big")


def messages(big: bool = True) -> list[Message]:
    """The corpus in APPEND order (UID n+1 is messages()[n])."""
    out = [
        Message("plain", plain(), ("\\Seen",), "01-Jun-2024 12:00:00 +0000", "Meeting agenda for Monday"),
        Message("mixed", mixed_vietnamese_filenames(), (), "02-Jun-2024 12:00:00 +0000",
                "Công văn số 12/UBND về kế hoạch năm 2024"),
        Message("alternative", alternative_in_mixed(), ("\\Flagged",), "03-Jun-2024 12:00:00 +0000", "Báo cáo tháng 5"),
        Message("nested", nested_rfc822(), ("\\Seen", "\\Answered"), "04-Jun-2024 12:00:00 +0000",
                "Fwd: Công văn khẩn: họp giao ban"),
        Message("raw8bit", raw_8bit_headers(), (), "05-Jun-2024 12:00:00 +0000", "CÔNG VĂN về việc chuẩn bị hội nghị"),
        Message("rfc2047", rfc2047_headers(), ("$Forwarded",), "06-Jun-2024 12:00:00 +0000",
                "Công văn khẩn về phòng chống bão lũ"),
        Message("groups", groups_and_reply_to(), ("\\Seen", "\\Flagged"), "07-Jun-2024 12:00:00 +0000",
                "Re: Lịch trực tuần"),
        Message("cafe", diacritics_a(), (), "08-Jun-2024 12:00:00 +0000", "Cà phê sáng thứ Hai"),
        Message("catruc", diacritics_b(), ("\\Draft",), "09-Jun-2024 12:00:00 +0000", "Ca trực đêm"),
        Message("html", html_only_base64(), ("\\Seen",), "10-Jun-2024 12:00:00 +0000", "Thông báo nghỉ lễ"),
        Message("tiny", headers_only(), (), "11-Jun-2024 12:00:00 -0500", "ping"),
    ]
    if big:
        out.append(Message("big", big_attachment(), (), "12-Jun-2024 12:00:00 +0000", "Hồ sơ dự án (tệp lớn)"))
    return out


def bench_message(i: int, size: int = 20 * 1024) -> bytes:
    """A ~20 KB multipart message for the benchmark (text + small attachment)."""
    line = "Nội dung công văn số %d, dòng thử tải đọc IMAP. " % i
    lines, total = [], 0
    while total < size // 2:
        lines.append(line)
        total += len(line.encode()) + 2
    text = "\r\n".join(lines)
    att = base64.encodebytes(random.Random(i).randbytes(size * 3 // 8)).decode().replace("\n", "\r\n")
    return _lines(
        "From: =?UTF-8?B?" + base64.b64encode("Lê Thị Thư".encode()).decode() + "?= <vanthu@cantho.gov.vn>",
        "To: lanhdao@cantho.gov.vn",
        f"Subject: =?UTF-8?B?{base64.b64encode(f'Công văn đo tải {i}'.encode()).decode()}?=",
        "Date: Mon, 03 Jun 2024 08:30:00 +0700",
        f"Message-ID: <bench-{i}@cantho.gov.vn>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b0undary"',
        "",
        "--b0undary",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        text,
        "--b0undary",
        'Content-Type: application/octet-stream; name="tep.bin"',
        "Content-Transfer-Encoding: base64",
        'Content-Disposition: attachment; filename="tep.bin"',
        "",
        att.rstrip("\r\n"),
        "--b0undary--",
        "",
    )
