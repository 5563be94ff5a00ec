"""Alembic's environment, for the program (``sandbox.kernel.migrations`` passes the
connection and the metadata in ``config.attributes``) and for a developer's ``alembic``
command (``alembic.ini`` at the top of the repository names the database and where the
metadata comes from: ``sandbox_metadata = sandbox.runtime:register_models``, a function of
the composition that imports every package's models; the kernel imports none of them).

Batch mode (``render_as_batch``) so that autogenerate writes changes SQLite can apply (it
rebuilds a table by copy where ``ALTER TABLE`` cannot).
"""
from __future__ import annotations

import importlib
from pathlib import Path

from alembic import context

config = context.config


def _metadata():
    metadata = config.attributes.get("metadata")
    if metadata is None:
        ref = config.get_main_option("sandbox_metadata")
        if ref:  # "module:function" (the composition's), named in alembic.ini
            module, _, fn = ref.partition(":")
            metadata = getattr(importlib.import_module(module), fn)()
    return metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return url


def _configure(**kw) -> None:
    context.configure(target_metadata=_metadata(), render_as_batch=True, compare_type=True, **kw)


if context.is_offline_mode():
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:  # the program's: already in its transaction, under its lock
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    else:  # a developer's `alembic …` command
        from sandbox.kernel.migrations import migration_engine

        engine = migration_engine(_url())
        try:
            with engine.connect() as connection:
                _configure(connection=connection)
                with context.begin_transaction():
                    context.run_migrations()
        finally:
            engine.dispose()
