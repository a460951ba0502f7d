"""The sponsorship form and the reader's changes to a gift."""

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from membership.models import Frequency, Recognition

AMOUNT_PATTERN = re.compile(r"^\d{1,7}(\.\d{1,2})?$")
RECOGNITION_CHOICES = [
    SelectChoice(Recognition.NAME_AND_AMOUNT.value, "Show my name and the amount"),
    SelectChoice(Recognition.NAME_ONLY.value, "Show my name only"),
    SelectChoice(Recognition.ANONYMOUS.value, "Keep me anonymous"),
]


def parse_amount(text: str | None) -> Decimal | None:
    """'25' or '12.50' -> Decimal; anything else (12.345, -5, 1e9, '') -> None."""
    text = (text or "").strip()
    return Decimal(text) if AMOUNT_PATTERN.match(text) else None


class AmountField(StringField):
    """An amount in major units, at most two decimals; bounds are checked by the form."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.amount = parse_amount(self.data)


class SponsorForm(FlaskForm):
    amount = AmountField(
        "Amount",
        validators=[DataRequired("Choose or enter an amount.")],
        render_kw={"inputmode": "decimal"},
    )
    frequency = RadioField(
        "How often",
        choices=[
            SelectChoice(Frequency.ONCE.value, "Once"),
            SelectChoice(Frequency.MONTHLY.value, "Monthly"),
        ],
        default=Frequency.ONCE.value,
        validators=[DataRequired("Choose once or monthly.")],
    )
    message = TextAreaField(
        "A message to the newsroom (optional)",
        validators=[Optional(), Length(max=500, message="At most 500 characters.")],
        render_kw={"rows": 3, "maxlength": 500},
    )
    recognition = RadioField(
        "On our sponsors wall",
        choices=RECOGNITION_CHOICES,
        default=Recognition.NAME_AND_AMOUNT.value,
        validators=[DataRequired("Choose how you want to appear.")],
    )
    public_name = StringField(
        "Name on the wall",
        validators=[Optional(), Length(max=80)],
        description="Shown only if you choose to be named.",
        render_kw={"autocomplete": "name"},
    )
    article = HiddenField(validators=[Optional(), Length(max=120)])

    def __init__(self, *args, bounds: tuple[int, int] = (1, 10_000), **kwargs):
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    def validate_amount(self, field) -> None:
        amount = getattr(field, "amount", None)
        low, high = self.bounds
        if amount is None:
            raise ValidationError("Enter an amount like 25 or 12.50.")
        if not low <= amount <= high:
            raise ValidationError(f"Choose an amount between {low:,} and {high:,}.")


class RecognitionForm(FlaskForm):
    recognition = RadioField("On our sponsors wall", choices=RECOGNITION_CHOICES)
    message = TextAreaField(
        "Message", validators=[Optional(), Length(max=500)], render_kw={"rows": 2, "maxlength": 500}
    )
    show_badge = BooleanField("Show a sponsor badge on my comments")


class MonthlyAmountForm(FlaskForm):
    amount = AmountField("New monthly amount", validators=[DataRequired("Enter an amount.")])

    def __init__(self, *args, bounds: tuple[int, int] = (1, 10_000), **kwargs):
        super().__init__(*args, **kwargs)
        self.bounds = bounds

    validate_amount = SponsorForm.validate_amount


class ButtonForm(FlaskForm):
    """Only the CSRF token."""
