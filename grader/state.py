"""The sandbox as the grader sees it: read-only, no clock, no network.

Everything comes through the tool packages' read APIs and the scenario instance (which
scenario, seed and values, where the initial state's objects went). Reads are cached for
one grading, so several criteria looking at the same mail or PDF cost one read."""
from __future__ import annotations

import datetime as dt
from typing import Any

from mailserver import api as mail_api
from sandbox.kernel.clock import VN_TZ
from sandbox.kernel.errors import NotFound, SandboxError
from scenarios.build import from_json, instance_of


class GraderError(SandboxError):
    """The rubric names something this sandbox does not have (a document, a draft, a seed
    mail or its file, a unit, a person, a mail of ``rubric.mails``): the exam's fault, never
    the candidate's. The engine marks the criterion ``"verdict": "error"`` and the report not
    gradable instead of scoring 0 with the candidate-facing fail message."""

    status = 500


def _unresolved(what: str, name: str, detail: str) -> GraderError:
    return GraderError(f"Đề thi tham chiếu {what} '{name}' không có trong sandbox", detail)


class SandboxState:
    """``runtime`` gives the database, the blob store and the installation's PKI (trust
    anchors); its clock is never read."""

    def __init__(self, runtime, sandbox_id: int):
        self.runtime, self.sandbox_id = runtime, sandbox_id
        self.db, self.blobs = runtime.db, runtime.blobs
        db = self.db
        with db.read() as s:
            inst = instance_of(s, sandbox_id)
            if inst is None:
                raise NotFound("Sandbox này không được tạo từ một đề thi nên không chấm được.",
                               f"sandbox {sandbox_id} has no scenario instance")
            self.scenario_id = inst.scenario_id
            self.scenario_ref = inst.source or inst.scenario_id   # what scenarios.library.load takes
            self.seed = inst.seed
            self.values: dict[str, Any] = from_json(inst.values)
            self.start: dt.datetime = inst.start
            self.candidate = inst.candidate
            self.candidate_address = inst.candidate_address
            self.anchors: dict = inst.anchors
            self.rubric_version = inst.rubric_version
            self.practice = inst.practice
        self._cache: dict[Any, Any] = {}
        #: set by the engine (:meth:`use_rubric`) before grading
        self.scenario = None
        self.context: dict = {}

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

    def opens(self) -> list:
        """Links the candidate clicked and attachments they downloaded in the webmail."""
        if "opens" not in self._cache:
            with self.db.read() as s:
                acc = mail_api.account_by_address(s, self.sandbox_id, self.candidate_address)
            if acc is None:
                self._cache["opens"] = []
            else:
                with mail_api.open_view(self.db, acc) as view:
                    self._cache["opens"] = [(o.message_id, o.kind, o.target, o.at) for o in view.opens()]
        return self._cache["opens"]

    def seed_mail(self, seed_id: str) -> dict:
        try:
            return self.anchors["mail"][seed_id]
        except KeyError:
            raise _unresolved("thư ban đầu", seed_id, f"no seed mail {seed_id}") from None

    def seed_message_id(self, seed_id: str) -> str:
        return self.seed_mail(seed_id)["message_id"]

    def seed_attachment_sha256(self, seed_id: str, name: str | None) -> str | None:
        atts = self.seed_mail(seed_id)["attachments"]
        if name is None:
            if len(atts) != 1:
                raise GraderError(f"Đề thi tham chiếu tệp đính kèm của thư ban đầu '{seed_id}' mà không nêu tên tệp, "
                                  f"trong khi thư có {len(atts)} tệp", f"seed mail {seed_id}: {len(atts)} attachments")
            return next(iter(atts.values()))
        if name not in atts:
            raise GraderError(f"Đề thi tham chiếu tệp đính kèm '{name}' của thư ban đầu '{seed_id}' không có "
                              "trong sandbox", f"seed mail {seed_id} has no attachment {name!r}")
        return atts[name]

    # -- document workflow ----------------------------------------------------------------
    def anchor(self, kind: str, seed_id: str) -> dict:
        try:
            return self.anchors[kind][seed_id]
        except KeyError:
            what = {"incoming": "văn bản đến", "drafts": "dự thảo", "mail": "thư ban đầu", "units": "đơn vị",
                    "people": "người"}.get(kind, kind)
            raise _unresolved(what, seed_id, f"no {kind} {seed_id}") from None

    def target(self, seed_id: str) -> tuple[str, int]:
        """("unit" | "person", docflow id) of a unit or person of the scenario's world."""
        if seed_id in self.anchors.get("units", {}):
            return "unit", self.anchors["units"][seed_id]
        if seed_id in self.anchors.get("people", {}):
            return "person", self.anchors["people"][seed_id]
        raise _unresolved("đơn vị hay người", seed_id, f"no target {seed_id}")

    def incoming(self, seed_id: str):
        key = ("in", seed_id)
        if key not in self._cache:
            from docflow import api as docflow_api
            doc_id = self.anchor("incoming", seed_id)["incoming_id"]
            try:
                self._cache[key] = docflow_api.incoming_doc(self.runtime, self.sandbox_id, None, doc_id)
            except NotFound as exc:     # the instance names a document the sandbox does not hold
                raise _unresolved("văn bản đến", seed_id, f"incoming {seed_id} (id {doc_id}): {exc.detail}") from None
        return self._cache[key]

    def outgoing(self, seed_id: str):
        key = ("out", seed_id)
        if key not in self._cache:
            from docflow import api as docflow_api
            doc_id = self.anchor("drafts", seed_id)["outgoing_id"]
            try:
                self._cache[key] = docflow_api.outgoing_doc(self.runtime, self.sandbox_id, None, doc_id)
            except NotFound as exc:
                raise _unresolved("dự thảo", seed_id, f"draft {seed_id} (id {doc_id}): {exc.detail}") from None
        return self._cache[key]

    def verify(self, pdf_blob: str):
        """The verifier's report of a stored PDF (trusting the installation's test root; the
        certificates named after the sandbox's people).

        Several criteria judge the same document: it is read, parsed and verified once per
        grading. The report is kept under the SHA-256 of the bytes actually read (not the
        blob's name), so bytes that changed since (a file altered in the store) are verified
        afresh; the trust anchors and the people are those of this sandbox and installation,
        fixed for the grading."""
        import hashlib

        data = self.blobs.get(pdf_blob)
        key = ("verify", hashlib.sha256(data).hexdigest())
        if key not in self._cache:
            from signing import api as signing_api
            pki = signing_api.pki_for(self.runtime)
            if "people" not in self._cache:
                with self.db.read() as s:
                    self._cache["people"] = signing_api.people_of(s, self.sandbox_id)
            self._cache[key] = signing_api.verify_pdf(data, validation_context=pki.validation_context,
                                                      people=self._cache["people"])
        return self._cache[key]

    def own_fingerprint(self, address: str) -> str | None:
        from signing import api as signing_api
        with self.db.read() as s:
            return signing_api.own_personal_fingerprint(s, self.sandbox_id, address)

    # -- what the rubric says the candidate's mails should look like ------------------------
    def use_rubric(self, scenario, ctx: dict) -> None:
        """Called by the engine before grading: the rubric's mail intents (rendered lazily
        with the candidate's values) and the world's entities (unit names for answers)."""
        self.scenario, self.context = scenario, ctx
        self._cache.pop("intents", None)
        self._cache.pop("assigned", None)

    def intents(self) -> dict:
        if "intents" not in self._cache:
            from scenarios import templates

            from .intents import Intent, as_list
            out = {}
            for iid, spec in (self.scenario.rubric.mails if self.scenario is not None else {}).items():
                r = templates.render_value(spec.model_dump(), self.context)
                atts = tuple((a["name"], self.seed_attachment_sha256(a["seed_mail"], a["name"]))
                             for a in r["attachments"])
                out[iid] = Intent(iid, tuple(a.lower() for a in as_list(r["to"])),
                                  tuple(a.lower() for a in as_list(r["cc"])),
                                  tuple(a.lower() for a in as_list(r["bcc"])),
                                  r["subject"], tuple(as_list(r["phrases"])), tuple(as_list(r["keywords"])),
                                  atts, self.seed_message_id(r["reply_to"]) if r["reply_to"] else None)
            self._cache["intents"] = out
        return self._cache["intents"]

    def intent(self, intent_id: str):
        intents = self.intents()
        if intent_id not in intents:
            raise GraderError(f"Đề thi tham chiếu thư cần gửi '{intent_id}' không có trong rubric.mails",
                              f"no mail intent {intent_id}")
        return intents[intent_id]

    def _assigned(self, intent_id: str) -> list:
        """(relevance, mail) of the sent mails that belong to the intent, oldest first."""
        from .intents import assign
        self.intent(intent_id)
        if "assigned" not in self._cache:
            self._cache["assigned"] = assign(self.sent_mail(), self.intents())
        return self._cache["assigned"][intent_id]

    def mails_for(self, intent_id: str) -> list:
        """The candidate's sent mails that belong to the intent (oldest first)."""
        return [m for _s, m in self._assigned(intent_id)]

    def meant_mail(self, intent_id: str):
        """The mail the candidate meant for the intent, or None (see :mod:`grader.intents`)."""
        from .intents import meant
        return meant(self._assigned(intent_id))

    def unit_names(self) -> dict[str, dict]:
        """The world's units (name, code) by scenario id."""
        return dict(self.context.get("units", {}))
