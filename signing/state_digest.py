"""The signing part of a sandbox's state digest (``sandbox.kernel.actions.state_contributor``):
the tokens as the signing dialog shows them (holder, certificate, tries left, locked) and
the files handed to the dialog, without database ids."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from sandbox.kernel.actions import state_contributor
from sandbox.kernel.clock import as_utc

from .models import SigningFile, SigningToken

_T, _F = SigningToken.__table__, SigningFile.__table__
_TOKENS = select(_T.c.id, _T.c.holder, _T.c.owner, _T.c.label, _T.c.kind, _T.c.fingerprint, _T.c.role_required,
                 _T.c.max_tries, _T.c.tries_left, _T.c.locked).where(_T.c.sandbox_id == bindparam("sid")) \
    .order_by(_T.c.id)
_FILES = select(_F.c.person, _F.c.kind, _F.c.filename, _F.c.blob, _F.c.source_blob, _F.c.token_id,
                _F.c.created_at).where(_F.c.sandbox_id == bindparam("sid")).order_by(_F.c.id)


@state_contributor("signing", label="ký số", sections={"tokens": "thiết bị ký số", "files": "tệp trong hộp thoại ký"},
                   tables=("signing_tokens", "signing_files"))
def signing_state(session, sandbox_id: int) -> dict:
    p = {"sid": sandbox_id}
    tokens = session.execute(_TOKENS, p).all()
    position = {t[0]: i + 1 for i, t in enumerate(tokens)}  # a token by its place, not its id
    return {"tokens": [[*t[1:9], bool(t[9])] for t in tokens],
            "files": [[f[0], f[1], f[2], f[3], f[4], position.get(f[5]), as_utc(f[6]).isoformat()]
                      for f in session.execute(_FILES, p)]}
