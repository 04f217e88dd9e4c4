"""Care-plan PDFs are rendered when first opened: a document may hold the composed plan (plan_json)
instead of its bytes (content NULL) until then (bot/triage/documents.py). Existing rows keep their
bytes; downgrading renders every pending PDF first, since the older schema needs content.

Revision ID: 0008_lazy_pdf
Revises: 0007_websec
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_lazy_pdf'
down_revision = '0007_websec'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_json', sa.Text(), nullable=True))
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    from bot.careplan.render import to_pdf
    from bot.careplan.stored import plan_from_json

    connection = op.get_bind()
    pending = connection.execute(sa.text(
        "SELECT token, plan_json FROM documents WHERE content IS NULL")).all()
    for token, plan_json in pending:
        connection.execute(sa.text("UPDATE documents SET content = :content WHERE token = :token"),
                           {"content": to_pdf(plan_from_json(plan_json)), "token": token})
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('content', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('plan_json')
