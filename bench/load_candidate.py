"""One simulated candidate: the whole exam through the real pages, as a person does it in the
browser (``tests/web/browser_candidate.py`` does the same in Chromium): the portal (number and
password, «Bắt đầu làm bài»), the theory part (every click autosaved, review, submission), the
practical part (the task sheet, then the exam set's plan from ``tests/scenarios/plans.py``:
webmail or a mail client, the incoming document's directive and routing, the draft's
signature with the PIN, «Chuyển văn thư phát hành», the release on the draft's page, the
tracking page) and «Kết thúc bài thi». Think times come from :mod:`bench.load_profile`.

What the candidate must end with is known in advance: the theory answers it chose (so its
theory points) and the plan's lost criteria (so its practical points); :class:`Expected`."""
from __future__ import annotations

import asyncio
import html
import mimetypes
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from tests.scenarios.plans import (T_MAIL, Direct, Forward, OpenLink, Plan, ReadMail, SendMail, Sign, ViewTracking,
                                   World)

from .load_client import Browser, StepFailed
from .load_profile import CHANGE_MIND, RIGHT_SHARE, STATUS_POLL_SECONDS, Pace

OPTION = re.compile(r'<input type="(radio|checkbox)" name="q(\d+)" value="(\d+)"')
INBOX_ROW = re.compile(r'<td class="subject"><a href="/mail/message/(\d+)">(.*?)</a>', re.S)
ATTACHMENT = re.compile(r'<a href="(/mail/message/\d+/part/[\d.]+)" download>(.*?)</a>', re.S)
MAIL_LINK = re.compile(r'href="(/mail/message/\d+/link\?u=[^"]+)"')
DOC_ROW = re.compile(r'<tr[^>]*data-doc="(\d+)">(.*?)</tr>', re.S)
TREE_LABEL = re.compile(r'<label for="role_([up]\d+)">(?:<strong>)?(.*?)(?:</strong>)?</label>', re.S)
DATE_FIELD = re.compile(r'name="deadline_([up]\d+)"')
CERT = re.compile(r'<label for="cert-(\d+)"><strong>(.*?)</strong></label>', re.S)
DOC_STATUS = re.compile(r'id="doc-status">([^<]*)<')
ANSWERED = re.compile(r'id="answered-count">(\d+)</strong>/(\d+)')
REFRESH = re.compile(r'<meta http-equiv="refresh" content="(\d+(?:\.\d+)?)')
RELEASED = ("Đã phát hành", "Đã gửi", "Đã lưu hồ sơ")
REFUSED = "Văn thư từ chối phát hành"


@dataclass
class Expected:
    theory_right: int = 0
    theory_questions: int = 0
    practical_lost: frozenset = frozenset()


@dataclass
class Options:
    compress: float
    release_timeout: float = 120.0      # wall seconds for the clerk's release to show
    release_poll: float = 2.0           # wall seconds between reloads of the draft's page
    status_poll: float = STATUS_POLL_SECONDS
    keepalive: float = 15.0


@dataclass
class Outcome:
    number: str
    profile: str
    smtp: bool
    completed: bool = False
    failed_step: str = ""
    started: float = 0.0
    ended: float = 0.0
    expected: Expected = field(default_factory=Expected)
    #: the planned exam minute of the flow's landmarks (the profile as played)
    minutes: dict[str, float] = field(default_factory=dict)


def _clean(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


class Candidate:
    def __init__(self, seat, the_plan: Plan, world: World, base: str, stats, pace: Pace, opts: Options,
                 answer_key: dict[int, list[int]], mail=None):
        self.seat, self.plan, self.w = seat, the_plan, world
        self.stats, self.pace, self.opts = stats, pace, opts
        self.key, self.mail = answer_key, mail
        self.base = base
        self.rng = random.Random(f"load:{seat.number}")
        self.outcome = Outcome(seat.number, the_plan.profile, mail is not None)
        self.outcome.expected.practical_lost = the_plan.lose
        self.b: Browser | None = None
        self._open_incoming: dict[str, int] = {}    # doc -> id, while its refused form is on screen
        self._draft_page: tuple[str, int] | None = None
        self._finished = False

    # -- pacing ----------------------------------------------------------------------------
    def mark(self, landmark: str) -> None:
        self.outcome.minutes.setdefault(landmark, round(self.pace.exam_time / 60, 2))

    async def wait(self, kind: str) -> None:
        self.pace.think(kind)
        delay = self.pace.due() - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- the whole exam ----------------------------------------------------------------------
    async def run(self) -> Outcome:
        loop = asyncio.get_running_loop()
        delay = self.pace.arrival - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self.outcome.started = loop.time()
        self.b = Browser(self.base, self.stats, keepalive=self.opts.keepalive)
        poller = None
        try:
            await self.login()
            poller = asyncio.create_task(self.poll_clock())
            await self.theory()
            await self.practical()
            await self.finish()
            self.outcome.completed = True
        except StepFailed as e:
            self.stats.error(e.step, f"{self.seat.number} ({self.plan.profile}): {e.message}")
            self.outcome.failed_step = e.step
        except Exception as e:  # noqa: BLE001  (a bug of the generator must not stop the others)
            self.stats.error("generator", f"{self.seat.number}: {type(e).__name__}: {e}")
            self.outcome.failed_step = "generator"
        finally:
            self._finished = True
            if poller is not None:
                poller.cancel()
                try:
                    await poller
                except (asyncio.CancelledError, Exception):  # noqa: BLE001
                    pass
            await self.b.close()
            self.outcome.ended = loop.time()
        return self.outcome

    async def poll_clock(self) -> None:
        """The countdown bar's resynchronisation (``portal.js``), every 30 s of wall time."""
        if self.opts.status_poll <= 0:
            return
        while not self._finished:
            await asyncio.sleep(self.opts.status_poll)
            if self._finished:
                return
            t0 = time.perf_counter()
            try:
                async with self.b.session.get(self.b.url("/thi/trang-thai"),
                                              headers={"Accept": "application/json"}) as r:
                    status, answer = r.status, await r.json(content_type=None)
                self.stats.requests += 1
                self.stats.add("clock poll", time.perf_counter() - t0)
                if status != 200 or "remaining" not in answer:
                    self.stats.error("clock poll", f"{self.seat.number}: {status} {answer}")
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                self.stats.add("clock poll", time.perf_counter() - t0)
                self.stats.error("clock poll", f"{self.seat.number}: {type(e).__name__}: {e}")

    # -- portal ------------------------------------------------------------------------------
    async def login(self) -> None:
        b = self.b
        await b.get("login", "/thi", expect=("Đăng nhập dự thi",))
        await self.wait("login_form")
        await b.post("login", "/thi", {"number": self.seat.number, "password": self.seat.password},
                     expect=("Bắt đầu làm bài",))
        await self.wait("rules")
        await b.post("start", "/thi/bat-dau", {}, expect=("Làm bài lý thuyết",))
        self.mark("start")

    async def theory(self) -> None:
        b = self.b
        await self.wait("glance")
        page = await b.get("theory page", "/thi/ly-thuyet", expect=("Phần thi lý thuyết",))
        questions: dict[int, dict] = {}
        for kind, qid, value in OPTION.findall(page.body):
            q = questions.setdefault(int(qid), {"multiple": kind == "checkbox", "options": []})
            q["options"].append(int(value))
        if not questions:
            raise StepFailed("theory page", "no question on the page")
        n = len(questions)
        share = self.rng.uniform(*RIGHT_SHARE)
        right = set(self.rng.sample(sorted(questions), round(share * n)))
        exp = self.outcome.expected
        exp.theory_questions = n
        for qid, q in questions.items():      # in the page's order
            correct = sorted(self.key[qid])
            wrong = [o for o in q["options"] if o not in correct]
            final = correct if qid in right or not wrong else [self.rng.choice(wrong)]
            exp.theory_right += final == correct
            clicks: list[list[int]] = []
            if q["multiple"]:
                for k in range(1, len(final) + 1):      # one click per ticked box
                    clicks.append(sorted(final[:k]))
            else:
                others = [o for o in q["options"] if o not in final]
                if others and self.rng.random() < CHANGE_MIND:
                    clicks.append([self.rng.choice(others)])
                clicks.append(final)
            for i, chosen in enumerate(clicks):
                await self.wait("question" if i == 0 else ("second_option" if q["multiple"] else "change_mind"))
                answer = await b.post_json("autosave", "/thi/ly-thuyet/tra-loi", {"question": qid, "chosen": chosen})
                if not answer.get("ok"):
                    raise StepFailed("autosave", f"question {qid}: {answer}")
        await self.wait("review")
        page = await b.get("theory review", "/thi/ly-thuyet/xem-lai", expect=("Xem lại bài lý thuyết",))
        m = ANSWERED.search(page.body)
        if not m or m.group(1) != m.group(2) or int(m.group(2)) != n:
            raise StepFailed("theory review", f"the review page shows {m.group(0) if m else 'no count'}, "
                                              f"{n} questions answered")
        await self.wait("confirm")
        await b.post("theory submit", "/thi/ly-thuyet/nop", {"confirm": "1"}, expect=("Đã nộp bài lý thuyết",))
        self.mark("theory submitted")

    async def practical(self) -> None:
        b = self.b
        await self.wait("glance")
        await b.get("practical", "/thi/thuc-hanh", expect=("Phần thi thực hành", "Đề bài"))
        await self.wait("glance")
        await b.get("task sheet", "/thi/thuc-hanh/mo/de-bai", expect=tuple(self.plan.reads))
        self.mark("task sheet")
        await self.wait("task_sheet")
        for step in self.plan.steps:
            if not isinstance(step, Forward):    # the draft's page is left for another one
                self._draft_page = None
            await getattr(self, "_" + type(step).__name__)(step)

    async def finish(self) -> None:
        b = self.b
        await self.wait("finish")
        await b.get("finish", "/thi/ket-thuc", expect=("Tôi xác nhận kết thúc bài thi",))
        await self.wait("confirm")
        await b.post("finish", "/thi/ket-thuc", {"confirm": "1"}, expect=("Bạn đã kết thúc bài thi",))
        self.mark("finished")

    # -- mail ---------------------------------------------------------------------------------
    async def _inbox(self):
        await self.wait("click")
        return await self.b.get("webmail", "/mail/", expect=("Hộp thư đến",))

    async def _open_mail(self, subject: str):
        page = await self._inbox()
        item = next((i for i, s in INBOX_ROW.findall(page.body) if _clean(s) == subject), None)
        if item is None:
            raise StepFailed("webmail", f"no mail «{subject}» in the INBOX")
        await self.wait("click")
        return item, await self.b.get("webmail", f"/mail/message/{item}", expect=(subject,))

    async def _SendMail(self, step: SendMail) -> None:
        if step.reply_to or step.forward:
            raise StepFailed("send mail", "replies and forwards are not played by the load generator")
        typing = "type_mail" if step.task == T_MAIL else "type_report"
        if self.mail is not None:
            return await self._send_by_client(step, typing)
        b = self.b
        files = []
        for seed, name in step.attach:
            _item, page = await self._open_mail(self.w.seed(seed).subject)
            link = next((href for href, label in ATTACHMENT.findall(page.body) if _clean(label) == name), None)
            if link is None:
                raise StepFailed("webmail", f"«{name}» is not attached to «{self.w.seed(seed).subject}»")
            await self.wait("read_mail")
            data, ctype = await b.download("webmail", link)
            files.append(("attachments", name, data, ctype or mimetypes.guess_type(name)[0]
                          or "application/octet-stream"))
        if not step.attach:
            await self._inbox()
        await self.wait("click")
        await b.get("webmail", "/mail/compose", expect=("Soạn thư",))
        await self.wait(typing)
        fields = [("to", ", ".join(step.to)), ("cc", ", ".join(step.cc)), ("bcc", ", ".join(step.bcc)),
                  ("subject", step.subject or ""), ("body", step.body.replace("\n", "\r\n")), ("send", "1")]
        if not files:   # a browser sends the empty file field too
            files = [("attachments", "", b"", "application/octet-stream")]
        await b.post_multipart("send mail", "/mail/compose", fields, files, expect=("Đã gửi thư.",))
        self.mark("first mail sent")

    async def _send_by_client(self, step: SendMail, typing: str) -> None:
        mc = self.mail
        files = []
        for seed, name in step.attach:
            await self.wait("read_mail")
            data, ctype = await mc.attachment(self.w.seed(seed).subject, name)
            files.append((name, data, ctype))
        await self.wait(typing)
        msg = mc.build(step.to, step.cc, step.bcc, step.subject or "", step.body, files)
        await mc.send(msg, list(step.to) + list(step.cc) + list(step.bcc))
        self.mark("first mail sent")
        await mc.file_sent_copy(msg)

    async def _ReadMail(self, step: ReadMail) -> None:
        raise StepFailed("webmail", "ReadMail steps (drills) are not played by the load generator")

    async def _OpenLink(self, step: OpenLink) -> None:
        item, page = await self._open_mail(self.w.seed(step.seed_mail).subject)
        link = next((h for h in MAIL_LINK.findall(page.body)
                     if urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(h)).query).get("u") == [step.url]),
                    None)
        if link is None:
            raise StepFailed("webmail", f"no link to {step.url} in mail {item}")
        await self.wait("read_mail")
        await self.b.get("webmail", html.unescape(link), expect=("Không mở được trang này",))

    # -- documents ------------------------------------------------------------------------------
    async def _Direct(self, step: Direct) -> None:
        b, w = self.b, self.w
        doc_id = self._open_incoming.pop(step.doc, None)
        if doc_id is None:
            await self.wait("click")
            page = await b.get("documents", "/van-ban/", expect=("Văn bản đến",))
            symbol = w.incoming_symbol(step.doc)
            doc_id = next((int(i) for i, row in DOC_ROW.findall(page.body) if symbol in html.unescape(row)), None)
            if doc_id is None:
                raise StepFailed("documents", f"no incoming document {symbol} in the list")
            await self.wait("click")
            page = await b.get("documents", f"/van-ban/den/{doc_id}", expect=("Bút phê và chuyển xử lý",))
            await self.wait("read_document")
        else:
            page = b.page
        keys = {_clean(label): key for key, label in TREE_LABEL.findall(page.body)}
        fields = {f"role_{k}": "" for k in keys.values()}
        fields.update({f"deadline_{k}": "" for k in DATE_FIELD.findall(page.body)})
        for target, role, deadline in step.rows:
            key = keys.get(w.label(target))
            if key is None:
                raise StepFailed("direct", f"no row «{w.label(target)}» in the forwarding form")
            fields[f"role_{key}"] = role
            fields[f"deadline_{key}"] = deadline.isoformat() if deadline else ""
        await self.wait("type_directive")
        form = [("directive", step.directive.replace("\n", "\r\n"))] + list(fields.items()) + [("forward", "")]
        if step.refused:
            await b.post("direct", f"/van-ban/den/{doc_id}/chuyen-xu-ly", form, status=(400, 409, 422),
                         expect=(step.refused,))
            self._open_incoming[step.doc] = doc_id
            return
        await b.post("direct", f"/van-ban/den/{doc_id}/chuyen-xu-ly", form, expect=("Đã bút phê và chuyển xử lý",))
        self.mark("directed")

    async def _open_draft(self, draft: str, box: str) -> int:
        if self._draft_page and self._draft_page[0] == draft:
            return self._draft_page[1]
        b = self.b
        await self.wait("click")
        path = "/van-ban/di" + (f"?box={box}" if box else "")
        page = await b.get("documents", path, expect=("Dự thảo chờ ký" if box == "cho_ky" else "Văn bản đi",))
        summary = self.w.draft_summary(draft)
        doc_id = next((int(i) for i, row in DOC_ROW.findall(page.body)
                       if f">{summary}</a>" in html.unescape(row)), None)
        if doc_id is None:
            raise StepFailed("documents", f"no draft «{summary}» in {path}")
        await self.wait("click")
        await b.get("documents", f"/van-ban/di/{doc_id}", expect=(summary,))
        self._draft_page = (draft, doc_id)
        return doc_id

    async def _Sign(self, step: Sign) -> None:
        b = self.b
        doc_id = await self._open_draft(step.draft, "cho_ky")
        await self.wait("read_document")
        certs = {_clean(name): int(i) for i, name in CERT.findall(b.page.body)}
        token = certs.get(self.w.name(step.cert_owner))
        if token is None:
            raise StepFailed("sign", f"no certificate of {self.w.name(step.cert_owner)} in the dialog ({list(certs)})")
        await self.wait("pin")
        await b.post("sign", f"/van-ban/di/{doc_id}/ky-so", {"token_id": str(token), "pin": step.pin, "sign": ""},
                     expect=("Đã ký số dự thảo", "Lãnh đạo đã ký số"))
        self.mark("signed")

    async def _Forward(self, step: Forward) -> None:
        b = self.b
        doc_id = await self._open_draft(step.draft, "")
        await self.wait("forward")
        page = await b.post("forward", f"/van-ban/di/{doc_id}/chuyen-van-thu", {"note": "", "forward": ""},
                            expect=("Đã chuyển văn thư",))
        forwarded = time.perf_counter()
        self.mark("forwarded")
        signs = [s for s in self.plan.steps if isinstance(s, Sign) and s.draft == step.draft]
        released_expected = bool(signs) and signs[-1].cert_owner == self.w.candidate
        await self._release(doc_id, released_expected, forwarded, page)

    def _decision(self, doc_id: int, page, released_expected: bool, forwarded: float) -> bool:
        """Whether the draft's page shows the clerk's decision (and that it is the expected one)."""
        m = DOC_STATUS.search(page.body)
        status = html.unescape(m.group(1)).strip() if m else "?"
        refused = REFUSED in page.text
        if 'id="clerk-failed"' in page.body:
            raise StepFailed("status", f"draft {doc_id} «{status}»: {page.said()}")
        if status not in RELEASED and not refused:
            if time.perf_counter() > forwarded + self.opts.release_timeout:
                raise StepFailed("status", f"draft {doc_id} still «{status}» {self.opts.release_timeout:.0f} s "
                                           "after «Chuyển văn thư phát hành»")
            return False
        self.stats.release.append(time.perf_counter() - forwarded)
        if released_expected and status not in RELEASED:
            raise StepFailed("status", f"draft {doc_id}: the clerk refused it ({page.said()}); "
                                       "the plan expects the release")
        if not released_expected and not refused:
            raise StepFailed("status", f"draft {doc_id} was released ({status}); the plan expects the "
                                       "clerk's refusal")
        return True

    async def _release(self, doc_id: int, released_expected: bool, forwarded: float, page) -> None:
        """The draft's page until the automatic clerk's decision shows (the release, or her
        refusal when the plan signs with someone else's certificate). While she works the page
        refreshes itself (``<meta http-equiv="refresh">``) and the browser follows it; a page
        without it the candidate reloads after a while, then every few seconds."""
        if self._decision(doc_id, page, released_expected, forwarded):
            return
        refresh = REFRESH.search(page.body)
        if refresh:
            await asyncio.sleep(float(refresh.group(1)))
        else:
            await self.wait("check_release")
        while True:
            page = await self.b.get("status", f"/van-ban/di/{doc_id}")
            if self._decision(doc_id, page, released_expected, forwarded):
                return
            refresh = REFRESH.search(page.body)
            await asyncio.sleep(float(refresh.group(1)) if refresh else self.opts.release_poll)

    async def _ViewTracking(self, step: ViewTracking) -> None:
        b = self.b
        self._draft_page = None
        await self.wait("click")
        page = await b.get("tracking", "/van-ban/theo-doi", expect=("Theo dõi tình hình xử lý văn bản",))
        if step.q or step.only_overdue:
            await self.wait("read_tracking")
            query = urllib.parse.urlencode({"q": step.q, **({"qua_han": "1"} if step.only_overdue else {})})
            page = await b.get("tracking", f"/van-ban/theo-doi?{query}", expect=("Bỏ lọc",) + tuple(step.expect))
        else:
            missing = [t for t in step.expect if t not in page.text]
            if missing:
                raise StepFailed("tracking", f"the tracking page does not show «{missing[0]}»")
        await self.wait("read_tracking")
