"""`flask` commands: create-admin, seed-demo, mail deliver, stripe, members, rotate-secrets."""

import sys
import time
from datetime import timedelta

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from membership.admin.articles import slugify
from membership.admin.roles import RoleChangeError, change_role
from membership.auth.passwords import password_problem
from membership.auth.services import create_user, find_user_by_email, normalize_email
from membership.cache import bump_site_version
from membership.extensions import db
from membership.mail import deliver_due
from membership.models import Article, ArticleStatus, Role, Section, Tag, Tier
from membership.models.types import utcnow

DEMO_TIERS = [
    {
        "slug": "free",
        "name": "Free",
        "description": "Every confirmed reader: comment and read members-only stories.",
        "benefits": ["Join the discussion", "Members-only stories", "Reply notifications"],
    },
    {
        "slug": "supporter",
        "name": "Supporter",
        "description": "Read everything and keep the newsroom independent.",
        "benefits": ["Every subscriber story", "Supporter badge on your comments"],
        "monthly_price": 500,
        "yearly_price": 5000,
    },
    {
        "slug": "patron",
        "name": "Patron",
        "description": "Fund an investigative reporter's time, with our thanks.",
        "benefits": ["Everything in Supporter", "Quarterly call with the editors"],
        "monthly_price": 1500,
        "yearly_price": 15000,
    },
]


def _read_password(email: str) -> str:
    """One line from stdin when piped; otherwise prompt twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-admin")
@with_appcontext
@click.argument("email")
@click.option("--name", default="Administrator", show_default=True, help="Display name.")
def create_admin(email: str, name: str) -> None:
    """Create a confirmed administrator, or promote an existing account."""
    try:
        email = normalize_email(
            validate_email(email.strip(), check_deliverability=False).normalized
        )
    except EmailNotValidError as exc:
        raise click.ClickException(f"Not a valid email address: {exc}") from exc
    user = find_user_by_email(email)
    if user is not None:
        # Like every role change: audited, and the account's sessions end (one opened with a
        # reader's password alone must not carry an administrator's rights).
        try:
            change_role(None, user, Role.ADMIN)
        except RoleChangeError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from error
        if user.email_confirmed_at is None:
            user.email_confirmed_at = utcnow()
        db.session.commit()
        click.echo(f"Promoted {email} to administrator.")
        return
    password = _read_password(email)
    problem = password_problem(password, email=email, display_name=name)
    if problem:
        raise click.ClickException(problem)
    create_user(email, name, password, role=Role.ADMIN, confirmed=True)
    db.session.commit()
    click.echo(f"Created administrator {email}.")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the demo sections and articles; running it again changes nothing."""
    from membership.demo_content import ARTICLES, SECTIONS

    sections = {}
    for position, (slug, name, description) in enumerate(SECTIONS):
        section = db.session.scalar(select(Section).where(Section.slug == slug))
        if section is None:
            section = Section(slug=slug, name=name, description=description, position=position)
            db.session.add(section)
        sections[slug] = section
    tags: dict[str, Tag] = {}
    created = 0
    now = utcnow()
    for item in ARTICLES:
        if db.session.scalar(select(Article.id).where(Article.slug == item["slug"])):
            continue
        article = Article(
            slug=item["slug"],
            title=item["title"],
            summary=item["summary"],
            body=item["body"],
            author_name=item["author"],
            section=sections[item["section"]],
            status=ArticleStatus.PUBLISHED,
            access_level=item["access"],
            published_at=now - timedelta(days=item["days_ago"], hours=created),
        )
        for tag_name in item["tags"]:
            # Tags keep the editor's spelling ("AI", "local government"); the slug is derived.
            tag_slug = slugify(tag_name, 60)
            if tag_slug not in tags:
                tags[tag_slug] = db.session.scalar(select(Tag).where(Tag.slug == tag_slug)) or Tag(
                    slug=tag_slug, name=tag_name
                )
            article.tags.append(tags[tag_slug])
        db.session.add(article)
        created += 1
    for position, tier in enumerate(DEMO_TIERS):
        if db.session.scalar(select(Tier.id).where(Tier.slug == tier["slug"])) is None:
            db.session.add(Tier(position=position, **tier))
    bump_site_version()  # the listings (in the shared cache) show the new stories
    db.session.commit()
    click.echo(f"Demo content ready: {len(SECTIONS)} sections, {created} new article(s).")


mail_group = AppGroup("mail", help="Outgoing mail.")


@mail_group.command("deliver")
@click.option("--watch", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option("--interval", default=30, show_default=True, type=click.IntRange(1, 3600))
def mail_deliver(watch: bool, interval: int) -> None:
    """Send emails that are waiting (new ones, or ones whose SMTP attempt failed)."""
    while True:
        sent = 0
        while (batch := deliver_due()) > 0:
            sent += batch
        click.echo(f"Delivered {sent} email(s).")
        if not watch:
            return
        time.sleep(interval)


stripe_group = AppGroup("stripe", help="Stripe products, prices and reconciliation.")


@stripe_group.command("sync")
def stripe_sync() -> None:
    """Create or update the Stripe Products and Prices of every paid tier (idempotent)."""
    from membership.billing import stripe_gateway
    from membership.billing.catalogue import sync_tier

    try:
        tiers = db.session.scalars(select(Tier)).all()
        changes = [change for tier in tiers for change in sync_tier(tier)]
    except stripe_gateway.PaymentProviderError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    for change in changes:
        click.echo(change)
    click.echo(f"Stripe catalogue in step: {len(changes)} change(s).")


@stripe_group.command("reconcile")
@click.option("--days", default=3, show_default=True, type=click.IntRange(1, 30))
def stripe_reconcile(days: int) -> None:
    """Re-read subscriptions and recent events from Stripe and repair what webhooks missed."""
    from membership.billing import stripe_gateway
    from membership.billing.reconcile import reconcile
    from membership.billing.webhooks import EVENT_HANDLERS

    def progress(items):
        with click.progressbar(items, label="Subscriptions", file=sys.stderr) as bar:
            yield from bar

    try:
        changes = reconcile(days, progress=progress, handlers=EVENT_HANDLERS)
    except stripe_gateway.PaymentProviderError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    conflicts = [change for change in changes if change.startswith("CONFLICT")]
    for change in changes:
        click.echo(change)
    click.echo(f"Reconciled: {len(changes) - len(conflicts)} change(s).")
    if conflicts:
        click.echo(
            f"{len(conflicts)} subscription(s) NOT applied: the Stripe customer and the metadata "
            "disagree about the member. See /admin/billing/conflicts."
        )


def register(app: Flask) -> None:
    """Attach the commands to the app."""
    from membership import members_cli, roles_cli, secrets_cli
    from membership.jobs.cli import worker

    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
    app.cli.add_command(mail_group)
    app.cli.add_command(stripe_group)
    app.cli.add_command(members_cli.members_group)
    app.cli.add_command(secrets_cli.rotate_secrets_command)
    app.cli.add_command(roles_cli.set_role)
    app.cli.add_command(worker)
