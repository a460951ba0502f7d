"""Comment, edit and report forms."""

import uuid

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import HiddenInput

from membership.comments.services import MAX_LENGTH
from membership.models import ReportReason


class CommentForm(FlaskForm):
    body = TextAreaField(
        "Your comment",
        validators=[
            DataRequired("Write something before posting."),
            Length(max=MAX_LENGTH, message=f"Comments are at most {MAX_LENGTH:,} characters."),
        ],
        description=(
            "Plain text: leave a blank line between paragraphs; web addresses become links. "
            f"Up to {MAX_LENGTH:,} characters."
        ),
        render_kw={"rows": 4, "maxlength": MAX_LENGTH},
    )
    reply_to = IntegerField(widget=HiddenInput(), validators=[Optional()])
    # A fresh id per rendered form: submitting the same form twice posts once.
    submission_id = HiddenField(validators=[Optional(), Length(max=64)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.submission_id.data:
            self.submission_id.data = uuid.uuid4().hex


class EditCommentForm(FlaskForm):
    body = CommentForm.body


class ReportForm(FlaskForm):
    reason = RadioField(
        "Why should a moderator look at this comment?",
        choices=[
            SelectChoice(ReportReason.SPAM.value, "Spam or advertising"),
            SelectChoice(ReportReason.ABUSE.value, "Abusive, hateful or harassing"),
            SelectChoice(ReportReason.OFF_TOPIC.value, "Off-topic"),
            SelectChoice(ReportReason.OTHER.value, "Something else"),
        ],
        validators=[DataRequired("Choose a reason.")],
    )
    details = TextAreaField(
        "Details (required for 'Something else')",
        validators=[Optional(), Length(max=500)],
        render_kw={"rows": 3, "maxlength": 500},
    )

    def validate_details(self, field) -> None:
        if self.reason.data == ReportReason.OTHER and not (field.data or "").strip():
            raise ValidationError("Tell us briefly what is wrong.")


class ButtonForm(FlaskForm):
    """Only the CSRF token: like, delete, unsubscribe buttons."""
