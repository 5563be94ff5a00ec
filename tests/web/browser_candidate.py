"""The browser executor: plays a plan of ``tests/scenarios/plans.py`` in Chromium through the
candidate's real pages, the way a candidate does it: the contest portal (``/thi``: candidate
number and password, «Bắt đầu làm bài», the practical part, the task sheet) or a drill class's
join page (class code and name, then the task sheet), the webmail (open the mail, download its
file and attach it again, «Trả lời» / «Trả lời tất cả» / «Chuyển tiếp»), the document pages
(the directive, roles and deadlines per unit or person), the signing dialog (certificate, PIN),
«Chuyển văn thư phát hành» and the tracking page.

Elements are found by their visible labels and roles; every step waits on a visible outcome
(a flash message, a status, a heading), never on time."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.scenarios.plans import (Direct, Forward, MailRef, OpenLink, Plan, ReadMail, Received, SendMail, Sign,
                                   ViewTracking, World)

ROLE_LABELS = {"xlc": "Xử lý chính", "ph": "Phối hợp", "db": "Nhận để biết", "": "Không giao"}
EMAIL = re.compile(r"[\w.+-]+@[\w.-]+\.\w+")


class PageProblem(AssertionError):
    """A candidate's page misbehaved (an error shown where the plan expects success, a form
    that lost what was typed)."""


class BrowserCandidate:
    def __init__(self, page: Page, base_url: str, world: World, downloads: Path):
        self.page, self.base, self.w = page, base_url, world
        self.downloads = downloads
        self.downloads.mkdir(parents=True, exist_ok=True)
        self._form_rows: dict[str, set[str]] = {}   # doc -> targets given a role on its open form
        self._on_draft: str | None = None

    # -- entering ------------------------------------------------------------------------
    @staticmethod
    def portal_login(page: Page, base: str, number: str, password: str) -> None:
        """The contest candidate portal: log in, start the exam, open the practical part's task sheet."""
        page.goto(base + "/thi")
        page.get_by_label("Số báo danh").fill(number)
        page.get_by_label(re.compile(r"^Mật khẩu")).fill(password)
        page.get_by_role("button", name="Đăng nhập").click()
        page.get_by_role("button", name="Bắt đầu làm bài").click()
        page.wait_for_url("**/thi/bai-thi")
        page.get_by_role("link", name="Làm bài thực hành").click()
        page.wait_for_url("**/thi/thuc-hanh")
        page.get_by_role("link", name="Đề bài", exact=True).click()
        page.wait_for_url("**/de-bai")
        expect(page.locator("ol.tasks")).to_be_visible()

    @staticmethod
    def join_class(page: Page, base: str, code: str, name: str) -> str:
        """A drill class's join page: code and name; lands on the task sheet. Returns the login
        shown once on the joined page (``sandbox/address``)."""
        page.goto(base + "/luyen-tap/tham-gia")
        page.get_by_label("Mã tham gia").fill(code)
        page.get_by_label("Họ và tên").fill(name)
        page.get_by_role("button", name="Tham gia").click()
        expect(page.locator("#joined h1")).to_contain_text(f"Chào {name}")
        login = page.locator("#logins tbody tr").first.locator("code").first.inner_text()
        page.get_by_role("link", name="Bắt đầu làm bài").click()
        page.wait_for_url("**/de-bai")
        expect(page.locator("ol.tasks")).to_be_visible()
        return login.strip()

    def read_sheet(self, plan: Plan) -> None:
        sheet = self.page.locator("ol.tasks")
        for text in plan.reads:
            expect(sheet).to_contain_text(text)

    # -- playing -------------------------------------------------------------------------
    def run(self, plan: Plan) -> None:
        self.read_sheet(plan)
        for step in plan.steps:
            getattr(self, "_" + type(step).__name__)(step)

    def tool(self, name: str) -> None:
        self.page.locator("nav.tools").get_by_role("link", name=name, exact=True).click()
        self._on_draft = None

    def _flash(self, success: str) -> None:
        """Wait for the page's outcome; an error flash where success is expected is a problem."""
        page = self.page
        done = page.locator(".flash-success", has_text=success)
        failed = page.locator(".flash-error, #form-error")
        expect(done.or_(failed).first).to_be_visible()
        if not done.count():
            raise PageProblem(f"expected «{success}», the page says: {failed.first.inner_text()}")

    # -- mail ------------------------------------------------------------------------------
    def _inbox(self) -> None:
        """Open the INBOX afresh (what it lists is read from the new page, not the one before)."""
        with self.page.expect_navigation():
            self.tool("Thư điện tử")
        expect(self.page.locator(".list-head h1")).to_have_text("Hộp thư đến")

    def _received_rows(self, ref: Received):
        """The INBOX rows of a mail received during the session: its sender's name in the
        «Người gửi» column and, when given, its subject as the row's link (newest first)."""
        page = self.page
        rows = page.locator("table.messages tbody tr").filter(
            has=page.locator("td.sender", has_text=self.w.name(ref.sender)))
        if ref.subject is not None:
            rows = rows.filter(has=page.locator("td.subject").get_by_role("link", name=ref.subject, exact=True))
        return rows

    def _open_mail(self, ref: MailRef) -> None:
        page = self.page
        self._inbox()
        if isinstance(ref, Received):
            row = self._received_rows(ref).first
            expect(row).to_be_visible()
            row.locator("td.subject a").first.click()
            if ref.subject is not None:
                expect(page.locator("h1.subject")).to_have_text(ref.subject)
            expect(page.locator("dl.headers dd").first).to_contain_text(self.w.email(ref.sender))
            return
        subject = self.w.seed(ref).subject
        page.locator("td.subject").get_by_role("link", name=subject, exact=True).first.click()
        expect(page.locator("h1.subject")).to_have_text(subject)

    def _ReadMail(self, step: ReadMail) -> None:
        page = self.page
        if not step.arrived:
            self._inbox()
            rows = self._received_rows(step.mail)
            if rows.count():
                raise PageProblem(f"{step.mail} came: «{rows.first.locator('td.subject a').inner_text()}»; "
                                  "the plan expects no such mail")
            return
        self._open_mail(step.mail)
        for text in step.expect:
            expect(page.locator("pre.body-text")).to_contain_text(text)
        for name in step.files:
            expect(page.locator("ul.attachments").get_by_role("link", name=name, exact=True)).to_be_visible()

    def _download(self, seed_mail: MailRef, filename: str) -> Path:
        self._open_mail(seed_mail)
        with self.page.expect_download() as dl:
            self.page.locator("ul.attachments").get_by_role("link", name=filename, exact=True).click()
        target = self.downloads / filename
        dl.value.save_as(target)
        return target

    def _SendMail(self, step: SendMail) -> None:
        page = self.page
        files = [self._download(seed, name) for seed, name in step.attach]
        source = step.reply_to or step.forward
        if source:
            if not step.attach or any(seed != source for seed, _ in step.attach):
                self._open_mail(source)
            button = "Chuyển tiếp" if step.forward else ("Trả lời tất cả" if step.reply_all else "Trả lời")
            page.locator("article.message .toolbar").get_by_role("link", name=button, exact=True).click()
        else:
            if not step.attach:
                self.tool("Thư điện tử")
            page.get_by_role("link", name="Soạn thư").click()
        expect(page.locator("form.compose")).to_be_visible()
        to, cc = page.get_by_label("Đến", exact=True), page.get_by_label("CC", exact=True)
        if step.reply_to:
            shown = (_emails(to.input_value()), _emails(cc.input_value()))
            if shown != (set(step.to), set(step.cc)):
                raise PageProblem(f"the reply form is prefilled with To {sorted(shown[0])}, CC {sorted(shown[1])}; "
                                  f"the plan expects To {sorted(step.to)}, CC {sorted(step.cc)}")
        else:
            to.fill(", ".join(step.to))
            cc.fill(", ".join(step.cc))
        page.get_by_label("BCC", exact=True).fill(", ".join(step.bcc))
        if step.subject is not None:
            page.get_by_label("Tiêu đề", exact=True).fill(step.subject)
        body = page.get_by_label("Nội dung", exact=True)
        body.fill(step.body + body.input_value())     # typed above what reply/forward prefilled
        for name in step.drop_carried:
            page.locator("fieldset.carried label", has_text=name).locator("input").uncheck()
        if files:
            page.get_by_label("Đính kèm tệp").set_input_files([str(f) for f in files])
        page.get_by_role("button", name="Gửi", exact=True).click()
        self._flash("Đã gửi thư.")

    def _OpenLink(self, step: OpenLink) -> None:
        self._open_mail(step.seed_mail)
        self.page.locator("pre.body-text").get_by_role("link", name=step.url).first.click()
        expect(self.page.locator("h1")).to_contain_text("Không mở được trang này")

    # -- documents --------------------------------------------------------------------------
    def _docflow_side(self, name: str) -> None:
        self.page.locator(".df-side").get_by_role("link", name=name).first.click()

    def _Direct(self, step: Direct) -> None:
        page, w = self.page, self.w
        previous = self._form_rows.pop(step.doc, None)
        if previous is None:   # open the document from the list of incoming documents (all of them)
            self.tool("Văn bản")
            expect(page.locator(".df-main h1")).to_have_text("Văn bản đến")
            row = page.locator("tr", has_text=w.incoming_symbol(step.doc))
            row.locator("td.summary a").first.click()
            expect(page.locator("h1.doc-title")).to_be_visible()
            previous = set()
        form = page.locator("#direct")
        directive = form.get_by_label(re.compile(r"^Ý kiến"))
        directive.fill(step.directive)
        wanted = {target for target, _, _ in step.rows}
        for target in sorted(previous - wanted):   # correcting a refused form: take those roles back
            page.get_by_label(f"Vai trò của {w.label(target)}", exact=True).select_option(label=ROLE_LABELS[""])
            page.get_by_label(f"Hạn xử lý của {w.label(target)}", exact=True).fill("")
        for target, role, deadline in step.rows:
            label = w.label(target)
            page.get_by_label(f"Vai trò của {label}", exact=True).select_option(label=ROLE_LABELS[role])
            page.get_by_label(f"Hạn xử lý của {label}", exact=True).fill(deadline.isoformat() if deadline else "")
        form.get_by_role("button").click()
        if step.refused:
            expect(page.locator("#form-error")).to_contain_text(step.refused)
            self._check_kept(step)
            self._form_rows[step.doc] = wanted
            return
        self._flash("Đã ")

    def _check_kept(self, step: Direct) -> None:
        """After a refusal the page must come back with everything the candidate typed."""
        page, w = self.page, self.w
        lost = []
        if page.locator("#direct").get_by_label(re.compile(r"^Ý kiến")).input_value() != step.directive:
            lost.append("the directive")
        for target, role, deadline in step.rows:
            label = w.label(target)
            if page.get_by_label(f"Vai trò của {label}", exact=True).input_value() != role:
                lost.append(f"the role of {label}")
            if page.get_by_label(f"Hạn xử lý của {label}", exact=True).input_value() != (
                    deadline.isoformat() if deadline else ""):
                lost.append(f"the deadline of {label}")
        if lost:
            raise PageProblem("the refused directive form came back without " + ", ".join(lost))

    def _open_draft(self, draft: str, side: str) -> None:
        if self._on_draft == draft:
            return
        self.tool("Văn bản")
        self._docflow_side(side)
        summary = self.w.draft_summary(draft)
        self.page.locator("td.summary").get_by_role("link", name=summary, exact=True).first.click()
        expect(self.page.locator("h1.doc-title")).to_have_text(summary)
        self._on_draft = draft

    def _Sign(self, step: Sign) -> None:
        page = self.page
        self._open_draft(step.draft, "Dự thảo chờ ký")
        dialog = page.locator("#sign")
        dialog.get_by_label(self.w.name(step.cert_owner), exact=True).check()
        dialog.get_by_label("Mã PIN của thiết bị ký số").fill(step.pin)
        dialog.get_by_role("button", name="Ký số dự thảo").click()
        self._flash("Đã ký số dự thảo")
        expect(page.locator("#doc-status")).to_have_text("Lãnh đạo đã ký số")

    def _Forward(self, step: Forward) -> None:
        page = self.page
        self._open_draft(step.draft, "Tất cả văn bản đi")
        page.locator("#forward").get_by_role("button", name="Chuyển văn thư phát hành").click()
        # the automatic clerk releases it, or refuses (someone else's certificate): both are outcomes;
        # her job follows the forward within seconds and the page, refreshing, shows it
        outcome = page.locator(".flash", has_text="Đã chuyển văn thư")
        expect(outcome.first).to_be_visible()
        expect(page.locator("#doc-status")).not_to_have_text("Chờ văn thư phát hành", timeout=30_000)

    def _ViewTracking(self, step: ViewTracking) -> None:
        page = self.page
        self.tool("Văn bản")
        self._docflow_side("Theo dõi tình hình xử lý văn bản")
        expect(page.locator("h1")).to_have_text("Theo dõi tình hình xử lý văn bản")
        if step.q or step.only_overdue:
            page.get_by_label("Lọc văn bản").fill(step.q)
            if step.only_overdue:
                page.get_by_label("Chỉ văn bản quá hạn").check()
            page.get_by_role("button", name="Lọc", exact=True).click()
            expect(page.get_by_role("link", name="Bỏ lọc")).to_be_visible()
        main = page.locator(".df-main")
        for text in step.expect:
            expect(main).to_contain_text(text)


def _emails(value: str) -> set[str]:
    return {a.lower() for a in EMAIL.findall(value or "")}
