"""Follow-ups: the series a patient agreed to at the end of a triage, its check-ins and their answers.

Revision ID: 0006f
Revises: 0005r
"""
from alembic import op
import sqlalchemy as sa


revision = '0006f'
down_revision = '0005r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('followup_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_followup_series_clinic_id_clinics')),
    sa.ForeignKeyConstraint(['session_id'], ['triage_sessions.id'], name=op.f('fk_followup_series_session_id_triage_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_series')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_followup_series_token_hash'))
    )
    with op.batch_alter_table('followup_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_series_clinic_id'), ['clinic_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_series_pseudonym'), ['pseudonym'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_series_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_series_status'), ['status'], unique=False)

    op.create_table('followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=8), nullable=False),
    sa.Column('offset_days', sa.Integer(), nullable=False),
    sa.Column('restratify', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_action_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alert', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['followup_series.id'], name=op.f('fk_followups_series_id_followup_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followups'))
    )
    with op.batch_alter_table('followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followups_next_action_at'), ['next_action_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followups_status'), ['status'], unique=False)

    op.create_table('followup_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['followup_id'], ['followups.id'], name=op.f('fk_followup_answers_followup_id_followups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_answers')),
    sa.UniqueConstraint('followup_id', 'item_id', name='uq_followup_answers_followup_item')
    )
    with op.batch_alter_table('followup_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_answers_followup_id'), ['followup_id'], unique=False)


def downgrade() -> None:
    op.drop_table('followup_answers')
    op.drop_table('followups')
    op.drop_table('followup_series')
