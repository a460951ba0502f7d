"""The Alembic migrations: one head, they build exactly the models' schema, and they reverse.

Each test migrates its own empty database: a new SQLite file, and with
`TEST_DATABASE=postgresql` also a throwaway PostgreSQL database (dropped afterwards).
"""

import io
import logging
import os
import uuid
from pathlib import Path

import flask_migrate
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.engine import make_url

import membership.models  # noqa: F401  (registers every table on the metadata)
from membership import create_app
from membership.extensions import db

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "migrations"
USING_POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgresql"
ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MODEL_TABLES = {table.name for table in db.metadata.sorted_tables}


def alembic_config() -> Config:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@pytest.fixture(autouse=True)
def preserve_logging():
    """migrations/env.py calls logging.config.fileConfig(), which disables every logger that
    already exists and replaces the root handlers; put things back for the tests that follow."""
    manager = logging.Logger.manager
    disabled = {
        name: logger.disabled
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.disabled = disabled.get(name, False)
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def _sqlite_database(tmp_path):
    yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"


def _postgres_database(tmp_path):
    if not USING_POSTGRES:
        pytest.skip("PostgreSQL migration tests run with TEST_DATABASE=postgresql")
    admin_url = make_url(ADMIN_URL)
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"membership_migrations_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and cannot be reached: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    """A database with no tables at all (make_app would create_all on SQLite)."""
    maker = _sqlite_database if request.param == "sqlite" else _postgres_database
    yield from maker(tmp_path)


@pytest.fixture
def migration_app(empty_database_url, tmp_path, monkeypatch):
    """An app on the empty database, with its app context pushed."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(
        {
            "TESTING": True,
            "APP_ENV": "testing",
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "SITE_URL": "http://portal.test",
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def alembic_output(monkeypatch):
    """What `flask db heads/current` print. Alembic writes to the sys.stdout it saw when it was
    imported, not to the CLI runner's stream, so give Flask-Migrate's Config a buffer."""
    buffer = io.StringIO()

    class CapturingConfig(flask_migrate.Config):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("stdout", buffer)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(flask_migrate, "Config", CapturingConfig)
    return buffer


def flask_db(application, *args: str):
    result = application.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0 and result.exception is None, (
        f"flask db {' '.join(args)} failed: {result.exception!r}\n{result.output}"
    )
    return result


def tables_in_database() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def schema_differences(metadata: MetaData) -> list:
    """What `flask db migrate` would generate: the models compared with the live schema."""
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("compare_type", True)
    options.setdefault("render_as_batch", True)
    options["target_metadata"] = metadata
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=options)
        return compare_metadata(context, metadata)


# --- the script directory -------------------------------------------------------------------


def test_migrations_have_a_single_head():
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"
    bases = script.get_bases()
    assert len(bases) == 1, f"several base revisions: {bases}"


def test_flask_db_heads_reports_one_head(migration_app, alembic_output):
    flask_db(migration_app, "heads")
    output = alembic_output.getvalue()
    assert len([line for line in output.splitlines() if "(head)" in line]) == 1, output


def test_every_revision_has_an_upgrade_and_a_downgrade():
    script = ScriptDirectory.from_config(alembic_config())
    for revision in script.walk_revisions():
        assert callable(getattr(revision.module, "upgrade", None)), revision.revision
        assert callable(getattr(revision.module, "downgrade", None)), revision.revision


# --- upgrading a real database --------------------------------------------------------------


def test_upgrade_creates_every_model_table(migration_app, alembic_output):
    assert tables_in_database() == set()
    flask_db(migration_app, "upgrade")
    assert tables_in_database() == MODEL_TABLES
    flask_db(migration_app, "current")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"{head} (head)" in alembic_output.getvalue()


def test_migrated_schema_matches_the_models(migration_app):
    flask_db(migration_app, "upgrade")
    differences = schema_differences(db.metadata)
    assert differences == [], (
        "the models and the migrations disagree; run `flask db migrate` and review:\n"
        + "\n".join(map(repr, differences))
    )


def test_schema_comparison_notices_a_model_change_without_migration(migration_app):
    """The comparison above is sensitive: a column added to a model shows up as a difference."""
    flask_db(migration_app, "upgrade")
    changed = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["articles"].append_column(Column("subtitle", String(200), nullable=True))
    differences = schema_differences(changed)
    assert any(
        diff[0] == "add_column" and diff[3].name == "subtitle"
        for diff in differences
        if isinstance(diff, tuple)
    ), differences


def test_downgrade_to_base_and_upgrade_again(migration_app):
    flask_db(migration_app, "upgrade")
    flask_db(migration_app, "downgrade", "base")
    assert tables_in_database() == set()

    flask_db(migration_app, "upgrade")
    assert tables_in_database() == MODEL_TABLES
    assert schema_differences(db.metadata) == []


def test_upgrade_twice_is_a_no_op(migration_app):
    flask_db(migration_app, "upgrade")
    flask_db(migration_app, "upgrade")
    assert tables_in_database() == MODEL_TABLES


def test_the_app_works_on_a_migrated_database(migration_app):
    flask_db(migration_app, "upgrade")
    from membership.models import Section

    db.session.add(Section(slug="world", name="World"))
    db.session.commit()
    response = migration_app.test_client().get("/section/world")
    assert response.status_code == 200
    assert "World" in response.get_data(as_text=True)
