"""Forms of the account page."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from membership.auth.forms import DisplayNameField, email_field, new_password_fields


def current_password_field(label: str = "Current password") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired("Enter your current password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class ProfileForm(FlaskForm):
    display_name = DisplayNameField()


class ChangeEmailForm(FlaskForm):
    email = email_field("New email address")
    current_password = current_password_field()


class ChangePasswordForm(FlaskForm):
    current_password = current_password_field()
    password, password_confirm = new_password_fields()


class DeleteAccountForm(FlaskForm):
    current_password = current_password_field("Your password")
    understood = BooleanField(
        "I understand that this cannot be undone.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class NotificationsForm(FlaskForm):
    notify_replies = BooleanField("Email me when someone replies to my comments")


class SignOutOthersForm(FlaskForm):
    """Only the CSRF token: a button."""
