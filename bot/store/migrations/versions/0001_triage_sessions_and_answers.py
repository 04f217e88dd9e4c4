"""Triage sessions and their answers (the foundation schema).

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 21:10:35.803614
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('triage_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pain_site', sa.String(length=16), nullable=True),
    sa.Column('risk_tool', sa.String(length=16), nullable=True),
    sa.Column('risk_score', sa.Integer(), nullable=True),
    sa.Column('risk_subscore', sa.Integer(), nullable=True),
    sa.Column('risk_group', sa.String(length=8), nullable=True),
    sa.Column('red_flag', sa.String(length=32), nullable=True),
    sa.Column('needs_attention', sa.Boolean(), nullable=False),
    sa.Column('reference_code', sa.String(length=12), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triage_sessions')),
    sa.UniqueConstraint('reference_code', name=op.f('uq_triage_sessions_reference_code'))
    )
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triage_sessions_pseudonym'), ['pseudonym'], unique=False)
        batch_op.create_index(batch_op.f('ix_triage_sessions_status'), ['status'], unique=False)

    op.create_table('answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['triage_sessions.id'], name=op.f('fk_answers_session_id_triage_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answers')),
    sa.UniqueConstraint('session_id', 'item_id', name='uq_answers_session_item')
    )
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answers_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answers_session_id'))

    op.drop_table('answers')
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_triage_sessions_pseudonym'))

    op.drop_table('triage_sessions')
