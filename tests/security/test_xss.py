"""Issue 16: an XSS corpus in every user-controlled text field (mail subject, body, HTML mail,
display name and file name; document summary and body; the directive (bút phê); candidate
and trainee names; scenario text; appeal text), then the pages that show them, parsed with
``html.parser``: no script element, ``on*`` attribute or ``javascript:`` URL that came from
the corpus (every payload carries the marker ``XSS``). Each page must also show the marker as
text, so a field that never reached the page cannot pass by accident."""
from __future__ import annotations

import re
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from tests.security.conftest import Browser, sandbox_id

PAYLOADS = [
    "<script>alert('XSS1')</script>",
    "<img src=x onerror=alert('XSS2')>",
    "<a href=\"javascript:alert('XSS3')\">Bấm vào đây để xem công văn</a>",
    "<svg onload=alert('XSS4')><circle r=1></svg>",
    "\"><img src=x onerror=alert('XSS5')>",
    "' onmouseover='alert(\"XSS6\")' data-x='",
    "</textarea></title><script>alert('XSS7')</script>",
    "Kính gửi Ủy ban nhân dân <b onclick=alert('XSS8')>quận Ninh Kiều</b>",
    "<iframe src=\"javascript:alert('XSS9')\"></iframe>",
    "<svg><a xlink:href=\"javascript:alert('XSS10')\"><text>Đọc văn bản</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('XSS11')>",
    "<body onload=alert('XSS12')>",
    "javascript:alert('XSS13')",
    "<object data=\"javascript:alert('XSS14')\"></object>",
    "</script><script>alert('XSS15')</script>",
    "<form action=\"javascript:alert('XSS16')\"><button formaction=\"javascript:alert('XSS16')\">Gửi</button></form>",
]
FULL = "\n".join(PAYLOADS)
SHORT = "Báo cáo <img src=x onerror=alert('XSS2')> \"><script>alert('XSS1')</script>"
NAME = "Lê Thị <svg onload=alert('XSS4')> Hoa"
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "background", "poster"}
EXECUTABLE_SCRIPT = {"", "text/javascript", "module", "application/javascript"}


class ExecutableMarkup(HTMLParser):
    """Script elements, event handlers and ``javascript:`` URLs carrying the marker."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.in_script = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = [(n.lower(), v or "") for n, v in attrs]
        if tag == "script":
            kind = dict(attrs).get("type", "").lower()
            self.in_script = kind in EXECUTABLE_SCRIPT
            if "XSS" in dict(attrs).get("src", ""):
                self.found.append(f"<script src> {attrs}")
        for name, value in attrs:
            if "XSS" not in value:
                continue
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif name in URL_ATTRS and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "data:text/html")):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif tag in ("iframe", "object", "embed", "base", "meta"):
                self.found.append(f"<{tag} {name}={value!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and "XSS" in data:
            self.found.append(f"<script>{data[:80]}")
        self.text.append(data)


def check(resp, where: str, *, shown: bool = True) -> list[str]:
    assert resp.status_code == 200, (where, resp.status_code)
    html = resp.get_data(as_text=True)
    p = ExecutableMarkup()
    p.feed(html)
    p.close()
    problems = [f"{where}: {x}" for x in p.found]
    if shown and "XSS" not in "".join(p.text):
        problems.append(f"{where}: the injected text is not on the page (the probe did not reach it)")
    return problems


@pytest.fixture(scope="module")
def injected(attacked, tmp_path_factory):
    """Everything injected once; the page checks below read it."""
    from sqlalchemy import select

    from mailserver import api as mail_api
    from mailserver.models import MailAccount
    from sandbox.contest.models import Candidate
    from sandbox.appeals import api as appeals
    from scenarios.build import build
    from scenarios.library import load

    at = attacked
    rt, w = at.rt, at.world
    a = at.browser("A")
    me_a = w.builds["TS001"].candidate.address
    out = {}

    # mail, in A's world: a plain one through the webmail (to themself), an HTML one from a
    # colleague through the submission path
    a.get("/mail/compose")
    assert a.post("/mail/compose", {"to": me_a, "subject": SHORT, "body": FULL, "send": "1"}).status_code == 302
    with rt.db.read() as s:
        acc = s.scalar(select(MailAccount.id).where(MailAccount.sandbox_id == sandbox_id(rt, at.sandbox_a),
                                                    MailAccount.address != me_a).order_by(MailAccount.id))
        colleague = mail_api.account_ref(s, acc)
    msg = EmailMessage()
    msg["From"] = f"\"{NAME}\" <{colleague.address}>"
    msg["To"] = me_a
    msg["Subject"] = "Thư HTML " + SHORT
    msg.set_content("Bản văn bản: " + FULL)
    msg.add_alternative("<html><body><p>Nội dung HTML</p>" + FULL + "<p>XSS-visible</p></body></html>", subtype="html")
    msg.add_attachment(b"%PDF-1.4\n", maintype="application", subtype="pdf",
                       filename="Công văn <img src=x onerror=alert('XSS2')>.pdf")
    mail_api.submit(rt.dispatcher, rt.blobs, colleague, msg.as_bytes(), [me_a], via="smtp", mail_from=colleague.address)

    # documents: a draft (summary, body) and a directive on an incoming document, by A
    a.get("/van-ban/du-thao/moi")
    resp = a.post("/van-ban/du-thao/moi", {"type_code": "CV", "summary": SHORT, "signer_id": "1", "body": FULL,
                                           "rcpt_emails": "vanphong@cantho.gov.vn", "addressees": NAME})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    out["draft"] = resp.headers["Location"]
    incoming = at.a_objects["doc_id:den"][0]
    a.get(f"/van-ban/den/{incoming}")
    resp = a.post(f"/van-ban/den/{incoming}/chuyen-xu-ly", {"directive": FULL, "role_u1": "xlc", "deadline_u1": "2024-06-30"})
    assert resp.status_code == 302, re.findall(r'class="[^"]*(?:error|alert)[^"]*"[^>]*>([^<]+)', resp.get_data(as_text=True))
    out["incoming"] = f"/van-ban/den/{incoming}"

    # names: a candidate's (as a roster import writes it) and a trainee's (the join form)
    with rt.db.write() as s:
        s.get(Candidate, w.candidates["TS002"]).full_name = NAME
    joiner = Browser(at.app, "10.0.3.1")
    joiner.get("/luyen-tap/tham-gia")
    resp = joiner.post("/luyen-tap/tham-gia", {"code": "ANNINH", "name": NAME})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:400]
    out["joined"] = resp

    # scenario text: an exam set whose title, task and names carry the corpus
    minimal = Path(__file__).parents[1] / "scenarios" / "data" / "minimal.yaml"
    data = yaml.safe_load(minimal.read_text(encoding="utf-8"))
    data["title"] = "Bài luyện " + SHORT
    data["tasks"][0]["title"] = "Gửi thư " + SHORT
    data["tasks"][0]["text"] = "Gửi thư cho {recipient.name}. " + FULL.replace("{", "(").replace("}", ")")
    data["world"]["people"][1]["name"] = NAME
    path = tmp_path_factory.mktemp("xss-scenario") / "luyen-xss.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    built = build(rt, load(str(path)), 1, "xss-de-bai")
    trainee = Browser(at.app, "10.0.3.2")
    trainee.form_login("/login", {"login": f"xss-de-bai/{built.candidate.address}", "password": built.candidate.password})
    out["scenario_browser"] = trainee

    # appeal text, entered by the examiner for candidate B
    appeal = appeals.request_appeal(rt, at.sandbox_b, ["M1"], FULL, by=NAME)
    out["appeal"] = appeal.id
    return out


def _latest_items(at):
    from sqlalchemy import select

    from mailserver.models import MailAccount, MailItem, Mailbox

    me = at.world.builds["TS001"].candidate.address
    with at.rt.db.read() as s:
        acc = s.scalar(select(MailAccount.id).where(MailAccount.sandbox_id == sandbox_id(at.rt, at.sandbox_a),
                                                    MailAccount.address == me))
        return list(s.scalars(select(MailItem.id).join(Mailbox, Mailbox.id == MailItem.mailbox_id)
                              .where(Mailbox.account_id == acc).order_by(MailItem.id.desc()).limit(3)))


def test_mail_fields_come_back_escaped(attacked, injected):
    at = attacked
    a = at.browser("A")
    problems = check(a.get("/mail/"), "/mail/")
    for item in _latest_items(at):
        problems += check(a.get(f"/mail/message/{item}"), f"/mail/message/{item}")
        problems += check(a.get(f"/mail/message/{item}/body"), f"/mail/message/{item}/body", shown=False)
        problems += check(a.get(f"/mail/compose?reply={item}"), f"/mail/compose?reply={item}", shown=False)
    problems += check(a.get("/mail/?q=XSS"), "/mail/?q=XSS", shown=False)
    assert not problems, problems


def test_document_fields_come_back_escaped(attacked, injected):
    a = attacked.browser("A")
    problems = []
    for url in (injected["draft"], injected["draft"] + "/sua", injected["incoming"], "/van-ban/di", "/van-ban/den",
                "/van-ban/theo-doi", "/van-ban/tim-kiem?q=XSS"):
        problems += check(a.get(url), url, shown=url not in ("/van-ban/den", "/van-ban/theo-doi"))
    assert not problems, problems


def test_names_come_back_escaped(attacked, injected):
    at = attacked
    problems = check(injected["joined"], "joined page")
    for who, url in [("organiser", "/quan-tri/cuoc-thi/atk2024"), ("examiner", "/quan-tri/giam-sat/atk2024"),
                     ("trainer", f"/quan-tri/luyen-tap/{at.class_id}"), ("organiser", "/quan-tri/cuoc-thi/atk2024/ket-qua")]:
        problems += check(at.browser(who).get(url), url, shown="ket-qua" not in url)
    problems += check(at.browser("B").get("/thi/bai-thi"), "/thi/bai-thi", shown=False)
    assert not problems, problems


def test_scenario_text_comes_back_escaped(injected):
    b = injected["scenario_browser"]
    problems = check(b.get("/de-bai"), "/de-bai")
    problems += check(b.get("/mail/"), "/mail/ (scenario people)", shown=False)
    assert not problems, problems


def test_appeal_text_comes_back_escaped(attacked, injected):
    ex = attacked.browser("examiner")
    problems = check(ex.get("/quan-tri/phuc-khao/"), "/quan-tri/phuc-khao/")
    problems += check(ex.get(f"/quan-tri/phuc-khao/{injected['appeal']}"), "appeal page")
    problems += check(ex.get(f"/quan-tri/phat-lai/{attacked.sandbox_a}"), "timeline of A", shown=False)
    assert not problems, problems


def test_the_detector_finds_executable_markup():
    """The parser is not blind: raw payloads are found, escaped ones are not."""
    from markupsafe import escape

    p = ExecutableMarkup()
    p.feed("<html><body>" + FULL + "</body></html>")
    assert len(p.found) >= 8, p.found
    p = ExecutableMarkup()
    p.feed(f"<html><body><p>{escape(FULL)}</p><input value=\"{escape(SHORT)}\"></body></html>")
    assert p.found == []
