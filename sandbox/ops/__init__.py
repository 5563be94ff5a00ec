"""Operations of an installation (issue 15): the health report (``/healthz``) and the backup and
restore of a whole installation (``sandbox backup``, ``sandbox restore``). Public: ``api``; the
web page in ``web`` (``register(app)``), the commands in ``cli`` (``register(main)``).
See ``docs/operations.md``."""
