"""The load generator's clients: a browser-like HTTP client on aiohttp (one cookie jar and
its own connections per candidate, the CSRF token of the last page, a cache of sub-resources
by URL as a browser keeps it), a mail client (aiosmtplib for SMTP submission, IMAPClient for
IMAP, the latter in a small thread pool since it blocks), and the figures they record.

A *click* is one user action: the request, its redirects, and the sub-resources the page
loads that the browser does not have yet (style sheets, scripts, images such as a
document's preview, the frame of an HTML mail), fetched concurrently. Its time is what the
candidate waits for: until the page is complete. Every click is checked: the final status
code and a Vietnamese text the page shows on success (a flash message, a heading, a status);
a failure raises :class:`StepFailed` with what the page said instead."""
from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass, field

import aiohttp

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBRESOURCE = re.compile(r'<(?:link rel="stylesheet" href|script src|img[^>]*? src|iframe[^>]*? src)="([^"]+)"')
ALERT = re.compile(r'<[^>]+(?:role="alert"|id="form-error")[^>]*>(.*?)</', re.S)
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
MAX_AGE = re.compile(r"max-age=(\d+)")
KEEP_ERRORS = 5


class StepFailed(Exception):
    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step, self.message = step, message


@dataclass
class Stats:
    """Click times by step, errors by step (count and the first few messages), counters."""
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)
    requests: int = 0
    subrequests: int = 0
    not_modified: int = 0       # sub-resources revalidated (304)
    #: wall seconds from «Chuyển văn thư phát hành» to the clerk's decision on the draft's page
    release: list[float] = field(default_factory=list)

    def add(self, step: str, seconds: float) -> None:
        self.times.setdefault(step, []).append(seconds)

    def error(self, step: str, message: str) -> None:
        self.errors[step] = self.errors.get(step, 0) + 1
        kept = self.messages.setdefault(step, [])
        if len(kept) < KEEP_ERRORS:
            kept.append(message[:600])


@dataclass
class Page:
    url: str
    status: int
    body: str
    _text: str | None = None

    @property
    def text(self) -> str:
        """The page with HTML entities decoded (what the candidate reads)."""
        if self._text is None:
            self._text = html.unescape(self.body)
        return self._text

    def said(self) -> str:
        """What the page says instead of success: its alerts, else its title."""
        alerts = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", a)).split()) for a in ALERT.findall(self.body)]
        alerts = [a for a in alerts if a]
        if alerts:
            return " | ".join(alerts[:3])
        m = TITLE.search(self.body)
        return " ".join(html.unescape(m.group(1)).split()) if m else self.body[:200]


class Browser:
    """One candidate's browser."""

    def __init__(self, base: str | list[str], stats: Stats, *, keepalive: float = 15.0, timeout: float = 120.0):
        #: one server, or several serving one installation (``--two-data-folders``): then each
        #: request goes to the next in turn, as a balancer without stickiness would send them
        self.bases = [base] if isinstance(base, str) else list(base)
        self.base = self.bases[0]
        self.stats = stats
        self._turn = 0
        connector = (aiohttp.TCPConnector(limit=6, keepalive_timeout=keepalive) if keepalive > 0
                     else aiohttp.TCPConnector(limit=6, force_close=True))
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout), headers={"Accept-Language": "vi-VN,vi;q=0.9"})
        self.token = ""
        #: sub-resource URL -> (loop time it is fresh until, ETag, Last-Modified)
        self.cache: dict[str, tuple[float, str | None, str | None]] = {}
        self.page: Page | None = None

    async def close(self) -> None:
        await self.session.close()

    def url(self, path: str) -> str:
        """Where a request for ``path`` goes: the next server in turn."""
        base = self.bases[self._turn % len(self.bases)]
        self._turn += 1
        return base + path

    async def click(self, step: str, method: str, path: str, *, data=None, json=None, expect: tuple[str, ...] = (),
                    status: int | tuple[int, ...] = 200, subresources: bool = True, headers=None) -> Page:
        """One click; records its time under ``step``; raises StepFailed when the page is not
        the expected one."""
        t0 = time.perf_counter()
        try:
            async with self.session.request(method, self.url(path), data=data, json=json,
                                            headers=headers) as r:
                body = await r.text(errors="replace")
                page = Page(str(r.url), r.status, body)
            self.stats.requests += 1
            if subresources and "text/html" in r.headers.get("Content-Type", ""):
                await self._subresources(body)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            self.stats.add(step, time.perf_counter() - t0)
            raise StepFailed(step, f"{method} {path}: {type(e).__name__}: {e}") from None
        self.stats.add(step, time.perf_counter() - t0)
        m = CSRF.search(body)
        if m:
            self.token = m.group(1)
        wanted = (status,) if isinstance(status, int) else status
        if page.status not in wanted:
            raise StepFailed(step, f"{method} {path} → {page.status} {page.url}: {page.said()}")
        missing = [t for t in expect if t not in page.body and t not in page.text]
        if missing:
            raise StepFailed(step, f"{method} {path} → {page.url}: «{missing[0]}» not shown; the page says: "
                                   f"{page.said()}")
        self.page = page
        return page

    async def get(self, step: str, path: str, **kw) -> Page:
        return await self.click(step, "GET", path, **kw)

    async def post(self, step: str, path: str, form: dict | list | None = None, **kw) -> Page:
        """A form of the page: urlencoded fields plus the page's CSRF token."""
        fields = list(form.items()) if isinstance(form, dict) else list(form or [])
        return await self.click(step, "POST", path, data=fields + [("csrf_token", self.token)], **kw)

    async def post_multipart(self, step: str, path: str, fields: list[tuple[str, str]],
                             files: list[tuple[str, str, bytes, str]], **kw) -> Page:
        """A multipart form (``files``: (field, file name, bytes, content type))."""
        form = aiohttp.FormData()
        for name, value in fields + [("csrf_token", self.token)]:
            form.add_field(name, value)
        for name, filename, data, ctype in files:
            form.add_field(name, data, filename=filename, content_type=ctype)
        return await self.click(step, "POST", path, data=form, **kw)

    async def post_json(self, step: str, path: str, payload: dict, **kw) -> dict:
        """What ``portal.js`` posts (the CSRF token in the header); returns the JSON answer."""
        t0 = time.perf_counter()
        try:
            async with self.session.post(self.url(path), json=payload,
                                         headers={"X-CSRFToken": self.token, "Accept": "application/json"}) as r:
                status = r.status
                answer = await r.json(content_type=None)
            self.stats.requests += 1
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
            self.stats.add(step, time.perf_counter() - t0)
            raise StepFailed(step, f"POST {path}: {type(e).__name__}: {e}") from None
        self.stats.add(step, time.perf_counter() - t0)
        if status != kw.get("status", 200):
            raise StepFailed(step, f"POST {path} → {status}: {answer}")
        return answer

    async def download(self, step: str, path: str) -> tuple[bytes, str]:
        """A file link (an attachment): its bytes and content type."""
        t0 = time.perf_counter()
        try:
            async with self.session.get(self.url(path)) as r:
                data = await r.read()
                status, ctype = r.status, r.headers.get("Content-Type", "application/octet-stream")
            self.stats.requests += 1
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            self.stats.add(step, time.perf_counter() - t0)
            raise StepFailed(step, f"GET {path}: {type(e).__name__}: {e}") from None
        self.stats.add(step, time.perf_counter() - t0)
        if status != 200:
            raise StepFailed(step, f"GET {path} → {status}")
        return data, ctype.split(";")[0].strip()

    async def _subresources(self, body: str) -> None:
        now = asyncio.get_running_loop().time()
        wanted = []
        for url in dict.fromkeys(html.unescape(u) for u in SUBRESOURCE.findall(body)):
            if url.startswith(("http:", "https:", "data:", "//")):
                continue
            entry = self.cache.get(url)
            if entry is not None and entry[0] > now:
                continue
            wanted.append((url, entry))
        if wanted:
            await asyncio.gather(*(self._fetch(u, entry, now) for u, entry in wanted))

    async def _fetch(self, url: str, entry, now: float) -> None:
        """A sub-resource as a browser's cache gets it: fresh → not asked; stale or
        ``no-cache`` with a validator → a conditional request (304 keeps it); ``no-store`` →
        fetched every time."""
        headers = {}
        if entry is not None:
            _expires, etag, modified = entry
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
        async with self.session.get(self.url(url), headers=headers) as r:
            await r.read()
            cc = r.headers.get("Cache-Control", "")
            etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
            status = r.status
        self.stats.subrequests += 1
        self.stats.not_modified += status == 304
        if status == 304 and entry is not None:
            etag, modified = etag or entry[1], modified or entry[2]
        if "no-store" in cc:
            self.cache.pop(url, None)
            return
        m = MAX_AGE.search(cc)
        if "no-cache" in cc:
            fresh = now
        elif m:
            fresh = now + int(m.group(1))
        elif etag or modified:
            fresh = now + 300        # heuristic freshness of a validated file without Cache-Control
        else:
            fresh = now
        self.cache[url] = (fresh, etag, modified)
