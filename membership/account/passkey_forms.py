"""Forms of the passkeys page."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from membership.auth.passkeys import NAME_MAX


class PasskeyNameForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give the passkey a name, such as the device it lives on."),
            Length(max=NAME_MAX, message=f"At most {NAME_MAX} characters."),
        ],
    )


class RemovePasskeyForm(FlaskForm):
    """Only the CSRF token: the button is the confirmation."""
