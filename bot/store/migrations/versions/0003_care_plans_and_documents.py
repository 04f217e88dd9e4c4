"""Care plans (kept for clinicians) and documents (care-plan PDFs, outlook graphs served by bot.web).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('care_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('option_ids', sa.Text(), nullable=False),
    sa.Column('resource_ids', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['triage_sessions.id'], name=op.f('fk_care_plans_session_id_triage_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_plans')),
    sa.UniqueConstraint('session_id', name=op.f('uq_care_plans_session_id'))
    )
    op.create_table('documents',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('filename', sa.String(length=80), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['triage_sessions.id'], name=op.f('fk_documents_session_id_triage_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_documents'))
    )
    op.create_index(op.f('ix_documents_session_id'), 'documents', ['session_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_documents_session_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('care_plans')
