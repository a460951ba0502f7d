"""Audit events in words ("suspended Rosa Reader: spam"), for the audit log and the timeline.

The event code (`member.suspend`) stays the stored truth and the filter; these sentences are
only how the admin pages read it. An unknown code reads as itself.
"""

from datetime import datetime


def _day(value) -> str:
    if not value:
        return ""
    try:
        return f" until {datetime.fromisoformat(str(value)):%-d %b %Y}"
    except ValueError:
        return f" until {value}"


def _quoted(value) -> str:
    return f"“{value}”" if value else ""


def _plural(count, word: str) -> str:
    count = int(count or 0)
    return f"{count:,} {word}{'' if count == 1 else 's'}"


COMMENT_VERBS = {
    "approve": "approved",
    "hide": "hid",
    "delete": "deleted",
    "feature": "featured",
    "unfeature": "stopped featuring",
}
ROLE_WORDS = {"reader": "a reader", "editor": "an editor", "moderator": "a moderator"}


def _role(value) -> str:
    return ROLE_WORDS.get(str(value), "an administrator" if value == "admin" else f"“{value}”")


def _job(details: dict) -> str:
    name = str(details.get("job") or "")
    return f"the background job “{name.replace('_', ' ')}”" if name else ""


def describe(action: str, details: dict | None, target: str) -> str:
    """The event as a phrase whose subject is the actor: "suspended Rosa Reader: spam"."""
    d = details or {}
    reason = f": {d['reason']}" if d.get("reason") else ""
    sub = f" {d['stripe_subscription']}" if d.get("stripe_subscription") else ""
    if action.startswith("comment."):
        verb = COMMENT_VERBS.get(action.removeprefix("comment."))
        return f"{verb} {target}" if verb else action
    if action.startswith("members.bulk."):
        what = action.removeprefix("members.bulk.")
        count = _plural(d.get("count"), "member")
        if what == "add_label":
            return f"labelled {count} {_quoted(d.get('value'))}"
        if what == "remove_label":
            return f"removed the label {_quoted(d.get('value'))} from {count}"
        if what == "suspend":
            return f"suspended {count}" + (f": {d['value']}" if d.get("value") else "")
    phrases = {
        "member.suspend": f"suspended {target}{_day(d.get('until'))}{reason}",
        "member.ban": f"banned {target}{reason}",
        "member.reactivate": f"reactivated {target}",
        "member.comp.grant": f"gave {target} a complimentary {d.get('tier', '')} membership"
        f"{_day(d.get('until'))}",
        "member.comp.end": f"ended {target}'s complimentary membership",
        "member.confirmation.resend": f"resent the confirmation email to {target}",
        "member.sessions.revoke": f"signed {target} out everywhere "
        f"({_plural(d.get('sessions'), 'session')})",
        "member.note": f"added a note about {target}",
        "member.label.add": f"labelled {target} {_quoted(d.get('label'))}",
        "member.label.remove": f"removed the label {_quoted(d.get('label'))} from {target}",
        "member.delete": f"deleted the account of {d.get('email') or target}",
        "member.role": f"made {target} {_role(d.get('new'))}"
        + (f" (was {_role(d.get('old'))})" if d.get("old") else ""),
        "member.comp.expired": f"ended {target}'s complimentary membership: it expired",
        "member.suspension.expired": f"lifted {target}'s suspension: it had run its course",
        "members.export": "exported members to CSV",
        "members.import": "imported members from CSV",
        "article.save": f"saved the article {_quoted(d.get('slug')) or target}",
        "article.publish": f"published the article {target}",
        "article.unpublish": f"took the article {target} back to draft",
        "tier.save": f"saved the tier {_quoted(d.get('slug')) or target}",
        "settings.update": "changed the site settings"
        + (f" ({', '.join(key.replace('_', ' ') for key in d)})" if d else ""),
        "settings.comments": "changed the comment settings",
        "tiers.currency": f"moved the tiers to {str(d.get('new', '')).upper()}",
        "job.retry": f"retried {_job(d) or target} now",
        "billing.subscription_conflict": f"found a Stripe subscription{sub} that matches "
        "no single member; it waits under Billing conflicts",
        "billing.conflict_dismiss": f"dismissed the billing conflict on subscription{sub}"
        + (f": {d['note']}" if d.get("note") else ""),
        "billing.conflict_resolved": f"closed the billing conflict on subscription{sub}: "
        "it now matches one member",
    }
    return phrases.get(action, action)


def target_label(target_type: str, target_id: int | None, name: str | None) -> str:
    """How the sentence names the object: the member's name, else "comment #12"."""
    if name:
        return name
    if target_type == "user":
        return f"member #{target_id}" if target_id else "a member"
    if target_id:
        return f"{target_type} #{target_id}"
    return f"the {target_type}"
