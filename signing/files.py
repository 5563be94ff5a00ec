"""PDFs handed to the signing dialog, per sandbox and person: what makes a blob hash usable.

The blob store is content-addressed and shared by every sandbox, so a hash alone must never
open a file: the dialog only signs or serves a hash recorded here for the same sandbox and
person. Recording is an action (``signing.file_added``), so the log shows every upload and
every signed result (by blob hash, replayable).
"""
from __future__ import annotations

from sqlalchemy import select

from sandbox.kernel.actions import ActionContext, action

from .models import SigningFile

__all__ = ["record_file", "find_file"]


@action("signing.file_added", ids={"token_id": "token"}, result_ids={"file_id": "file"})
def file_added(ctx: ActionContext, *, person: str, blob: str, kind: str, filename: str = "",
               source_blob: str | None = None, token_id: int | None = None) -> dict:
    if kind not in ("upload", "signed"):
        raise ValueError(f"unknown kind {kind!r}")
    if not ctx.blobs.exists(blob):
        raise ValueError(f"unknown blob {blob}")
    row = SigningFile(sandbox_id=ctx.sandbox.id, person=person.strip().lower(), blob=blob,
                      filename=filename[:300], kind=kind, source_blob=source_blob,
                      token_id=token_id, created_at=ctx.now)
    ctx.session.add(row)
    ctx.session.flush()
    return {"file_id": row.id, "blob": blob}


def record_file(runtime, sandbox_id: int, person: str, data: bytes, *, kind: str,
                filename: str = "", source_blob: str | None = None,
                token_id: int | None = None) -> str:
    """Store ``data`` in the blob store and record it for (sandbox, person); returns the hash."""
    blob = runtime.blobs.put(data)
    runtime.dispatcher.dispatch(sandbox_id, person, "signing.file_added", {
        "person": person, "blob": blob, "kind": kind, "filename": filename,
        "source_blob": source_blob, "token_id": token_id})
    return blob


def find_file(session, sandbox_id: int, person: str, blob: str,
              kind: str | None = None) -> SigningFile | None:
    """The newest record of ``blob`` for this sandbox and person (``None``: not theirs)."""
    q = select(SigningFile).where(SigningFile.sandbox_id == sandbox_id,
                                  SigningFile.person == person.strip().lower(),
                                  SigningFile.blob == blob)
    if kind:
        q = q.where(SigningFile.kind == kind)
    return session.scalars(q.order_by(SigningFile.id.desc()).limit(1)).first()
