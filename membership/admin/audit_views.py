"""The audit log: read-only in the application (no route edits or deletes an entry)."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from membership.admin.audit_words import describe, target_label
from membership.admin.blueprint import bp
from membership.auth.services import normalize_email
from membership.extensions import db
from membership.models import AuditEvent, User
from membership.urls import page_number

PER_PAGE = 50
FILTERS = ("action", "actor", "target_type", "since", "until")


class AuditFilterForm(FlaskForm):
    """Filters from the query string (a GET form: nothing to protect with a CSRF token)."""

    class Meta:
        csrf = False

    action = StringField(
        "Event code",
        validators=[Optional(), Length(max=64)],
        description='Starts with, e.g. "member." or "settings".',
    )
    actor = StringField(
        "Done by (email)", validators=[Optional(), Length(max=254)], render_kw={"type": "email"}
    )
    target_type = SelectField("On", validators=[Optional()], validate_choice=False)
    since = DateField("From (UTC)", validators=[Optional()])
    until = DateField("Until (UTC, inclusive)", validators=[Optional()])

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError("The end date cannot be before the start date.")


@dataclass(frozen=True)
class Entry:
    event: AuditEvent
    actor_email: str | None
    actor_name: str | None
    target_email: str | None
    details: list[tuple[str, str]]
    sentence: str = ""


@dataclass(frozen=True)
class Page:
    """What the `pagination` macro needs."""

    items: list[Entry]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PER_PAGE))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _text(value) -> str:
    if value is None:
        return "(none)"
    if value == "":
        return "(empty)"
    if isinstance(value, str):
        return _when(value) or value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _when(value: str) -> str | None:
    """An ISO timestamp as a reader writes it ("12 Jan 2099", with the time unless midnight)."""
    if len(value) < 19 or value[4] != "-" or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.time() == time.min:
        return f"{moment:%-d %b %Y}"
    return f"{moment:%-d %b %Y %H:%M}" + (" UTC" if moment.utcoffset() == timedelta(0) else "")


def detail_lines(details: dict | None) -> list[tuple[str, str]]:
    """(label, text) pairs in words; a {"old": ..., "new": ...} change reads "old → new"."""
    lines = []
    for key, value in (details or {}).items():
        label = key.replace("_", " ")
        if isinstance(value, dict) and set(value) == {"old", "new"}:
            lines.append((label, f"{_text(value['old'])} → {_text(value['new'])}"))
        elif key == "author_id" and isinstance(value, int):
            lines.append(("author", f"member #{value}"))
        else:
            lines.append((label, _text(value)))
    return lines


def _start_of(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_page(form: AuditFilterForm, page: int) -> Page:
    """One page of matching events, newest first: a count and one joined query."""
    actor = aliased(User)
    target = aliased(User)
    conditions = []
    if form.action.data:
        conditions.append(AuditEvent.action.startswith(form.action.data.strip(), autoescape=True))
    if form.actor.data:
        conditions.append(actor.email == normalize_email(form.actor.data))
    if form.target_type.data:
        conditions.append(AuditEvent.target_type == form.target_type.data)
    if form.since.data:
        conditions.append(AuditEvent.created_at >= _start_of(form.since.data))
    if form.until.data:
        conditions.append(AuditEvent.created_at < _start_of(form.until.data + timedelta(days=1)))
    joined = (
        select(AuditEvent, actor.email, actor.display_name, target.email, target.display_name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(
            target, and_(AuditEvent.target_type == "user", target.id == AuditEvent.target_id)
        )
        .where(*conditions)
    )
    total = db.session.scalar(select(func.count()).select_from(joined.subquery())) or 0
    rows = db.session.execute(
        joined.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    items = [
        Entry(
            event,
            actor_email,
            actor_name,
            target_email,
            detail_lines(event.details),
            describe(
                event.action,
                event.details,
                target_label(event.target_type, event.target_id, target_name),
            ),
        )
        for event, actor_email, actor_name, target_email, target_name in rows
    ]
    return Page(items, page, total)


@bp.route("/audit")
def audit():
    """Who did what, on whom, when and from where; filterable, newest first."""
    form = AuditFilterForm(formdata=request.args)
    types = db.session.scalars(
        select(AuditEvent.target_type).distinct().order_by(AuditEvent.target_type)
    ).all()
    wanted = request.args.get("target_type", "")
    if wanted and wanted not in types:
        types = [*types, wanted]  # keep the choice shown even when nothing matches it
    form.target_type.choices = [("", "Anything"), *((name, name) for name in types)]
    filters = {name: request.args[name] for name in FILTERS if request.args.get(name)}
    if not form.validate():
        return render_template("admin/audit.html", form=form, page=None, filters=filters), 422
    page = audit_page(form, page_number())
    return render_template("admin/audit.html", form=form, page=page, filters=filters)
