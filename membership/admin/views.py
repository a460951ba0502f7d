"""The admin area: articles, tiers and site settings (members and moderation come next)."""

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from membership import formatting
from membership.admin import articles as editorial
from membership.admin import dashboard
from membership.admin import tiers as tier_rules
from membership.admin.blueprint import bp
from membership.admin.forms import ArticleForm, ButtonForm, CommentSettingsForm, TierForm
from membership.articles.services import sections
from membership.articles.views import render_article
from membership.audit import record
from membership.billing import stripe_gateway as gateway
from membership.extensions import db
from membership.models import Article, Tier
from membership.models.types import utcnow
from membership.settings import all_settings, get_setting, set_setting
from membership.sponsors.queries import totals_by_article
from membership.urls import page_number


@bp.route("")
def index():
    """Administrators: the dashboard. Moderators: the way to comment moderation."""
    if not current_user.is_admin:
        return render_template("admin/index.html")
    now = utcnow()
    currency = str(get_setting("currency")).lower()

    def money(amount: int) -> str:
        return formatting.money(amount, currency)

    members_before, members = dashboard.members_by_month(now)
    mrr = dashboard.mrr_by_month(now, currency)
    sponsorships = dashboard.sponsorships_by_month(now)
    month_before = [members_before, *(point.value for point in members[:-1])]
    new_members = [
        point.value - before for point, before in zip(members, month_before, strict=True)
    ]
    charts = [
        {
            "id": "chart-members",
            "title": "Members over time",
            "desc": "Accounts at the end of each month (signups added up). "
            + dashboard.describe(members),
            "summary": dashboard.describe(members),
            "chart": dashboard.chart("line", members),
            "note": "Counted from the signup dates of the accounts that exist today: "
            "deleted accounts drop out of every month.",
            "columns": ["New accounts", "Accounts at month end"],
            "rows": [
                (point.label, [f"{new:,}", f"{point.value:,}"])
                for point, new in zip(members, new_members, strict=True)
            ],
        },
        {
            "id": "chart-mrr",
            "title": "Monthly recurring revenue over time",
            "desc": "Monthly recurring revenue at the end of each month. "
            + dashboard.describe(mrr, money),
            "summary": dashboard.describe(mrr, money),
            "chart": dashboard.chart("line", mrr, money, smallest_step=100),
            "note": "An estimate: each subscription counts at its current price (monthly, or "
            "yearly divided by 12) in every month end between its start and its end. Earlier "
            "price or plan changes, trials and time spent past due are not replayed, and only "
            f"subscriptions in {currency.upper()} are added up.",
            "columns": [f"Recurring revenue ({currency.upper()})"],
            "rows": [(point.label, [money(point.value)]) for point in mrr],
        },
        {
            "id": "chart-sponsorships",
            "title": "Sponsorships per month",
            "desc": "Net sponsorship money received each month. "
            + dashboard.describe(sponsorships, money),
            "summary": dashboard.describe(sponsorships, money),
            "chart": dashboard.chart("bar", sponsorships, money, smallest_step=100),
            "note": "Money received, less refunds and open or lost disputes.",
            "columns": [f"Net received ({currency.upper()})"],
            "rows": [(point.label, [money(point.value)]) for point in sponsorships],
        },
    ]
    mrr_now = dashboard.mrr_by_currency()
    return render_template(
        "admin/dashboard.html",
        now=now,
        currency=currency,
        figures=dashboard.headline(now),
        tiers=dashboard.paying_by_tier(now),
        mrr=mrr_now.pop(currency, 0),
        other_currencies=sorted(mrr_now.items()),
        sponsorship=dashboard.sponsorship_totals(now),
        charts=charts,
        sponsoring_stories=totals_by_article(10),
    )


ARTICLE_STATUSES = {
    "": "All",
    "draft": "Drafts",
    "scheduled": "Scheduled",
    "published": "Published",
}


@bp.route("/articles")
def articles():
    """Every article, newest first (by publication time, else creation), filtered by status."""
    status = request.args.get("status", "")
    status = status if status in ARTICLE_STATUSES else ""
    page = db.paginate(
        editorial.articles_query(status, utcnow()),
        page=page_number(),
        per_page=50,
        error_out=False,
    )
    return render_template(
        "admin/articles.html",
        page=page,
        status=status,
        statuses=ARTICLE_STATUSES,
        counts=editorial.status_counts(utcnow()),
        now=utcnow(),
        button_form=ButtonForm(),
    )


def _article_form(article: Article | None = None) -> ArticleForm:
    form = ArticleForm(obj=article)
    form.section_id.choices = [(s.id, s.name) for s in sections()]
    if article is not None and request.method == "GET":
        form.tags.data = ", ".join(tag.name for tag in article.tags)
        form.comment_policy.data = article.comment_policy or ""
        if article.published_at:
            form.published_at.data = article.published_at.replace(tzinfo=None)
    return form


def _save(article: Article | None):
    form = _article_form(article)
    if form.validate_on_submit():
        values = {name: field.data for name, field in form._fields.items()}
        try:
            saved = editorial.save_article(article, values, current_user)
        except editorial.EditorialError as error:
            form.slug.errors.append(str(error))
        else:
            db.session.commit()
            flash("Saved.", "success")
            return redirect(url_for("admin.edit_article", article_id=saved.id))
    status = 422 if form.errors else 200
    return render_template(
        "admin/article_form.html",
        form=form,
        article=article,
        button_form=ButtonForm(),
        now=utcnow(),
    ), status


@bp.route("/articles/new", methods=["GET", "POST"])
def new_article():
    """Write a new article (saved as a draft)."""
    return _save(None)


@bp.route("/articles/<int:article_id>", methods=["GET", "POST"])
def edit_article(article_id: int):
    """Edit an article."""
    return _save(db.get_or_404(Article, article_id))


@bp.route("/articles/<int:article_id>/preview")
def preview_article(article_id: int):
    """The article as readers will see it, drafts included."""
    return render_article(db.get_or_404(Article, article_id), preview=True)


@bp.route("/articles/<int:article_id>/publish", methods=["POST"])
def publish_article(article_id: int):
    """Publish (or schedule) an article."""
    return _change_publication(article_id, editorial.publish, "Published")


@bp.route("/articles/<int:article_id>/unpublish", methods=["POST"])
def unpublish_article(article_id: int):
    """Take an article back to draft."""
    return _change_publication(article_id, editorial.unpublish, "Unpublished")


def _change_publication(article_id: int, change, verb: str):
    article = db.get_or_404(Article, article_id)
    if ButtonForm().validate_on_submit():
        change(article, current_user)
        db.session.commit()
        flash(f"{verb}: {article.title}", "success")
    return redirect(url_for("admin.edit_article", article_id=article.id))


@bp.route("/tiers")
def tiers():
    """Membership tiers, in the order readers see them."""
    rows = db.session.scalars(select(Tier).order_by(Tier.position, Tier.monthly_price)).all()
    return render_template("admin/tiers.html", tiers=rows, stripe_ready=gateway.is_configured())


@bp.route("/tiers/new", methods=["GET", "POST"])
def new_tier():
    """Add a tier."""
    return _save_tier(None)


@bp.route("/tiers/<int:tier_id>", methods=["GET", "POST"])
def edit_tier(tier_id: int):
    """Edit a tier; a new price creates a new Stripe Price, subscribers keep theirs."""
    return _save_tier(db.get_or_404(Tier, tier_id))


def _save_tier(tier: Tier | None):
    form = TierForm(obj=tier)
    if tier is not None and request.method == "GET":
        form.benefits.data = "\n".join(tier.benefits or [])
        form.monthly_price.data = Decimal(tier.monthly_price) / 100
        form.yearly_price.data = Decimal(tier.yearly_price) / 100
    if form.validate_on_submit():
        values = {name: field.data for name, field in form._fields.items()}
        try:
            saved, changes = tier_rules.save_tier(tier, values, current_user)
        except tier_rules.TierError as error:
            db.session.rollback()
            form.slug.errors.append(str(error))
        except gateway.PaymentProviderError as error:
            db.session.rollback()
            form.form_errors.append(f"Stripe could not be updated, nothing was saved: {error}")
        else:
            db.session.commit()
            flash("Tier saved." + (" Stripe updated." if changes else ""), "success")
            return redirect(url_for("admin.edit_tier", tier_id=saved.id))
    status = 422 if form.errors or form.form_errors else 200
    return render_template("admin/tier_form.html", form=form, tier=tier), status


@bp.route("/settings/comments", methods=["GET", "POST"])
def comment_settings():
    """Site-wide comment policy, auto-close and report threshold."""
    form = CommentSettingsForm(data=all_settings())
    if form.validate_on_submit():
        changes = {}
        for name in ("comment_policy", "comments_auto_close_days", "report_threshold"):
            value = form[name].data
            if all_settings()[name] != value:
                changes[name] = value
        for name, value in changes.items():
            set_setting(name, value)
        if changes:
            record(current_user, "settings.comments", target_type="settings", **changes)
        db.session.commit()
        flash("Comment settings saved.", "success")
        return redirect(url_for("admin.comment_settings"))
    status = 422 if form.errors else 200
    return render_template("admin/comment_settings.html", form=form), status
