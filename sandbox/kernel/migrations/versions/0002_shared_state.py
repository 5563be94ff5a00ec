"""Shared state (issue 15): ``blobs`` (the database blob store), ``shared_files`` (the
installation secret, the test CA's keys and revocations on PostgreSQL) and ``throttle_hits``
(the login throttle's moving windows, counted the same by every process).

Three new tables, nothing changed in the others; the downgrade drops them (a database whose
blobs live in ``blobs`` loses them: export with ``sandbox backup`` first).

Revision ID: 0002_shared_state
Revises: 0001_baseline
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002_shared_state'
down_revision: Union[str, Sequence[str], None] = '0001_baseline'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('shared_files',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('throttle_hits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('expires', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_throttle_hits_expires'), ['expires'], unique=False)
        batch_op.create_index(batch_op.f('ix_throttle_hits_key'), ['key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_hits_key'))
        batch_op.drop_index(batch_op.f('ix_throttle_hits_expires'))

    op.drop_table('throttle_hits')
    op.drop_table('shared_files')
    op.drop_table('blobs')
