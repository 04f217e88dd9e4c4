"""Research consent: a triage remembers whether its conversation may be used, de-identified, for
research (asked after care consent; withdrawing sets it false).

Revision ID: 0005r
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005r'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('research_consent', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.drop_column('research_consent')
