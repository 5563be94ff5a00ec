"""Files handed in by people (a draft's attachments, an incoming document's PDF): checked by
name and content before anything is stored, then kept in the blob store; actions get them by
hash."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sandbox.kernel.vnformat import file_size

from .errors import DocflowError

__all__ = ["Upload", "check_upload", "safe_file_name", "stored_uploads"]


@dataclass
class Upload:
    """A file handed in by a person: its name as typed, its bytes, its claimed type."""

    name: str
    data: bytes
    content_type: str | None = None


#: Extension -> (content type, magic check).
_KINDS: dict[str, tuple[str, Any]] = {
    "pdf": ("application/pdf", lambda b: b"%PDF-" in b[:1024]),
    "doc": ("application/msword", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "xls": ("application/vnd.ms-excel", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "ppt": ("application/vnd.ms-powerpoint", lambda b: b.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             lambda b: b.startswith(b"PK\x03\x04")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", lambda b: b.startswith(b"PK\x03\x04")),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation",
             lambda b: b.startswith(b"PK\x03\x04")),
    "odt": ("application/vnd.oasis.opendocument.text", lambda b: b.startswith(b"PK\x03\x04")),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", lambda b: b.startswith(b"PK\x03\x04")),
    "zip": ("application/zip", lambda b: b.startswith(b"PK\x03\x04")),
    "rar": ("application/vnd.rar", lambda b: b.startswith(b"Rar!")),
    "png": ("image/png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda b: b.startswith(b"\xff\xd8\xff")),
    "txt": ("text/plain", None),
}
_KIND_LABEL = {"pdf": "PDF", "doc": "Word", "docx": "Word", "xls": "Excel", "xlsx": "Excel", "ppt": "PowerPoint",
               "pptx": "PowerPoint", "odt": "OpenDocument", "ods": "OpenDocument", "zip": "ZIP", "rar": "RAR",
               "png": "ảnh PNG", "jpg": "ảnh JPEG", "jpeg": "ảnh JPEG", "txt": "văn bản thuần"}


def safe_file_name(name: str) -> str:
    """NFC, no folders, no control or reserved characters, at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:140].rstrip() + dot + ext) if dot and len(ext) <= 8 else name[:150]
    return name or "tep-dinh-kem"


def check_upload(runtime, upload: Upload) -> dict:
    """Validate an uploaded file and store it: ``{name, blob, size, content_type}``. Refuses, in
    Vietnamese, a 0-byte file, a file over the size limit, an unknown type and a file whose
    content is not what its name claims. Nothing is stored when refused."""
    name = safe_file_name(upload.name)
    data = upload.data or b""
    limit = runtime.settings.max_message_size
    if not data:
        raise DocflowError(f"Tệp «{name}» rỗng (0 byte); hãy chọn lại đúng tệp.", "empty upload")
    if len(data) > limit:
        raise DocflowError(f"Tệp «{name}» có dung lượng {file_size(len(data))}, vượt giới hạn {file_size(limit)}.",
                           f"upload of {len(data)} bytes over {limit}")
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    kind = _KINDS.get(ext)
    if kind is None:
        allowed = ", ".join(sorted({f".{e}" for e in _KINDS}))
        raise DocflowError(f"Không nhận loại tệp của «{name}». Các loại được nhận: {allowed}.", f"extension {ext!r}")
    ctype, magic = kind
    ok = magic(data) if magic else _is_text(data)
    if not ok:
        raise DocflowError(f"Tệp «{name}» không phải là tệp {_KIND_LABEL[ext]} như tên tệp cho biết "
                           "(nội dung không đúng định dạng); hãy kiểm tra lại tệp.", f"content is not {ext}")
    return {"name": name, "blob": runtime.blobs.put(data), "size": len(data), "content_type": ctype}


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in data


def stored_uploads(runtime, files) -> list[dict]:
    """Files already stored (dicts) as they are; :class:`Upload` objects checked and stored."""
    out = []
    for f in files or []:
        out.append(f if isinstance(f, dict) else check_upload(runtime, f))
    return out
