"""featured comments: moderators pick comments shown first, under "Featured"

Revision ID: 762efc3127f6
Revises: 8c466424560d
Create Date: 2026-12-05 11:11:23.779106

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '762efc3127f6'
down_revision = '8c466424560d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('featured_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('featured_at')
