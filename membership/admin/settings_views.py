"""Site settings: comments and their hold rules, sponsorships, site name and currency.

One form, validated as a whole: when any field is wrong nothing is saved. Each save that changes
something writes one audit event, "settings.update", with the old and new value of every key.
"""

import re

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select, update
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from membership.admin.blueprint import bp
from membership.admin.forms import POLICY_CHOICES
from membership.audit import record
from membership.billing.currencies import currency_problem
from membership.extensions import db
from membership.models import Tier
from membership.settings import all_settings, set_setting

CURRENCY = re.compile(r"^[A-Za-z]{3}$")
LEVEL_LINE = re.compile(r"^(?P<name>.+?)\s*:\s*(?P<amount>\S+)$")
WHOLE = re.compile(r"^\d{1,7}$")
MAX_GIFT = 999_999  # Stripe refuses single charges of a million or more in most currencies
MAX_PRESETS = 8
MAX_LEVELS = 10
MAX_WORDS = 200
MAX_WORD_LENGTH = 50


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _number(unit: str, low: int, high: int) -> list:
    """Required whole number in [low, high]; `unit` ("days") makes the messages clearer."""
    suffix = f" {unit}" if unit else ""
    return [
        InputRequired(f"Enter a number of {unit}." if unit else "Enter a number."),
        NumberRange(low, high, message=f"Enter a whole number from {low:,} to {high:,}{suffix}."),
    ]


class SettingsForm(FlaskForm):
    # Comments
    comment_policy = SelectField("Who can comment, by default", choices=POLICY_CHOICES)
    comments_auto_close_days = IntegerField(
        "Close comments automatically after (days)",
        validators=_number("days", 0, 3650),
        description="Counted from publication; 0 keeps comments open.",
    )
    report_threshold = IntegerField(
        "Hide a comment for review after this many open reports",
        validators=_number("reports", 1, 100),
    )
    # Holding comments for review
    hold_first_comments = IntegerField(
        "Hold the first comments of new accounts",
        validators=_number("comments", 0, 100),
        description="How many of an account's first comments wait for a moderator; 0 holds none.",
    )
    hold_links = BooleanField("Hold comments that contain a link")
    hold_words = TextAreaField(
        "Hold comments that contain these words",
        description="One word or phrase per line; capitals do not matter. Empty holds none.",
        render_kw={"rows": 5},
    )
    # Sponsorships
    sponsor_presets = StringField(
        "Suggested amounts",
        validators=[InputRequired("Enter at least one suggested amount.")],
        description="Whole amounts separated by commas, e.g. 5, 10, 25, 50.",
    )
    sponsor_min = IntegerField("Smallest gift", validators=_number("", 1, MAX_GIFT))
    sponsor_max = IntegerField("Largest gift", validators=_number("", 1, MAX_GIFT))
    sponsor_levels = TextAreaField(
        "Levels on the sponsors wall",
        description="One level per line, written Name: lowest amount, e.g. Patrons: 25. "
        "A gift lands in the highest level it reaches.",
        render_kw={"rows": 4},
    )
    sponsor_goal_amount = IntegerField(
        "Monthly goal",
        validators=_number("", 0, 10_000_000),
        description="Monthly gifts count towards it; 0 shows no goal.",
    )
    sponsor_goal_text = StringField(
        "What the goal pays for",
        validators=[Optional(), Length(max=200, message="At most 200 characters.")],
    )
    # Site
    site_name = StringField(
        "Site name",
        validators=[Optional(), Length(max=80, message="At most 80 characters.")],
        description="Shown in the header and page titles. Empty uses the configured name.",
    )
    currency = StringField(
        "Currency",
        validators=[InputRequired("Enter a currency code.")],
        description="Three-letter ISO 4217 code, e.g. USD, EUR, GBP.",
        render_kw={"maxlength": 3, "autocapitalize": "characters"},
    )

    def validate_hold_words(self, field) -> None:
        words = _lines(field.data)
        if len(words) > MAX_WORDS:
            raise ValidationError(f"At most {MAX_WORDS} words or phrases.")
        long = [word for word in words if len(word) > MAX_WORD_LENGTH]
        if long:
            raise ValidationError(
                f"“{long[0][:20]}…” is too long: at most {MAX_WORD_LENGTH} characters a line."
            )
        unique: dict[str, str] = {}
        for word in words:
            unique.setdefault(word.casefold(), word)
        self.parsed_hold_words = list(unique.values())

    def validate_sponsor_presets(self, field) -> None:
        parts = [part.strip() for part in (field.data or "").split(",") if part.strip()]
        if not parts:
            raise ValidationError("Enter at least one suggested amount.")
        for part in parts:
            if not WHOLE.match(part):
                raise ValidationError(f"“{part[:20]}” is not a whole amount, like 5 or 25.")
        presets = sorted({int(part) for part in parts})
        if len(presets) > MAX_PRESETS:
            raise ValidationError(f"At most {MAX_PRESETS} suggested amounts.")
        self.parsed_presets = presets

    def validate_sponsor_levels(self, field) -> None:
        levels: list[list] = []
        for number, line in enumerate(_lines(field.data), start=1):
            match = LEVEL_LINE.match(line)
            if match is None or not WHOLE.match(match["amount"]):
                raise ValidationError(
                    f"Line {number}: write a level as Name: lowest amount, e.g. Patrons: 25."
                )
            name, amount = match["name"].strip(), int(match["amount"])
            if len(name) > 40:
                raise ValidationError(f"Line {number}: a level name has at most 40 characters.")
            if any(name.casefold() == other.casefold() for other, _ in levels):
                raise ValidationError(f"Line {number}: there is already a level called {name}.")
            if any(amount == other for _, other in levels):
                raise ValidationError(f"Line {number}: another level already starts at {amount}.")
            levels.append([name, amount])
        if not levels:
            raise ValidationError("Enter at least one level, e.g. Friends: 0.")
        if len(levels) > MAX_LEVELS:
            raise ValidationError(f"At most {MAX_LEVELS} levels.")
        self.parsed_levels = sorted(levels, key=lambda level: level[1])

    def validate_sponsor_max(self, field) -> None:
        low = self.sponsor_min.data
        if isinstance(low, int) and isinstance(field.data, int) and field.data < low:
            raise ValidationError("The largest gift cannot be smaller than the smallest.")

    def validate_currency(self, field) -> None:
        if not CURRENCY.match((field.data or "").strip()):
            raise ValidationError("Enter a three-letter ISO currency code, like USD or EUR.")
        problem = currency_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        low, high = self.sponsor_min.data, self.sponsor_max.data
        presets = getattr(self, "parsed_presets", None)
        if valid and presets and not (low <= presets[0] and presets[-1] <= high):
            self.sponsor_presets.errors.append(
                f"Suggested amounts must lie between the smallest ({low:,}) "
                f"and the largest gift ({high:,})."
            )
            valid = False
        return valid

    def values(self) -> dict[str, object]:
        """The validated form as settings values (call after `validate`)."""
        return {
            "comment_policy": self.comment_policy.data,
            "comments_auto_close_days": self.comments_auto_close_days.data,
            "report_threshold": self.report_threshold.data,
            "hold_first_comments": self.hold_first_comments.data,
            "hold_links": bool(self.hold_links.data),
            "hold_words": self.parsed_hold_words,
            "sponsor_presets": self.parsed_presets,
            "sponsor_min": self.sponsor_min.data,
            "sponsor_max": self.sponsor_max.data,
            "sponsor_levels": self.parsed_levels,
            "sponsor_goal_amount": self.sponsor_goal_amount.data,
            "sponsor_goal_text": (self.sponsor_goal_text.data or "").strip(),
            "site_name": (self.site_name.data or "").strip() or None,
            "currency": self.currency.data.strip().lower(),
        }


def form_data(current: dict) -> dict:
    """Stored settings as the form shows them."""
    return {
        **current,
        "hold_words": "\n".join(current["hold_words"] or []),
        "sponsor_presets": ", ".join(str(amount) for amount in current["sponsor_presets"] or []),
        "sponsor_levels": "\n".join(
            f"{name}: {amount}" for name, amount in current["sponsor_levels"]
        ),
        "site_name": current["site_name"] or "",
        "currency": str(current["currency"]).upper(),
    }


def synced_tiers():
    """Paid tiers with a Stripe product: their prices cannot change currency."""
    return db.session.scalars(
        select(Tier)
        .where(
            Tier.stripe_product_id.is_not(None),
            or_(Tier.monthly_price > 0, Tier.yearly_price > 0),
        )
        .order_by(Tier.position, Tier.name)
    ).all()


def currency_refusal(new: str, tiers) -> str | None:
    """Why the currency cannot become `new`, or None."""
    others = [tier for tier in tiers if tier.currency.lower() != new]
    if not others:
        return None
    names = ", ".join(f"{tier.name} ({tier.currency.upper()})" for tier in others)
    return (
        f"The currency cannot change to {new.upper()} while paid tiers are in Stripe with "
        f"another currency: {names}. Stripe prices keep their currency for good."
    )


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Every site setting on one page."""
    current = dict(all_settings())
    tiers = synced_tiers()
    form = SettingsForm(data=form_data(current))
    if form.validate_on_submit():
        values = form.values()
        refusal = None
        if values["currency"] != str(current["currency"]).lower():
            refusal = currency_refusal(values["currency"], tiers)
        if refusal:
            form.currency.errors.append(refusal)
        else:
            changes = {
                key: {"old": current[key], "new": value}
                for key, value in values.items()
                if current[key] != value
            }
            for key, change in changes.items():
                set_setting(key, change["new"])
            if changes:
                record(current_user, "settings.update", target_type="settings", **changes)
            if "currency" in changes:
                _move_unsynced_tiers(values["currency"])
            db.session.commit()
            flash(*(("Settings saved.", "success") if changes else ("Nothing changed.", "info")))
            return redirect(url_for("admin.settings"))
    status = 422 if form.errors else 200
    return render_template(
        "admin/settings.html",
        form=form,
        synced_tiers=tiers,
        currency=str(current["currency"]),
        configured_name=current_app.config["SITE_NAME"],
    ), status


def _move_unsynced_tiers(currency: str) -> None:
    """Tiers not in Stripe yet take the new currency, so their first sync uses it."""
    moved = db.session.scalars(
        select(Tier.slug).where(
            Tier.stripe_product_id.is_(None), func.lower(Tier.currency) != currency
        )
    ).all()
    if moved:
        db.session.execute(
            update(Tier).where(Tier.slug.in_(moved)).values(currency=currency),
            execution_options={"synchronize_session": False},
        )
        record(current_user, "tiers.currency", target_type="settings", tiers=moved, new=currency)
