"""cache versions: articles.version, articles.discussion_version and the site-wide counter

Revision ID: 3865e5887a0e
Revises: 37d8014b6584
Create Date: 2026-12-05 11:11:06.582007

"""
import random

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3865e5887a0e'
down_revision = '37d8014b6584'
branch_labels = None
depends_on = None


def upgrade():
    cache_versions = op.create_table(
        'cache_versions',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_cache_versions')),
    )
    # A random start: a database created again never reuses the cache keys of the previous one
    # (the file cache under instance/ outlives the SQLite file).
    op.bulk_insert(cache_versions, [{'name': 'site', 'version': random.randrange(1, 2**30)}])
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(
            sa.Column('discussion_version', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_column('discussion_version')
        batch_op.drop_column('version')
    op.drop_table('cache_versions')
