"""Membership forms."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length


class PlanForm(FlaskForm):
    """Which tier and how often; checked again on the server against the active tiers."""

    tier = StringField(validators=[DataRequired("Choose a plan."), Length(max=60)])
    interval = HiddenField(
        validators=[AnyOf(["month", "year"], message="Choose monthly or yearly billing.")]
    )


class ButtonForm(FlaskForm):
    """Only the CSRF token."""
