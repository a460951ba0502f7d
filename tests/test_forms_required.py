"""No form field renders `required="None"`, and only required fields carry `required`.

Every FlaskForm of the application is rendered, field by field, through the `field` macro the
templates use (and the pages with forms are fetched), so a new form is checked too.
"""

import importlib
import pkgutil
import re

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm

import membership

REQUIRED_ATTRIBUTE = re.compile(r"<(?:input|textarea|select)\b[^>]*\srequired(?:[\s=>/])", re.I)
MACRO = '{% from "_macros.html" import field %}{{ field(f) }}'
# Field types a browser never marks as required (hidden values, buttons, CSRF).
NOT_FILLED_IN = {"HiddenField", "CSRFTokenField", "SubmitField"}


def application_forms() -> list[type[FlaskForm]]:
    """Every FlaskForm subclass defined under membership/ (each module imported once)."""
    for info in pkgutil.walk_packages(membership.__path__, "membership."):
        importlib.import_module(info.name)
    found, pending = [], list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        if form.__module__.startswith("membership."):
            found.append(form)
    return sorted(set(found), key=lambda form: f"{form.__module__}.{form.__name__}")


FORMS = application_forms()


def test_the_forms_are_found():
    names = {form.__name__ for form in FORMS}
    assert {"ArticleForm", "SponsorForm", "ReportForm", "RegisterForm", "TierForm"} <= names


@pytest.mark.parametrize("form_class", FORMS, ids=[form.__name__ for form in FORMS])
def test_each_field_is_required_exactly_when_its_validators_say_so(app, form_class):
    with app.test_request_context("/"):
        form = form_class(formdata=None, meta={"csrf": False})
        for name, bound in form._fields.items():
            if bound.type in NOT_FILLED_IN:
                continue
            html = str(render_template_string(MACRO, f=bound))
            assert 'required="None"' not in html, f"{form_class.__name__}.{name}"
            required = bool(bound.flags.required)
            assert not (required and bound.flags.optional), f"{form_class.__name__}.{name}"
            marked = bool(REQUIRED_ATTRIBUTE.search(html))
            if bound.type in ("RadioField", "BooleanField"):
                assert not marked or required, f"{form_class.__name__}.{name}"
            else:
                assert marked == required, f"{form_class.__name__}.{name}: {html}"


@pytest.mark.parametrize(
    "path",
    ["/register", "/login", "/sponsor", "/reset-password", "/membership"],
)
def test_public_pages_with_forms_carry_no_required_none(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert 'required="None"' not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/articles/new",
        "/admin/tiers/new",
        "/admin/settings",
        "/admin/settings/comments",
        "/admin/audit",
        "/admin/members",
        "/admin/members/import",
        "/account",
    ],
)
def test_admin_and_account_pages_carry_no_required_none(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200, path
    assert 'required="None"' not in response.get_data(as_text=True)


def test_optional_fields_named_in_the_issue_are_not_required(admin_client, client):
    """Report details, sponsor message and name on the wall, article slug, tags and cover."""
    sponsor = client.get("/sponsor").get_data(as_text=True)
    article = admin_client.get("/admin/articles/new").get_data(as_text=True)
    for page, field_id in [
        (sponsor, "message"),
        (sponsor, "public_name"),
        (article, "slug"),
        (article, "tags"),
        (article, "cover_image_url"),
    ]:
        tag = re.search(rf"<(?:input|textarea)\b[^>]*\bid=\"{field_id}\"[^>]*>", page)
        assert tag is not None, field_id
        assert not REQUIRED_ATTRIBUTE.search(tag.group(0)), tag.group(0)
