"""The revisions, oldest first by their ``down_revision``; ``0001_baseline`` is the schema as
``create_all`` made it before migrations existed. A package so that the wheel ships them;
Alembic itself skips this file."""
