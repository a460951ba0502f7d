"""Forms of the admin area."""

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from membership.urls import is_safe_redirect

SLUG = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message="Lower-case letters, digits and hyphens.")
ACCESS_CHOICES = [
    SelectChoice("public", "Everyone"),
    SelectChoice("members", "Signed-in readers"),
    SelectChoice("paid", "Paying members"),
]
POLICY_CHOICES = [
    SelectChoice("everyone", "Everyone signed in and confirmed"),
    SelectChoice("paying", "Paying members only"),
    SelectChoice("closed", "Closed"),
]


class ArticleForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=120), SLUG],
        description="The address: /articles/<slug>. Left empty, it is made from the title.",
    )
    summary = TextAreaField(
        "Summary", validators=[DataRequired(), Length(max=300)], render_kw={"rows": 3}
    )
    body = TextAreaField(
        "Body (Markdown)",
        validators=[DataRequired(), Length(max=200_000)],
        render_kw={"rows": 18},
    )
    author_name = StringField("Byline", validators=[DataRequired(), Length(max=120)])
    section_id = SelectField("Section", coerce=int, validators=[DataRequired()])
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=300)],
        description="Comma-separated, e.g. climate, city hall",
    )
    cover_image_url = StringField(
        "Cover image URL",
        validators=[Optional(), Length(max=500)],
        description="A full address (https://…) or a path on this site, e.g. /static/cover.jpg.",
    )
    access_level = SelectField("Who can read it", choices=ACCESS_CHOICES)
    comment_policy = SelectField(
        "Who can comment",
        choices=[SelectChoice("", "Site default"), *POLICY_CHOICES],
        validators=[Optional()],
    )
    published_at = DateTimeLocalField(
        "Publication time (UTC)",
        validators=[Optional()],
        description="Empty: now, when you publish. A future time schedules the story.",
    )

    def validate_cover_image_url(self, field) -> None:
        """A web address with a host, or a site-relative path (never one a browser reads as
        another site: "//host", "/\\host", a tab or newline inside)."""
        value = (field.data or "").strip()
        field.data = value
        if is_safe_redirect(value):
            return
        URL(
            require_tld=True,
            message="Enter a full address starting with https:// or a path on this site "
            "starting with /, e.g. /static/cover.jpg.",
        )(self, field)


class CommentSettingsForm(FlaskForm):
    comment_policy = SelectField("Who can comment, by default", choices=POLICY_CHOICES)
    comments_auto_close_days = IntegerField(
        "Close comments automatically after (days, 0 = never)",
        validators=[NumberRange(min=0, max=3650)],
    )
    report_threshold = IntegerField(
        "Hide a comment for review after this many open reports",
        validators=[NumberRange(min=1, max=100)],
    )


class ButtonForm(FlaskForm):
    """Only the CSRF token."""


class TierForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    slug = StringField("Slug", validators=[DataRequired(), Length(max=60), SLUG])
    description = TextAreaField("Description", validators=[Length(max=1000)], render_kw={"rows": 3})
    benefits = TextAreaField(
        "Benefits",
        description="One per line.",
        validators=[Length(max=2000)],
        render_kw={"rows": 4},
    )
    monthly_price = DecimalField(
        "Monthly price", places=2, validators=[InputRequired(), NumberRange(min=0, max=100_000)]
    )
    # Stripe's largest amount is 99,999,999 in minor units: 999,999.99 in major ones.
    yearly_price = DecimalField(
        "Yearly price",
        places=2,
        validators=[InputRequired(), NumberRange(min=0, max=Decimal("999999.99"))],
    )
    position = IntegerField("Order", default=0, validators=[NumberRange(min=0, max=1000)])
    active = BooleanField("Offered to readers", default=True)
