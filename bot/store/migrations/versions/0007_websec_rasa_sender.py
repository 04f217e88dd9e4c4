"""One-way pseudonyms: triages keep the conversation's Rasa sender id beside their pseudonym, and every
stored pseudonym becomes the keyed hash of the Rasa sender it used to equal (bot/privacy/pseudonym.py).

Until now the pseudonym *was* the Rasa sender id (the action server's second pseudonymisation passed
pseudonyms through). Rows written before this revision are rewritten so the channels find them again:
triage_sessions.rasa_sender = old pseudonym, and pseudonym = HMAC(old pseudonym) in triage_sessions,
telegram_chats and followup_series (demo rows aside). That needs BACKTALK_PSEUDONYM_KEY only when such rows exist.

Revision ID: 0007_websec
Revises: 0006f
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_websec'
down_revision = '0006f'
branch_labels = None
depends_on = None

TABLES = ("triage_sessions", "telegram_chats", "followup_series")


def upgrade() -> None:
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rasa_sender', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_triage_sessions_rasa_sender'), ['rasa_sender'], unique=False)
    connection = op.get_bind()
    old = set()
    for name in TABLES:
        # (demo rows, `backtalk followup demo`, are found by their "demo-" prefix and talk to no Rasa)
        old |= set(connection.execute(sa.text(
            f"SELECT DISTINCT pseudonym FROM {name} WHERE pseudonym NOT LIKE 'demo-%'")).scalars())
    if not old:
        return
    from bot.config import settings
    from bot.privacy.pseudonym import pseudonymise

    key = settings().pseudonym_key
    connection.execute(sa.text("UPDATE triage_sessions SET rasa_sender = pseudonym WHERE pseudonym NOT LIKE 'demo-%'"))
    for sender in sorted(old):
        for name in TABLES:
            connection.execute(sa.text(f"UPDATE {name} SET pseudonym = :new WHERE pseudonym = :old"),
                               {"new": pseudonymise(sender, key), "old": sender})


def downgrade() -> None:
    connection = op.get_bind()
    mapping = dict(connection.execute(sa.text(
        "SELECT DISTINCT pseudonym, rasa_sender FROM triage_sessions WHERE rasa_sender IS NOT NULL")).all())
    for name in TABLES:
        for pseudonym, sender in mapping.items():
            connection.execute(sa.text(f"UPDATE {name} SET pseudonym = :old WHERE pseudonym = :new"),
                               {"new": pseudonym, "old": sender})
    with op.batch_alter_table('triage_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_triage_sessions_rasa_sender'))
        batch_op.drop_column('rasa_sender')
