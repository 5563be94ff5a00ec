"""The composition of one running installation: settings, database, blob store, clock,
dispatcher and login throttle, with every package's tables and actions registered.

Everything above the kernel (web app, SMTP/IMAP servers, CLI, tests) starts from a Runtime.
"""
from __future__ import annotations

from dataclasses import dataclass

from sandbox.kernel.actions import Dispatcher
from sandbox.kernel.blobs import BlobStore, open_blob_store
from sandbox.kernel.clock import Clock
from sandbox.kernel.db import Database
from sandbox.kernel.errors import RateLimited
from sandbox.kernel.settings import Settings
from sandbox.kernel.throttle import LoginThrottle


def register_models():
    """Import every package's tables and actions; returns the metadata they are registered in
    (what the migrations are compared with, and what a developer's ``alembic`` command uses:
    ``sandbox_metadata`` in ``alembic.ini``)."""
    import mailserver.api  # noqa: F401  (registers mail tables and actions)
    import signing.tokens  # noqa: F401  (registers signing tables and actions)
    import docflow.api  # noqa: F401  (registers docflow tables and actions)
    import scenarios.build  # noqa: F401  (registers scenario instances)
    import scenarios.npc  # noqa: F401  (NPC rules: the automatic clerk, colleagues' replies)
    from .contest import models as _contest  # noqa: F401  (contest tables)
    from sandbox.training import models as _training  # noqa: F401  (drill class tables)
    from sandbox.appeals import models as _appeals  # noqa: F401  (grade records, re-grades, appeals)
    from sandbox.kernel import models  # noqa: F401
    from sandbox.kernel import jobs as _jobs  # noqa: F401  (the job queue's table)
    from sandbox.kernel.db import Base

    return Base.metadata


@dataclass
class Runtime:
    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock
    dispatcher: Dispatcher
    throttle: LoginThrottle

    @classmethod
    def open(cls, settings: Settings | None = None, clock: Clock | None = None) -> "Runtime":
        import mailserver.api as mail_api  # registers mail tables and actions

        metadata = register_models()
        settings = settings or Settings()
        settings.ensure_dirs()
        db = Database(settings.database_url)
        db.prepare_schema(metadata)  # migrations: fresh, adopted, upgraded, or refused when newer
        blobs = open_blob_store(settings, db)  # files, or the database's blobs table (PostgreSQL)
        clock = clock or Clock()
        events = mail_api.MailEvents()
        dispatcher = Dispatcher(db, clock, blobs, services={"mail_events": events, "mail_notify": events.notify})
        return cls(settings, db, blobs, clock, dispatcher, LoginThrottle(database=db))

    @property
    def secret(self) -> str:
        return self.settings.get_secret_key()

    @property
    def mail_events(self):
        return self.dispatcher.services["mail_events"]

    def mail_login(self, login: str, password: str, client_address: str | None):
        """Check a mail login through the throttle: an ``AccountRef``, or None when wrong;
        raises ``RateLimited`` after too many failures."""
        from mailserver.api import authenticate

        self.throttle.ceiling(login, client_address)
        with self.db.read() as session:   # verified first: a right password is never refused for others' failures
            ref = authenticate(session, self.secret, login, password)
        if ref is None:
            self.throttle.refuse_failure(login, client_address)
        else:
            self.throttle.succeeded(login, client_address)
        return ref

    def close(self) -> None:
        self.db.dispose()


__all__ = ["Runtime", "RateLimited"]
