"""Finding members and acting on them: the rules behind /admin/members."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import aliased

from membership import audit
from membership.access import LIVE_STATUSES
from membership.admin.audit_words import describe
from membership.admin.members_search import (  # noqa: F401 - this module's public names
    SORTS,
    MemberPage,
    filtered_members_query,
    members_page,
)
from membership.auth.services import send_confirmation
from membership.auth.sessions import revoke_sessions
from membership.auth.standing import ban, reactivate, suspend
from membership.extensions import db
from membership.models import (
    Article,
    AuditEvent,
    Comment,
    CommentReport,
    MemberLabel,
    MemberNote,
    Subscription,
    Tier,
    User,
)
from membership.models.types import utcnow

log = logging.getLogger(__name__)

MAX_LABEL = 40


class MemberActionError(Exception):
    """An action on a member the rules refuse."""


def labels_for(user_ids: list[int]) -> dict[int, list[str]]:
    """Labels of a page of members, in one query."""
    labels: dict[int, list[str]] = {}
    if user_ids:
        for user_id, label in db.session.execute(
            select(MemberLabel.user_id, MemberLabel.label)
            .where(MemberLabel.user_id.in_(user_ids))
            .order_by(MemberLabel.label)
        ):
            labels.setdefault(user_id, []).append(label)
    return labels


def tiers_for(user_ids: list[int]) -> dict[int, str]:
    """The paid tier name of each member on a page (subscription, else complimentary)."""
    result: dict[int, str] = {}
    if not user_ids:
        return result
    now = utcnow()
    for user_id, name in db.session.execute(
        select(User.id, Tier.name)
        .join(Tier, Tier.id == User.complimentary_tier_id)
        .where(
            User.id.in_(user_ids),
            or_(User.complimentary_until.is_(None), User.complimentary_until > now),
        )
    ):
        result[user_id] = f"{name} (complimentary)"
    for user_id, name in db.session.execute(
        select(Subscription.user_id, Tier.name)
        .join(Tier, Tier.id == Subscription.tier_id)
        .where(Subscription.user_id.in_(user_ids), Subscription.status.in_(LIVE_STATUSES))
    ):
        result[user_id] = name
    return result


def all_labels() -> list[str]:
    return list(
        db.session.scalars(select(MemberLabel.label).distinct().order_by(MemberLabel.label))
    )


def clean_label(label: str) -> str:
    label = " ".join((label or "").split()).lower()[:MAX_LABEL]
    if not label:
        raise MemberActionError("Enter a label.")
    return label


def add_label(user: User, label: str, actor: User) -> None:
    label = clean_label(label)
    if db.session.get(MemberLabel, (user.id, label)) is None:
        db.session.add(MemberLabel(user_id=user.id, label=label))
        audit.record(actor, "member.label.add", user, label=label)


def remove_label(user: User, label: str, actor: User) -> None:
    label = clean_label(label)
    removed = db.session.execute(
        delete(MemberLabel).where(MemberLabel.user_id == user.id, MemberLabel.label == label)
    ).rowcount
    if removed:
        audit.record(actor, "member.label.remove", user, label=label)


def _not_self_or_admin(user: User, actor: User) -> None:
    if user.id == actor.id:
        raise MemberActionError("You cannot do that to your own account.")
    if user.is_admin:
        raise MemberActionError("Demote an administrator before acting on their account.")
    if user.is_staff and not actor.is_admin:
        # Moderators reach staff through their comments; staff accounts are an admin's business.
        raise MemberActionError("Only an administrator can act on a member of staff.")


def suspend_member(user: User, reason: str, until: datetime | None, actor: User) -> None:
    _not_self_or_admin(user, actor)
    if not reason.strip():
        raise MemberActionError("Give the member a reason: they will see it.")
    if until is not None and until <= utcnow():
        raise MemberActionError("The end of a suspension must be in the future.")
    suspend(user, reason=reason.strip(), until=until)
    audit.record(
        actor, "member.suspend", user, reason=reason, until=until.isoformat() if until else None
    )


def ban_member(user: User, reason: str, actor: User) -> None:
    _not_self_or_admin(user, actor)
    if not reason.strip():
        raise MemberActionError("Give a reason for the ban.")
    ban(user, reason=reason.strip())
    audit.record(actor, "member.ban", user, reason=reason)


def reactivate_member(user: User, actor: User) -> None:
    reactivate(user)
    audit.record(actor, "member.reactivate", user)


def grant_complimentary(user: User, tier: Tier, until: datetime | None, actor: User) -> None:
    if tier.is_free:
        raise MemberActionError("Choose a paid tier.")
    if until is not None and until <= utcnow():
        raise MemberActionError("The end date must be in the future.")
    user.complimentary_tier_id = tier.id
    user.complimentary_until = until
    audit.record(
        actor, "member.comp.grant", user, tier=tier.slug, until=until.isoformat() if until else None
    )


def end_complimentary(user: User, actor: User) -> None:
    user.complimentary_tier_id = None
    user.complimentary_until = None
    audit.record(actor, "member.comp.end", user)


def resend_confirmation(user: User, actor: User) -> None:
    if user.is_confirmed:
        raise MemberActionError("This member's email is already confirmed.")
    send_confirmation(user)
    audit.record(actor, "member.confirmation.resend", user)


def sign_out_everywhere(user: User, actor: User) -> int:
    count = revoke_sessions(user)
    audit.record(actor, "member.sessions.revoke", user, sessions=count)
    return count


def add_note(user: User, body: str, actor: User) -> None:
    body = (body or "").strip()
    if not body or len(body) > 2000:
        raise MemberActionError("Notes are 1 to 2,000 characters.")
    db.session.add(MemberNote(user_id=user.id, author_id=actor.id, body=body))
    audit.record(actor, "member.note", user)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    code: str | None = None  # the audit event code, for a link to the filtered audit log


def timeline(user: User) -> list[TimelineEntry]:
    """Sign-up, confirmation, sign-ins, payments, comments, moderation and admin actions."""
    entries = [TimelineEntry(user.created_at, "Signed up")]
    if user.email_confirmed_at:
        entries.append(TimelineEntry(user.email_confirmed_at, "Confirmed the email address"))
    if user.last_login_at:
        entries.append(TimelineEntry(user.last_login_at, "Signed in (latest)"))
    for record in db.session.scalars(select(Subscription).where(Subscription.user_id == user.id)):
        tier = record.tier.name if record.tier else "a paid tier"
        entries.append(
            TimelineEntry(record.created_at, f"Subscribed to {tier} ({record.interval}ly)")
        )
        if record.payment_failed_notified_at:
            entries.append(TimelineEntry(record.payment_failed_notified_at, "A payment failed"))
        if record.ended_at:
            entries.append(TimelineEntry(record.ended_at, f"Subscription to {tier} ended"))
    for comment, title in db.session.execute(
        select(Comment, Article.title)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.author_id == user.id)
        .order_by(Comment.id.desc())
        .limit(50)
    ):
        state = "" if comment.status == "published" else f", {comment.status}"
        entries.append(
            TimelineEntry(comment.created_at, f"Commented on “{title}” (#{comment.id}{state})")
        )
    actor = aliased(User)
    for event, actor_name in db.session.execute(
        select(AuditEvent, actor.display_name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == user.id)
        .order_by(AuditEvent.id.desc())
        .limit(100)
    ):
        # No actor: a background job (or an account deleted since), as the audit log says.
        who = actor_name if actor_name is not None else "The system (or a deleted account)"
        words = describe(event.action, event.details, user.display_name)
        entries.append(TimelineEntry(event.created_at, f"{who} {words}", event.action))
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def reports_against(user: User) -> list[CommentReport]:
    return list(
        db.session.scalars(
            select(CommentReport)
            .join(Comment, Comment.id == CommentReport.comment_id)
            .where(Comment.author_id == user.id)
            .order_by(CommentReport.id.desc())
            .limit(50)
        )
    )


BULK_ACTIONS = ("add_label", "remove_label", "suspend")
BULK_LIMIT = 5000


def bulk(query: Select, action: str, value: str, actor: User) -> int:
    """Apply an action to every member the filters select (at most 5,000 at once)."""
    if action not in BULK_ACTIONS:
        raise MemberActionError("Choose an action.")
    # The acting administrator is never part of a bulk selection (the panel says so too).
    users = db.session.scalars(query.where(User.id != actor.id).limit(BULK_LIMIT + 1)).all()
    if len(users) > BULK_LIMIT:
        raise MemberActionError(f"Narrow the filters: at most {BULK_LIMIT:,} members at once.")
    done = 0
    for user in users:
        if action == "add_label":
            add_label(user, value, actor)
        elif action == "remove_label":
            remove_label(user, value, actor)
        elif user.id != actor.id and not user.is_admin and not user.is_banned:
            suspend_member(user, value, None, actor)
        else:
            continue
        done += 1
    audit.record(actor, f"members.bulk.{action}", target_type="members", count=done, value=value)
    return done


def comments_of(user: User, limit: int = 20) -> list[Comment]:
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.author_id == user.id)
            .order_by(Comment.id.desc())
            .limit(limit)
        )
    )


def live_filters(args: Mapping) -> dict[str, str]:
    """The filters in effect, to carry into links (pagination, export, bulk)."""
    keys = (
        "q",
        "status",
        "role",
        "tier",
        "plan",
        "sponsor",
        "from",
        "to",
        "twofa",
        "label",
        "sort",
    )
    return {key: args[key] for key in keys if args.get(key)}
