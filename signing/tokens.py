"""Virtual tokens: a key is usable only with its PIN; wrong PINs count down and lock the
token; an examiner unlocks it. Every change is an action, so the log shows each wrong PIN.

Using a token is a read (the key is decrypted in memory, never stored in clear); a wrong
PIN is recorded by its own action *before* the refusal is raised, so the count survives
the refused operation.
"""
from __future__ import annotations

import base64

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, action, id_kinds
from sandbox.kernel.errors import NotFound

from .errors import SigningError
from .models import SigningToken
from .pki import classify, decrypt_key, encrypt_key, fingerprint, load_cert

DEFAULT_TRIES = 3
id_kinds({"token": "signing_tokens", "file": "signing_files"})  # the id kinds actions name


def _token(ctx: ActionContext, token_id: int) -> SigningToken:
    tok = ctx.session.get(SigningToken, token_id)
    if tok is None or tok.sandbox_id != ctx.sandbox.id:
        raise NotFound("Không tìm thấy thiết bị ký số.", f"token {token_id} not in sandbox {ctx.sandbox.id}")
    return tok


@action("signing.issue_token", ids={}, result_ids={"token_id": "token"}, not_ids=("max_tries",))
def issue_token(ctx: ActionContext, *, holder: str, cert_pem: str, key_blob_b64: str, label: str = "",
                role_required: str | None = None, max_tries: int = DEFAULT_TRIES,
                owner: str | None = None) -> dict:
    """Provision a token (scenario building): the key arrives already encrypted with the PIN.
    ``owner`` (default: the holder) is the person the certificate belongs to."""
    cert = load_cert(cert_pem.encode())
    kind = classify(cert) or "personal"
    holder = holder.strip().lower()
    tok = SigningToken(sandbox_id=ctx.sandbox.id, holder=holder, owner=(owner or holder).strip().lower(),
                       label=label, kind=kind,
                       subject=cert.subject.rfc4514_string(), fingerprint=fingerprint(cert), cert_pem=cert_pem,
                       key_blob=base64.b64decode(key_blob_b64), role_required=role_required,
                       max_tries=max_tries, tries_left=max_tries, locked=False, created_at=ctx.now)
    ctx.session.add(tok)
    ctx.session.flush()
    return {"token_id": tok.id, "fingerprint": tok.fingerprint, "kind": kind}


@action("signing.pin_failed", ids={"token_id": "token"}, result_ids={})
def pin_failed(ctx: ActionContext, *, token_id: int) -> dict:
    tok = _token(ctx, token_id)
    tok.tries_left = max(0, tok.tries_left - 1)
    tok.locked = tok.tries_left == 0
    return {"tries_left": tok.tries_left, "locked": tok.locked}


@action("signing.pin_ok", ids={"token_id": "token"}, result_ids={})
def pin_ok(ctx: ActionContext, *, token_id: int) -> dict:
    tok = _token(ctx, token_id)
    tok.tries_left = tok.max_tries
    return {"tries_left": tok.tries_left}


@action("signing.unlock", ids={"token_id": "token"}, result_ids={})
def unlock(ctx: ActionContext, *, token_id: int) -> dict:
    """An examiner unlocks a token locked by wrong PINs (the candidate keeps working)."""
    tok = _token(ctx, token_id)
    tok.locked, tok.tries_left = False, tok.max_tries
    return {"tries_left": tok.tries_left}


def provision(dispatcher, sandbox_id: int, holder: str, bundle, pin: str, *, label: str = "",
              role_required: str | None = None, max_tries: int = DEFAULT_TRIES, actor: str = "system",
              owner: str | None = None) -> int:
    """Put a certificate bundle (``signing.pki.CertBundle``) on a new token with a PIN.

    ``owner`` is the in-world person the certificate belongs to when it is not the holder:
    ``provision(d, sid, "lanhdao@…", specialist_bundle, pin, owner="chuyenvien@…")`` lets the
    leader see (and wrongly use) the specialist's certificate."""
    from .pki import cert_pem
    args = {"owner": owner} if owner else {}
    return dispatcher.dispatch(sandbox_id, actor, "signing.issue_token", {**args,
        "holder": holder, "cert_pem": cert_pem(bundle.cert).decode(), "label": label,
        "key_blob_b64": base64.b64encode(encrypt_key(bundle.key, pin)).decode(),
        "role_required": role_required, "max_tries": max_tries})["token_id"]


def tokens_of(session, sandbox_id: int, holder: str) -> list[SigningToken]:
    return list(session.scalars(select(SigningToken).where(
        SigningToken.sandbox_id == sandbox_id, SigningToken.holder == holder.strip().lower()).order_by(SigningToken.id)))


def open_token(runtime, sandbox_id: int, token_id: int, pin: str, *, actor: str, role: str | None = None):
    """The token's (certificate, private key) for one signature. Refuses, in Vietnamese, a
    token of another sandbox, a role that may not use it, a locked token and a wrong PIN
    (saying how many tries are left; the last one locks the token)."""
    with runtime.db.read() as s:
        tok = s.get(SigningToken, token_id)
        if tok is None or tok.sandbox_id != sandbox_id:
            raise NotFound("Không tìm thấy thiết bị ký số.", f"token {token_id}")
        if tok.role_required and role != tok.role_required:
            raise SigningError("Chứng thư số của cơ quan chỉ văn thư được sử dụng.",
                               f"token {token_id} needs role {tok.role_required}, got {role}")
        if tok.locked:
            raise SigningError("Thiết bị ký số đã bị khoá do nhập sai mã PIN quá số lần cho phép. "
                               "Hãy báo giám khảo để được mở khoá.", f"token {token_id} locked")
        blob, cert = tok.key_blob, load_cert(tok.cert_pem.encode())
        full = tok.tries_left == tok.max_tries
    try:
        key = decrypt_key(blob, pin)
    except SigningError:
        left = runtime.dispatcher.dispatch(sandbox_id, actor, "signing.pin_failed", {"token_id": token_id})
        if left["locked"]:
            raise SigningError("Sai mã PIN. Thiết bị ký số đã bị khoá; hãy báo giám khảo để được mở khoá.",
                               f"token {token_id} locked after wrong PIN") from None
        raise SigningError(f"Sai mã PIN. Còn {left['tries_left']} lần thử.",
                           f"wrong PIN for token {token_id}") from None
    if not full:
        runtime.dispatcher.dispatch(sandbox_id, actor, "signing.pin_ok", {"token_id": token_id})
    return cert, key


def holders_by_fingerprint(session, sandbox_id: int) -> dict[str, str]:
    """Certificate fingerprint → the in-world person the certificate belongs to (the token's
    owner, whoever holds a copy of it), for the verifier."""
    rows = session.execute(select(SigningToken.fingerprint, SigningToken.owner, SigningToken.holder)
                           .where(SigningToken.sandbox_id == sandbox_id).order_by(SigningToken.id)).all()
    out: dict[str, str] = {}
    for fp, owner, holder in rows:
        out.setdefault(fp, owner or holder)
    return out


from . import files as _files  # noqa: E402  (registers the signing.file_added action)

_REGISTERED = (_files.file_added,)
from . import state_digest as _state_digest  # noqa: E402,F401  (registers the signing part of the state digest)
