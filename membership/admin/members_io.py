"""CSV export and import of members: plain functions used by the admin area and `flask members`.

Export streams one row per member with constant memory (keyset pagination, BATCH_SIZE members
and one query each for their subscriptions, labels and sponsorship totals per batch). Import is
planned first (`parse_import`: every problem reported with its row, nothing written) and then
applied whole or not at all (`apply_import`).

Imported members get no password. Their password hash is an unusable random argon2id hash
(random salt and digest with today's parameters): no password matches it, checking one against it
costs as much time as a real check (so timing does not reveal imported accounts), and the member
chooses a password through "Forgot your password?", which also confirms the address.
"""

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Integer, Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from membership.access import LIVE_STATUSES, effective_tier_id, subscription_access
from membership.admin import members
from membership.admin.members_csv import (
    COLUMNS,
    check_header,
    iso,
    parse_cells,
    read_records,
    safe_cell,
    unusable_password_hash,
)
from membership.audit import record
from membership.auth.sessions import revoke_sessions
from membership.extensions import db
from membership.models import (
    AccountStatus,
    MemberLabel,
    Role,
    Sponsorship,
    SponsorshipPayment,
    Subscription,
    Tier,
    User,
)
from membership.models.types import utcnow
from membership.sponsors.queries import NET

BATCH_SIZE = 1000


class ImportRefused(Exception):
    """The import cannot be applied; nothing was written."""


# --- export ---------------------------------------------------------------------------------


def filtered_members_query(args: Mapping) -> Select:
    """The members list's filters (`membership.admin.members`), so an export matches the list."""
    return members.filtered_members_query(args)


def export_rows(users_query: Select, *, batch_size: int | None = None) -> Iterator[list[str]]:
    """The header, then one row per member of `users_query`, in id order, batch by batch."""
    size = batch_size or BATCH_SIZE
    yield list(COLUMNS)
    slugs = dict(db.session.execute(select(Tier.id, Tier.slug)).all())
    base = users_query.with_only_columns(
        User.id, User.email, User.display_name, User.role, User.status, User.status_reason,
        User.suspended_until, User.email_confirmed_at, User.created_at,
        User.complimentary_tier_id, User.complimentary_until, User.stripe_customer_id,
    ).order_by(None)  # fmt: skip
    last_id = 0
    while True:
        users = db.session.execute(
            base.where(User.id > last_id).order_by(User.id).limit(size)
        ).all()
        if not users:
            return
        # The batch's id range, not a 1,000-element IN list: short statements that psycopg
        # can keep prepared, and an index range scan. Rows of members outside the filter
        # that fall in the range are fetched and ignored (the ranges never overlap).
        first, last = users[0].id, users[-1].id
        subscriptions = _subscriptions(first, last, slugs)
        labels = _labels(MemberLabel.user_id.between(first, last))
        totals = _sponsorship_totals(first, last)
        for user in users:
            tier, subscription_status = subscriptions.get(user.id, ("", ""))
            row = [
                user.email, user.display_name, user.role, user.status, user.status_reason or "",
                iso(user.suspended_until), iso(user.email_confirmed_at), iso(user.created_at),
                tier, subscription_status, slugs.get(user.complimentary_tier_id, ""),
                iso(user.complimentary_until), user.stripe_customer_id or "",
                ";".join(sorted(labels.get(user.id, ()))), str(totals.get(user.id, 0)),
            ]  # fmt: skip
            yield [safe_cell(cell) for cell in row]
        if len(users) < size:
            return
        last_id = last


def _subscriptions(first: int, last: int, slugs: dict[int, str]) -> dict[int, tuple[str, str]]:
    """(tier slug, status) per member with an id in first..last: the subscription giving
    access, else the newest one."""
    rows = db.session.execute(
        select(
            Subscription.user_id, Subscription.tier_id, Subscription.previous_tier_id,
            Subscription.previous_tier_until, Subscription.status,
            Subscription.cancel_at_period_end, Subscription.current_period_end,
        )
        .where(Subscription.user_id.between(first, last))
        .order_by(Subscription.user_id, Subscription.created_at.desc(), Subscription.id.desc())
    ).all()  # fmt: skip
    now, found, paying = utcnow(), {}, set()
    for row in rows:
        found.setdefault(row.user_id, ("", row.status))
        if row.user_id in paying or row.status not in LIVE_STATUSES:
            continue
        access = subscription_access(
            row.status, row.cancel_at_period_end, row.current_period_end, now
        )
        if access.has_access:
            found[row.user_id] = (slugs.get(effective_tier_id(row, now), ""), row.status)
            paying.add(row.user_id)
    return found


def _labels(which) -> dict[int, set[str]]:
    """Labels per member, for the members `which` (a condition on MemberLabel.user_id) picks."""
    labels: dict[int, set[str]] = {}
    for user_id, label in db.session.execute(
        select(MemberLabel.user_id, MemberLabel.label).where(which)
    ):
        labels.setdefault(user_id, set()).add(label)
    return labels


def _sponsorship_totals(first: int, last: int) -> dict[int, int]:
    """Net money received (minor units) per member: refunds and open disputes taken out."""
    rows = db.session.execute(
        select(Sponsorship.user_id, func.sum(NET).cast(Integer))
        .join(SponsorshipPayment, SponsorshipPayment.sponsorship_id == Sponsorship.id)
        .where(Sponsorship.user_id.between(first, last))
        .group_by(Sponsorship.user_id)
    )
    return {user_id: int(total or 0) for user_id, total in rows}


# --- import: the plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as in a spreadsheet: the header is row 1
    message: str


@dataclass
class MemberAction:
    row: int
    email: str
    kind: str  # "create", "update" or "unchanged"
    values: dict[str, object]
    labels: frozenset[str] | None  # None: the file has no labels column
    changes: list[str]
    user_id: int | None = None


@dataclass
class ImportPlan:
    columns: list[str] = field(default_factory=list)
    actions: list[MemberAction] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        kinds = [action.kind for action in self.actions]
        return {kind: kinds.count(kind) for kind in ("create", "update", "unchanged")}

    def fingerprint(self) -> str:
        """Identifies the planned changes, so a confirmation applies what was previewed."""
        digest = hashlib.sha256()
        for action in self.actions:
            digest.update(repr((action.row, action.email, action.kind, action.changes)).encode())
        return digest.hexdigest()


def parse_import(
    text: str,
    *,
    actor: User | None = None,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> ImportPlan:
    """Plan an import without writing anything: every problem with its row, and every action.

    Columns: email (required), display_name, complimentary_tier (a tier slug) with
    complimentary_until, labels (separated by ";"), status with status_reason and
    suspended_until, and for new members role, confirmed_at and created_at; the export's
    Stripe and sponsorship columns are accepted and ignored. A column in the file is what the
    member gets: an empty labels cell removes the member's labels, an empty complimentary_tier
    ends a complimentary membership; an empty name or status leaves it as it is.
    """
    plan = ImportPlan()
    records, problem = read_records(text)
    if problem or not records:
        plan.errors.append(RowError(len(records) + 1, problem or "the file is empty"))
        return plan
    plan.columns = header = [name.strip().lower() for name in records[0]]
    plan.errors.extend(RowError(1, problem) for problem in check_header(header))
    if plan.errors:
        return plan
    tiers = dict(db.session.execute(select(Tier.slug, Tier.id)).all())
    rows: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(progress(records[1:]), start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            plan.errors.append(
                RowError(number, f"{len(cells)} cells, but the header has {len(header)} columns")
            )
            continue
        if any("\x00" in cell for cell in cells):
            plan.errors.append(RowError(number, "contains a NUL character"))
            continue
        values, problems = parse_cells(dict(zip(header, cells, strict=True)), tiers)
        email = values.get("email")
        if isinstance(email, str) and email in seen:
            problems.append(f"{email} is already on row {seen[email]}")
        elif isinstance(email, str):
            seen[email] = number
        plan.errors.extend(RowError(number, problem) for problem in problems)
        if not problems:
            rows.append((number, values))
    existing = _existing_members([values["email"] for _number, values in rows])
    slugs = {tier_id: slug for slug, tier_id in tiers.items()}
    for number, values in rows:
        user, labels = existing.get(values["email"], (None, set()))
        action = _plan_row(number, values, header, user, labels, slugs)
        if user is not None and "status" in action.values:
            if actor is not None and user.id == actor.id:
                plan.errors.append(RowError(number, "you cannot change your own status"))
            elif user.is_admin:
                plan.errors.append(RowError(number, "demote an administrator to change status"))
        plan.actions.append(action)
    return plan


def _existing_members(emails: list[str]) -> dict[str, tuple[User, set[str]]]:
    found: dict[str, tuple[User, set[str]]] = {}
    for start in range(0, len(emails), BATCH_SIZE):
        users = db.session.scalars(
            select(User).where(User.email.in_(emails[start : start + BATCH_SIZE]))
        ).all()
        labels = _labels(MemberLabel.user_id.in_([user.id for user in users]))
        found.update({user.email: (user, labels.get(user.id, set())) for user in users})
    return found


def _describe_status(values: dict) -> str:
    until = values.get("suspended_until")
    return f"status {values['status']}" + (f" until {iso(until)}" if until else "")


def _plan_row(number, values, header, user, labels, slugs) -> MemberAction:
    """What importing one valid row does to its member."""
    email = values["email"]
    wanted = frozenset(values.get("labels", ())) if "labels" in header else None
    if user is None:
        values.setdefault("display_name", email.split("@")[0][:60])
        changes = ["new member"]
        if values.get("status", "active") != "active":
            changes.append(_describe_status(values))
        if values.get("complimentary_tier"):
            changes.append(f"complimentary {slugs[values['complimentary_tier']]}")
        if wanted:
            changes.append("labels: " + ", ".join(sorted(wanted)))
        return MemberAction(number, email, "create", values, wanted, changes)
    update_values: dict[str, object] = {}
    changes = []
    name = values.get("display_name")
    if name and name != user.display_name:
        update_values["display_name"] = name
        changes.append(f"name {user.display_name!r} -> {name!r}")
    if "complimentary_tier" in header:
        comp = (values.get("complimentary_tier"), values.get("complimentary_until"))
        if comp != (user.complimentary_tier_id, user.complimentary_until):
            update_values["complimentary_tier"], update_values["complimentary_until"] = comp
            until = f" until {iso(comp[1])}" if comp[1] else ""
            changes.append(
                f"complimentary {slugs[comp[0]]}{until}" if comp[0] else "complimentary ends"
            )
    if values.get("status"):
        state = tuple(values.get(key) for key in ("status", "status_reason", "suspended_until"))
        if state != (user.status, user.status_reason, user.suspended_until):
            update_values.update(
                zip(("status", "status_reason", "suspended_until"), state, strict=True)
            )
            changes.append(_describe_status(values))
    if wanted is not None and wanted != labels:
        added, removed = sorted(wanted - labels), sorted(labels - wanted)
        changes.append(" ".join([*(f"+{a}" for a in added), *(f"-{r}" for r in removed)]))
    else:
        wanted = None
    kind = "update" if changes else "unchanged"
    return MemberAction(number, email, kind, update_values, wanted, changes, user.id)


# --- import: applying the plan --------------------------------------------------------------


def _batches(items: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def apply_import(
    plan: ImportPlan,
    actor: User | None,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> dict[str, int]:
    """Apply a plan without errors, all or nothing; the caller commits. Returns the counts.

    Raises ImportRefused (nothing written) when the plan has errors or the database refuses a
    row (say, someone registered with one of the emails since the plan was made).
    """
    if plan.errors:
        raise ImportRefused(f"The file has {len(plan.errors)} problem(s); nothing was imported.")
    counts = plan.counts()
    try:
        with db.session.begin_nested():
            for batch in _batches(progress(plan.actions), BATCH_SIZE):
                _apply_batch(batch)
            record(actor, "members.import", target_type="members", **counts)
            db.session.flush()
    except IntegrityError as exc:
        raise ImportRefused(
            "The database refused the import (a member was added or changed meanwhile); "
            "nothing was imported. Check the file again."
        ) from exc
    return counts


def _apply_batch(batch: list[MemberAction]) -> None:
    created = [a for a in batch if a.kind == "create"]
    updates = {a.user_id: a for a in batch if a.kind == "update"}
    now = utcnow()
    new_users = []
    for action in created:
        v = action.values
        new_users.append(
            User(
                email=action.email, display_name=v["display_name"],
                password_hash=unusable_password_hash(), role=v.get("role", Role.READER),
                status=v.get("status", AccountStatus.ACTIVE),
                status_reason=v.get("status_reason"), suspended_until=v.get("suspended_until"),
                email_confirmed_at=v.get("confirmed_at"), created_at=v.get("created_at", now),
                password_changed_at=now, complimentary_tier_id=v.get("complimentary_tier"),
                complimentary_until=v.get("complimentary_until"),
            )
        )  # fmt: skip
    db.session.add_all(new_users)
    db.session.flush()
    users = db.session.scalars(select(User).where(User.id.in_(list(updates)))).all()
    for user in users:
        values = dict(updates[user.id].values)
        if "complimentary_tier" in values:
            values["complimentary_tier_id"] = values.pop("complimentary_tier")
        becomes = values.get("status", user.status)
        if becomes != user.status and becomes != AccountStatus.ACTIVE:
            revoke_sessions(user)  # as when an admin suspends or bans
        for key, value in values.items():
            setattr(user, key, value)
    relabel = {u.id: a.labels for u, a in zip(new_users, created, strict=True)}
    relabel.update({user_id: a.labels for user_id, a in updates.items()})
    relabel = {user_id: labels for user_id, labels in relabel.items() if labels is not None}
    if relabel:
        db.session.execute(delete(MemberLabel).where(MemberLabel.user_id.in_(list(relabel))))
        db.session.add_all(
            MemberLabel(user_id=user_id, label=label)
            for user_id, labels in relabel.items()
            for label in sorted(labels)
        )
    confirmed = [user.email for user in new_users if user.email_confirmed_at is not None]
    if confirmed:  # gifts made as a guest join the account, as when an email is confirmed
        db.session.execute(
            update(Sponsorship)
            .where(Sponsorship.user_id.is_(None), Sponsorship.email.in_(confirmed))
            .values(
                user_id=select(User.id).where(User.email == Sponsorship.email).scalar_subquery()
            )
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
