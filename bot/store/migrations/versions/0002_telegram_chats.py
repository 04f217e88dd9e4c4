"""Telegram chats: pseudonym -> encrypted chat id, clinic code and language (for follow-ups and /forget).

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('telegram_chats',
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('chat_id_encrypted', sa.Text(), nullable=False),
    sa.Column('clinic_code', sa.String(length=64), nullable=True),
    sa.Column('language_code', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pseudonym', name=op.f('pk_telegram_chats'))
    )


def downgrade() -> None:
    op.drop_table('telegram_chats')
