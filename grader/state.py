"""The sandbox as the grader sees it: read-only, no clock, no network.

Everything comes through the tool packages' read APIs and the scenario instance (which
scenario, seed and values, where the initial state's objects went). Reads are cached for
one grading, so several criteria looking at the same mail or PDF cost one read."""
from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from mailserver import api as mail_api
from sandbox.clock import VN_TZ
from sandbox.errors import NotFound
from scenarios.build import from_json, instance_of


class SandboxState:
    def __init__(self, db, blobs, sandbox_id: int):
        self.db, self.blobs, self.sandbox_id = db, blobs, sandbox_id
        with db.read() as s:
            inst = instance_of(s, sandbox_id)
            if inst is None:
                raise NotFound("Sandbox này không được tạo từ một đề thi nên không chấm được.",
                               f"sandbox {sandbox_id} has no scenario instance")
            self.scenario_id = inst.scenario_id
            self.seed = inst.seed
            self.values: dict[str, Any] = from_json(inst.values)
            self.start: dt.datetime = inst.start
            self.candidate = inst.candidate
            self.candidate_address = inst.candidate_address
            self.anchors: dict = inst.anchors
            self.rubric_version = inst.rubric_version
            self.practice = inst.practice
        self._cache: dict[Any, Any] = {}

    @property
    def start_date(self) -> dt.date:
        start = self.start if self.start.tzinfo else self.start.replace(tzinfo=dt.timezone.utc)
        return start.astimezone(VN_TZ).date()

    # -- mail ------------------------------------------------------------------------------
    def sent_mail(self) -> list:
        if "sent" not in self._cache:
            with self.db.read() as s:
                acc = mail_api.account_by_address(s, self.sandbox_id, self.candidate_address)
            if acc is None:
                self._cache["sent"] = []
            else:
                with mail_api.open_view(self.db, acc) as view:
                    self._cache["sent"] = view.sent(self.blobs)
        return self._cache["sent"]

    def seed_mail(self, seed_id: str) -> dict:
        try:
            return self.anchors["mail"][seed_id]
        except KeyError:
            raise NotFound(f"Đề không có thư ban đầu '{seed_id}'.", f"no seed mail {seed_id}") from None

    def seed_message_id(self, seed_id: str) -> str:
        return self.seed_mail(seed_id)["message_id"]

    def seed_attachment_sha256(self, seed_id: str, name: str | None) -> str | None:
        atts = self.seed_mail(seed_id)["attachments"]
        if name is None:
            return next(iter(atts.values()), None) if len(atts) == 1 else None
        return atts.get(name)

    @cached_property
    def cache(self) -> dict:
        return self._cache
