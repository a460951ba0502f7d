"""Sign-in, registration and password forms."""

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from membership.auth.passwords import MAX_LENGTH, password_problem


class ValidEmail:
    """Check the address's syntax with email-validator, without any DNS lookup."""

    def __call__(self, form, field) -> None:
        try:
            result = validate_email(field.data or "", check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(f"Enter a valid email address: {exc}") from exc
        field.data = result.normalized


class StrongPassword:
    """Apply the password policy (length, common passwords, not the email or name)."""

    def __call__(self, form, field) -> None:
        email = getattr(form, "email", None)
        name = getattr(form, "display_name", None)
        problem = password_problem(
            field.data or "",
            email=(email.data or "") if email else "",
            display_name=(name.data or "") if name else "",
        )
        if problem:
            raise ValidationError(problem)


def email_field(label: str = "Email") -> EmailField:
    return EmailField(
        label,
        validators=[DataRequired("Enter your email address."), Length(max=254), ValidEmail()],
        render_kw={"autocomplete": "email"},
    )


def new_password_fields():
    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), StrongPassword()],
        description="At least 12 characters. A few unrelated words work well.",
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords do not match."),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": MAX_LENGTH},
    )
    return password, confirm


class DisplayNameField(StringField):
    """A display name, trimmed; shown beside the reader's comments."""

    def __init__(self, label="Display name", **kwargs):
        super().__init__(
            label,
            validators=[DataRequired("Choose a display name."), Length(min=2, max=60)],
            filters=[lambda value: " ".join(value.split()) if value else value],
            description="Shown beside your comments.",
            render_kw={"autocomplete": "nickname"},
            **kwargs,
        )


class RegisterForm(FlaskForm):
    email = email_field()
    display_name = DisplayNameField()
    password, password_confirm = new_password_fields()


class LoginForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in for 30 days")


class EmailOnlyForm(FlaskForm):
    email = email_field()


class ResetPasswordForm(FlaskForm):
    password, password_confirm = new_password_fields()


class ReauthenticateForm(FlaskForm):
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class TwoFactorForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code."), Length(max=40)],
        description="The 6-digit code from your authenticator app, or a recovery code.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class EnableTwoFactorForm(FlaskForm):
    code = StringField(
        "Code from the app",
        validators=[DataRequired("Enter the 6-digit code."), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class DisableTwoFactorForm(FlaskForm):
    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password."), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
