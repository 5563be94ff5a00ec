"""PDF surgery for tests: what a careless or dishonest editor would do to a signed file."""
from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter


def replace_page_content(pdf: bytes, content: bytes) -> bytes:
    """Append a revision that swaps page 1's content stream (changed text after signing)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    page = page_ref.get_object()
    stream = generic.StreamObject(stream_data=content)
    stream.compress()
    page["/Contents"] = writer.add_object(stream)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
