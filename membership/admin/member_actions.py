"""What an administrator may do to one member right now, and what each action says it did."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from membership.account.services import delete_account_by_admin
from membership.admin import members as rules
from membership.extensions import db
from membership.models import AccountStatus, Tier, User

# Actions that take something away from the member: each asks for one confirmation page.
DANGEROUS = ("suspend", "ban", "sign_out", "end_comp", "delete")
# The actions the member page groups, in the order it shows them.
GROUPS = {
    "account": ("resend_confirmation", "reactivate"),
    "membership": ("grant_comp", "end_comp"),
    "labels": ("add_label", "remove_label", "note"),
    "danger": ("sign_out", "suspend", "ban", "delete"),
}
LABELS = {
    "suspend": "Suspend",
    "ban": "Ban",
    "reactivate": "Reactivate",
    "grant_comp": "Grant complimentary membership",
    "end_comp": "End complimentary membership",
    "resend_confirmation": "Resend confirmation email",
    "sign_out": "Sign out everywhere",
    "note": "Add note",
    "add_label": "Add label",
    "remove_label": "Remove label",
    "delete": "Delete member",
}


@dataclass(frozen=True)
class Situation:
    """The facts about a member that decide which actions apply."""

    user: User
    actor: User
    session_count: int
    labels: list[str]
    has_paid_tiers: bool


def applicable(situation: Situation) -> set[str]:
    """The actions that make sense for this member, seen by this administrator."""
    user, actor = situation.user, situation.actor
    protected = user.id == actor.id or user.is_admin
    actions = {"note", "add_label"}
    if situation.labels:
        actions.add("remove_label")
    if not user.is_confirmed:
        actions.add("resend_confirmation")
    if user.status != AccountStatus.ACTIVE:
        actions.add("reactivate")
    if situation.has_paid_tiers:
        actions.add("grant_comp")
    if user.complimentary_tier_id is not None:
        actions.add("end_comp")
    if not protected:
        if situation.session_count:
            actions.add("sign_out")
        if user.status == AccountStatus.ACTIVE:
            actions.add("suspend")
        if user.status != AccountStatus.BANNED:
            actions.add("ban")
        actions.add("delete")
    return actions


def why_not(action: str, user: User) -> str:
    """The message for an action that does not apply (a stale page, or a crafted POST)."""
    name = user.display_name
    return {
        "reactivate": f"{name} is already active.",
        "end_comp": f"{name} has no complimentary membership.",
        "resend_confirmation": f"{name} has already confirmed {user.email}.",
        "sign_out": f"{name} has no active session.",
        "suspend": f"{name} cannot be suspended from here.",
        "ban": f"{name} cannot be banned from here.",
        "delete": f"{name} cannot be deleted from here.",
        "remove_label": f"{name} has no label to remove.",
    }.get(action, "That action does not apply to this member.")


def parse_day(value: str | None) -> datetime | None:
    """An optional YYYY-MM-DD date from a form, as midnight UTC."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise rules.MemberActionError("Dates are written YYYY-MM-DD.") from exc


def _tier(slug: str | None) -> Tier:
    tier = db.session.scalar(select(Tier).where(Tier.slug == (slug or "")))
    if tier is None:
        raise rules.MemberActionError("Choose a tier.")
    return tier


def _day(value: datetime | None) -> str:
    return f" until {value:%-d %b %Y}" if value else ""


def check(action: str, user: User, form: Mapping) -> None:
    """Refuse bad input before the confirmation page, so that page only ever asks "sure?"."""
    if action in ("suspend", "ban") and not (form.get("reason") or "").strip():
        raise rules.MemberActionError("Give a reason: the member will see it.")
    until = parse_day(form.get("until"))
    if until is not None and until <= datetime.now(UTC):
        raise rules.MemberActionError("Choose a date in the future.")
    if action == "grant_comp":
        _tier(form.get("tier"))


def perform(action: str, user: User, form: Mapping, actor: User) -> str:
    """Do the action (the caller commits) and say what happened, in words."""
    name = user.display_name
    if action == "suspend":
        until = parse_day(form.get("until"))
        rules.suspend_member(user, form.get("reason", ""), until, actor)
        return f"{name} is suspended{_day(until) or ' until further notice'}."
    if action == "ban":
        rules.ban_member(user, form.get("reason", ""), actor)
        return f"{name} is banned and signed out everywhere."
    if action == "reactivate":
        rules.reactivate_member(user, actor)
        return f"{name} is active again."
    if action == "grant_comp":
        tier, until = _tier(form.get("tier")), parse_day(form.get("until"))
        rules.grant_complimentary(user, tier, until, actor)
        return f"{name} has a complimentary {tier.name} membership{_day(until)}."
    if action == "end_comp":
        rules.end_complimentary(user, actor)
        return f"{name}'s complimentary membership has ended."
    if action == "resend_confirmation":
        rules.resend_confirmation(user, actor)
        return f"A new confirmation email is on its way to {user.email}."
    if action == "sign_out":
        count = rules.sign_out_everywhere(user, actor)
        return f"{name} is signed out of {count} session{'s' if count != 1 else ''}."
    if action == "note":
        rules.add_note(user, form.get("body", ""), actor)
        return f"Your note on {name} is saved."
    if action == "add_label":
        rules.add_label(user, form.get("label", ""), actor)
        return f"{name} is labelled “{rules.clean_label(form.get('label', ''))}”."
    if action == "remove_label":
        rules.remove_label(user, form.get("label", ""), actor)
        return f"The label “{rules.clean_label(form.get('label', ''))}” is off {name}."
    if action == "delete":
        delete_account_by_admin(user, actor)
        return f"{name}'s account is deleted; their subscriptions were cancelled first."
    raise rules.MemberActionError("Unknown action.")


def question(action: str, user: User, form: Mapping) -> str:
    """The confirmation page's question, with the values the administrator typed."""
    name = user.display_name
    until = _day(parse_day(form.get("until")))
    reason = (form.get("reason") or "").strip()
    return {
        "suspend": f"Suspend {name}{until or ' until further notice'}? Reason shown to them: "
        f"“{reason}”. Their sessions end now.",
        "ban": f"Ban {name}? Reason: “{reason}”. They are signed out and cannot sign in or "
        "register again with this address.",
        "sign_out": f"Sign {name} out of every browser and device?",
        "end_comp": f"End {name}'s complimentary membership now?",
        "delete": f"Delete {name}'s account ({user.email})? Their Stripe subscriptions are "
        "cancelled first. This cannot be undone.",
    }[action]
