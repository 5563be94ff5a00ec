"""docflow: the emulated document-management software ("phần mềm quản lý văn bản và điều
hành", DESIGN.md §2): organisations, units and people, the registers, văn bản đến (directive,
forwarding, progress), văn bản đi (drafts rendered to Decree 30 PDFs, the leader's signature,
the clerk's numbering, organisation signature and release, including an automatic clerk), the
tracking view and report, and its web UI at ``/van-ban``.

Other packages use :mod:`docflow.api` (and the blueprint :data:`docflow.web.bp`) only. Behind
it, one module per noun holds that noun's ``docflow.*`` actions and the API's writers that
dispatch them: :mod:`.organisations`, :mod:`.incoming`, :mod:`.outgoing`, :mod:`.clerk`;
:mod:`.reads` holds the read models and queries. Shared pieces: :mod:`.common` (lookups,
guards, registers, the dispatch), :mod:`.signatures` (signing, through ``signing.api`` only),
:mod:`.uploads`, :mod:`.render`, :mod:`.rules` (vocabulary), :mod:`.queries` (the one
sandbox-scoped query helper), :mod:`.models`, :mod:`.state_digest`. ``web/`` is split the
same way. See docs/docflow.md.
"""
