"""signing: the test PKI, virtual tokens, Decree 30 two-layer signing and the verifier
(DESIGN.md §2; docs/signing.md). Other packages use :mod:`signing.api` (and the signing
dialog's blueprint, :mod:`signing.web`); the modules behind it:

* certificates: :mod:`~signing.pki` (a TEST hierarchy: root, issuing CA, TSA, CRLs),
  :mod:`~signing.sandbox_pki` (one per data folder);
* keys: :mod:`~signing.tokens` + :mod:`~signing.models` (a key usable only with its PIN,
  tries counted, lockout), :mod:`~signing.files` (PDFs given to the dialog, per person);
* documents, as pure functions over PDF bytes: :mod:`~signing.document` (the draft page and
  the leader's and clerk's signatures), :mod:`~signing.attachments` (a separate attachment,
  an electronic copy), :mod:`~signing.images` (signature and seal PNGs),
  :mod:`~signing.fonts` (the one font finder: Times New Roman, else Liberation Serif);
* checking: :mod:`~signing.verify` (every signature read with pyHanko) and
  :mod:`~signing.verdicts` (the Decree 30 verdicts, one registered rule per code), both on
  :mod:`~signing.pdfread` (opening PDF input, page boxes);
* :mod:`~signing.web` (the dialog at ``/ky-so``), :mod:`~signing.demo` and
  :mod:`~signing.example` (demo tokens, a throwaway world), :mod:`~signing.state_digest`.

Importing the package installs :mod:`~signing._pyhanko_speedups` (measured hot spots of
pyHanko replaced with equivalents).
"""

from . import _pyhanko_speedups

_pyhanko_speedups.install()
