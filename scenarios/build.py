"""Build a sandbox from a scenario and a seed: the world, the initial state, the candidate's
logins. Deterministic: the same scenario, seed and start give the same world and task sheet
(passwords derive from the installation secret and the sandbox name, so a forgotten one can
be printed again).

Every change goes through the tool packages' public APIs (and so through the dispatcher);
the last action, ``scenario.instantiate``, records which scenario, seed and values the
sandbox has and where the initial state's objects went, for the grader."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailserver import api as mail_api
from sandbox.kernel.actions import ActionContext, action, id_kinds
from sandbox.kernel.clock import VN_TZ, as_utc
from sandbox.kernel.errors import SandboxError
from sandbox.kernel.models import Sandbox
from sandbox.kernel.sandboxes import find_sandbox, get_or_create_sandbox
from signing import api as signing_api

from . import templates
from .library import LIBRARY, Loaded, load
from .models import ScenarioInstance
from .build_helpers import attachment_bytes
from .variants import context, draw

OUTGOING = SMTP.clone(max_line_length=998)  # see mailserver.webmail.compose.OUTGOING
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no l/1/i/o/0: read off a paper slip


def derive_password(secret: str, sandbox_name: str, who: str, length: int = 10) -> str:
    digest = hmac.new(secret.encode(), f"pw:{sandbox_name}:{who}".encode(), hashlib.sha256).digest()
    return "".join(PASSWORD_ALPHABET[b % len(PASSWORD_ALPHABET)] for b in digest[:length])


# --- JSON form of variant values (dates survive the round trip) ------------------------------
def to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def _person_address(value: str, people: dict) -> tuple[str, str]:
    if "@" in value:
        return "", value
    p = people[value]
    return p.name, p.email.lower()


# --- the build ------------------------------------------------------------------------------
@dataclass
class Login:
    person: str
    name: str
    title: str
    address: str
    password: str
    pin: str | None


@dataclass
class BuildResult:
    sandbox_id: int
    name: str
    scenario_id: str
    seed: int
    values: dict[str, Any]
    candidate: Login
    task_sheet: list[tuple[str, str]] = field(default_factory=list)


def build(runtime, loaded: Loaded, seed: int, name: str, *, start: dt.datetime | None = None,
          practice: bool = False, actor: str = "system") -> BuildResult:
    """Build the sandbox ``name``: every action of the build is logged on its own, and all of
    them commit together (``Database.batch``): a failed build leaves nothing behind."""
    with runtime.db.batch():
        return _build(runtime, loaded, seed, name, start=start, practice=practice, actor=actor)


def _build(runtime, loaded: Loaded, seed: int, name: str, *, start: dt.datetime | None,
           practice: bool, actor: str) -> BuildResult:
    sc = loaded.scenario
    _refuse_second_instance(runtime, name)
    start = _start_time(runtime, sc, start)
    start_date = start.astimezone(VN_TZ).date()
    values = draw(loaded.id, sc, seed, start_date)
    ctx = context(sc, values, start_date)

    sandbox_id = get_or_create_sandbox(runtime.db, runtime.clock, name)
    people = {p.id: p for p in sc.world.people}
    cand = people[sc.world.candidate]
    logins = _mail_accounts(runtime, sc, sandbox_id, name, cand.id, actor)
    _tokens(runtime, sc, sandbox_id, name, people, actor)

    anchors: dict[str, dict] = {"mail": {}, "incoming": {}, "drafts": {}}
    for i, m in enumerate(sc.initial.mail):
        seed_id = m.id or f"mail{i + 1}"
        anchors["mail"][seed_id] = _seed_mail(runtime, loaded, sandbox_id, m, seed_id, ctx, start, people, actor)

    from . import world_docflow
    world_docflow.build(runtime, sandbox_id, loaded, ctx, start, anchors, name=name, actor=actor)

    sheet = [(templates.render(t.title, ctx), templates.render(t.text, ctx)) for t in sc.tasks]
    runtime.dispatcher.dispatch(sandbox_id, actor, "scenario.instantiate", {
        "scenario_id": loaded.id, "source": "" if loaded.path.parent == LIBRARY else str(loaded.path.resolve()),
        "title": sc.title, "seed": seed, "values": to_json(values),
        "start": start.isoformat(), "candidate": cand.id, "candidate_address": cand.email.lower(),
        "anchors": anchors, "rubric_version": sc.rubric.version, "practice": practice})
    return BuildResult(sandbox_id, name, loaded.id, seed, values, logins[cand.id], sheet)


def _refuse_second_instance(runtime, name: str) -> None:
    """A sandbox is built from one scenario once (a practice restart builds a new one)."""
    with runtime.db.read() as s:
        existing = find_sandbox(s, name)
        if existing is not None and s.scalar(select(ScenarioInstance.id).where(
                ScenarioInstance.sandbox_id == existing.id)) is not None:
            raise SandboxError(f"Sandbox {name} đã được tạo từ một đề; hãy chọn tên khác.",
                               f"sandbox {name} already instantiated")


def _start_time(runtime, sc, start: dt.datetime | None) -> dt.datetime:
    """The in-world start (UTC): the one asked for, the scenario's, or now; a naive time is Vietnam time."""
    start = (start or sc.world.start or runtime.clock.now())
    return as_utc(start if start.tzinfo else start.replace(tzinfo=VN_TZ))


def _mail_accounts(runtime, sc, sandbox_id: int, name: str, candidate: str, actor: str) -> dict[str, Login]:
    """Every person with a mailbox, then the organisations' and units' boxes; the people's
    logins (only the candidate's has a password)."""
    d = runtime.dispatcher
    logins: dict[str, Login] = {}
    boxes: dict[str, str] = {}
    # Only the candidate logs in: the other people's mailboxes (NPCs) get no password, which
    # also keeps a shift's provisioning fast (one Argon2 hash per sandbox).
    for p in sc.world.people:
        if p.mailbox:
            pw = derive_password(runtime.secret, name, p.id) if p.id == candidate else None
            mail_api.add_account(d, runtime.secret, sandbox_id, p.email, pw, p.name, actor=actor)
            boxes[p.email.lower()] = p.name
            logins[p.id] = Login(p.id, p.name, p.title, p.email.lower(), pw or "", p.pin if p.certificate else None)
    for o in sc.world.organisations:
        extra = [(o.email, o.name)] + [(u.email, f"{u.name} - {o.name}") for u in o.units]
        for addr, display in extra:
            if addr and addr.lower() not in boxes:
                mail_api.add_account(d, runtime.secret, sandbox_id, addr, None, display, actor=actor)
                boxes[addr.lower()] = display
    return logins


def _tokens(runtime, sc, sandbox_id: int, name: str, people: dict, actor: str) -> None:
    """Certificates on tokens: each certified person's own, the extra tokens (someone else's
    certificate in a holder's list), then the revocations."""
    d = runtime.dispatcher
    pki = signing_api.pki_for(runtime)
    orgs = {o.id: o for o in sc.world.organisations}
    units = {u.id: u for o in sc.world.organisations for u in o.units}
    bundles = {}
    for p in sc.world.people:
        if p.certificate:
            unit = units[p.unit].name if p.unit else None
            bundles[p.id] = pki.issue_personal(p.name, title=p.title, unit=unit, organisation=orgs[p.org].name,
                                               email=p.email.lower(), locality=orgs[p.org].place,
                                               serial_salt=name)
            signing_api.provision(d, sandbox_id, p.email.lower(), bundles[p.id], p.pin,
                                  label=f"Chứng thư số của {p.name}", actor=actor)
    for t in sc.world.extra_tokens:
        owner = people[t.certificate_of]
        signing_api.provision(d, sandbox_id, people[t.holder].email.lower(), bundles[owner.id], owner.pin,
                              label=f"Chứng thư số của {owner.name}", owner=owner.email.lower(), actor=actor)
    if sc.world.revoked:
        with _revocations_locked(runtime):
            for pid in sc.world.revoked:
                pki.revoke(bundles[pid])


@contextmanager
def _revocations_locked(runtime):
    """Revocations are kept in a file of the data folder (``signing.sandbox_pki``), read,
    changed and written back: sandboxes built by several processes at once (parallel
    provisioning) take turns here, so no process writes over another's revocation."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: one process builds
        yield
        return
    folder = Path(runtime.settings.data_dir) / "signing" / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".revoked.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _address_header(parties) -> str:
    """An address header from (name, address) pairs; a party without a name is its bare address."""
    return ", ".join(formataddr(t) if t[0] else t[1] for t in parties)


def _seed_message(loaded: Loaded, m, seed_id: str, ctx: dict, when: dt.datetime, people: dict
                  ) -> tuple[bytes, str, str, str, dict[str, str]]:
    """The initial mail ``m`` as a message dated ``when``: (its bytes, its Message-ID, made
    from the scenario and the seed mail's id, the sender's address, the subject, its files'
    SHA-256 by name). The bytes are made once per process for the same rendered message:
    every sandbox of a shift whose variants leave this mail alike gets the same bytes (one
    blob), instead of rendering the MIME message again for each candidate."""
    sender_name, sender = _person_address(templates.render(m.sender, ctx), people)
    tos = [_person_address(templates.render(x, ctx), people) for x in m.to] or \
          [(people[m.mailbox].name, people[m.mailbox].email.lower())]
    ccs = tuple(_person_address(templates.render(x, ctx), people) for x in m.cc)
    subject = templates.render(m.subject, ctx)
    mid = f"<{loaded.id}.{seed_id}@{sender.split('@')[-1]}>"
    body = templates.render(m.body, ctx)
    files, parts = {}, []
    for att in m.attachments:
        fname, ctype, data = attachment_bytes(att, loaded.scenario, ctx)
        files[fname] = hashlib.sha256(data).hexdigest()
        parts.append((fname, ctype, data))
    key = (sender_name, sender, tuple(tos), ccs, subject, when, mid, body, bool(m.html),
           tuple((f, c, files[f]) for f, c, _ in parts))
    raw = _SEED_BYTES.get(key)
    if raw is None:
        raw = _message_bytes(sender_name, sender, tos, ccs, subject, when, mid, body, m.html, parts)
        if len(_SEED_BYTES) >= 512:
            _SEED_BYTES.clear()
        _SEED_BYTES[key] = raw
    return raw, mid, sender, str(OUTGOING.header_factory("Subject", subject)), files


#: seed mails already made in this process, by everything they are made of
_SEED_BYTES: dict[tuple, bytes] = {}


def _message_bytes(sender_name: str, sender: str, tos, ccs, subject: str, when: dt.datetime, mid: str, body: str,
                   html: bool, parts) -> bytes:
    msg = EmailMessage(policy=OUTGOING)
    msg["From"] = formataddr((sender_name, sender)) if sender_name else sender
    msg["To"] = _address_header(tos)
    if ccs:
        msg["Cc"] = _address_header(ccs)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when.astimezone(VN_TZ))
    msg["Message-ID"] = mid
    if html:
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    for fname, ctype, data in parts:
        main, sub = ctype.split("/", 1)
        msg.add_attachment(data, maintype=main, subtype=sub, filename=fname)
    return msg.as_bytes()


def _seed_mail(runtime, loaded: Loaded, sandbox_id: int, m, seed_id: str, ctx: dict, start: dt.datetime,
               people: dict, actor: str) -> dict:
    """Put the initial mail ``m`` into its owner's folder (``mail.append``); its anchor for the grader."""
    when = start - dt.timedelta(minutes=m.minutes_before_start)
    raw, mid, sender, subject, files = _seed_message(loaded, m, seed_id, ctx, when, people)
    owner = people[m.mailbox].email.lower()
    with runtime.db.read() as s:
        acc = mail_api.account_by_address(s, sandbox_id, owner)
        with mail_api.open_view(runtime.db, acc) as view:
            box = view.mailbox_by_name(m.folder) or view.special(None)
            box_id = box.id
    runtime.dispatcher.dispatch(sandbox_id, actor, "mail.append", {
        "account_id": acc.id, "mailbox_id": box_id, "raw": runtime.blobs.put(raw),
        "flags": ["\\Seen"] if m.seen else [], "internal_date": when.isoformat()})
    return {"message_id": mid, "mailbox": owner, "from": sender, "subject": subject,
            "attachments": files, "phishing": m.phishing}


id_kinds({"instance": "scenario_instances"})  # the id kind of the instance row


@action("scenario.instantiate",
        ids={"anchors.orgs.*": "org", "anchors.units.*": "unit", "anchors.people.*": "person",
             "anchors.incoming.*.incoming_id": "incoming", "anchors.drafts.*.outgoing_id": "outgoing"},
        result_ids={"instance_id": "instance"}, not_ids=("scenario_id", "seed", "rubric_version"))
def instantiate(ctx: ActionContext, *, scenario_id: str, title: str, source: str = "", seed: int, values: dict, start: str,
                candidate: str, candidate_address: str, anchors: dict, rubric_version: int,
                practice: bool = False) -> dict:
    inst = ScenarioInstance(sandbox_id=ctx.sandbox.id, scenario_id=scenario_id, source=source, title=title, seed=seed,
                            values=values, start=dt.datetime.fromisoformat(start), candidate=candidate,
                            candidate_address=candidate_address, anchors=anchors,
                            rubric_version=rubric_version, practice=practice, created_at=ctx.now)
    ctx.session.add(inst)
    ctx.session.flush()
    return {"instance_id": inst.id}


def instance_of(session, sandbox_id: int) -> ScenarioInstance | None:
    return session.scalar(select(ScenarioInstance).where(ScenarioInstance.sandbox_id == sandbox_id))


__all__ = ["build", "restart", "BuildResult", "Login", "derive_password", "instance_of", "to_json", "from_json",
           "attachment_bytes"]


def restart(runtime, sandbox_id: int, *, actor: str = "system") -> BuildResult:
    """"Làm lại" for a practice sandbox: set the current one aside (kept, archived) and build
    the same scenario with the same seed under the same name, so the trainee's logins stay
    the same and the task starts again from its initial state."""
    from sandbox.kernel.sandboxes import archive_sandbox

    with runtime.db.read() as s:
        inst = instance_of(s, sandbox_id)
        sb_name = s.get(Sandbox, sandbox_id).name
    if inst is None:
        raise SandboxError("Sandbox này không được tạo từ một đề nên không làm lại được.",
                           f"sandbox {sandbox_id} has no instance")
    if not inst.practice:
        raise SandboxError("Chỉ bài luyện tập mới được làm lại.", f"sandbox {sandbox_id} is not practice")
    loaded = load(inst.source or inst.scenario_id)
    archive_sandbox(runtime.db, runtime.clock, sandbox_id)
    return build(runtime, loaded, inst.seed, sb_name, practice=True, actor=actor)

from . import state_digest as _state_digest  # noqa: E402,F401  (registers the scenario part of the state digest)
