"""The sandbox kernel (settings, database, clock, blob store, action log) and, on top of it,
the composition: the Flask app, the CLI and contest operations.

Kernel modules (``settings``, ``db``, ``clock``, ``blobs``, ``models``, ``actions``,
``passwords``, ``throttle``, ``errors``) import no other package of ours.
"""
