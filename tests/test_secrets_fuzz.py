"""Generated bad input for what issue 14 adds (dismissing a billing conflict, the two-factor
setup that now lives on the server, `rotate-secrets`, subscription matching): never a 5xx or a
traceback, and nothing stored from a failed attempt. 500 examples each in the `ci` profile.
"""

from collections import Counter

import pyotp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from membership.billing import matching
from membership.extensions import db
from membership.models import (
    AuditEvent,
    PendingTotpSecret,
    RecoveryCode,
    Subscription,
    SubscriptionConflict,
    User,
)
from tests.conftest import sign_in_with_two_factor
from tests.test_forms_fuzz import CLEAN, NUL, WILD, form_data, submitted_text


def check(response, data: dict, statuses: Counter) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code} for {data!r}"
    assert "Form expired" not in body, f"CSRF rejected a genuine token for {data!r}"
    if response.status_code == 400:
        assert "cannot contain NUL" in body, body
        assert any(NUL in value for value in submitted_text(data)), data
    statuses[response.status_code] += 1


def audit_count(action: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


NOTE = form_data({"note": (st.text(min_size=1, max_size=600), WILD)})


def test_dismissing_a_conflict_never_errors_and_a_refusal_stores_nothing(app, make_admin):
    conflict = SubscriptionConflict(stripe_subscription_id="sub_fuzz", reason="fuzzing")
    db.session.add(conflict)
    db.session.commit()
    client = app.test_client()
    assert sign_in_with_two_factor(client, make_admin()).status_code == 302
    token = client.csrf_token("/admin/billing/conflicts")
    statuses = Counter()

    @settings()
    @given(data=NOTE, target=st.one_of(st.just(conflict.id), st.integers(-5, 10**12)))
    @example(data={"note": "   "}, target=conflict.id)
    @example(data={"note": "x" * 501}, target=conflict.id)
    @example(data={"note": "Stored the customer id on Bob"}, target=conflict.id)
    @example(data={}, target=2**31)  # past PostgreSQL's integer: was a 500 there
    def run(data, target):
        before = audit_count("billing.conflict_dismiss")
        response = client.post(
            f"/admin/billing/conflicts/{target}/dismiss", data={**data, "csrf_token": token}
        )
        check(response, data, statuses)
        db.session.refresh(conflict)
        if response.status_code == 302 and target == conflict.id:
            assert conflict.dismissed_at is not None
            assert audit_count("billing.conflict_dismiss") == before + 1
            conflict.dismissed_at = None  # open again for the next example
            conflict.dismissed_by_id = None
            db.session.commit()
        else:
            assert conflict.dismissed_at is None
            assert audit_count("billing.conflict_dismiss") == before

    run()
    assert statuses[302] and statuses[422], statuses


CODE = form_data(
    {"code": (st.from_regex(r"\A[0-9 ]{0,8}\Z"), st.one_of(WILD, st.text(max_size=10)))}
)


def test_two_factor_setup_never_errors_and_a_wrong_code_stores_nothing(app, signed_in, user):
    page = "/account/two-factor"
    signed_in.get(page)
    token = signed_in.csrf_token(page)
    statuses = Counter()

    @settings()
    @given(data=CODE)
    @example(data={"code": "000000"})
    @example(data={"code": ["1", "2"]})
    def run(data):
        response = signed_in.post(f"{page}/enable", data={**data, "csrf_token": token})
        check(response, data, statuses)
        db.session.refresh(user)
        assert user.totp_enabled_at is None and user.totp_secret_ciphertext is None
        assert db.session.scalar(select(func.count(RecoveryCode.id))) == 0

    run()
    assert statuses[422], statuses
    # The setup still works after all that.
    pending = db.session.execute(text("SELECT user_id FROM pending_totp_secrets")).all()
    assert pending == [(user.id,)]
    code = pyotp.TOTP(db.session.get(PendingTotpSecret, user.id).secret).now()
    response = signed_in.post(f"{page}/enable", data={"code": code, "csrf_token": token})
    assert response.status_code == 200
    db.session.refresh(user)
    assert user.totp_enabled_at is not None


ARGV = st.lists(
    st.one_of(
        st.sampled_from(["--help", "--dry-run", "-x", "--", "users", "--key"]),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters=NUL), max_size=20),
    ),
    max_size=4,
)


def test_rotate_secrets_refuses_unknown_arguments_cleanly(app, make_admin):
    make_admin()
    runner = app.test_cli_runner()

    @settings()
    @given(argv=ARGV)
    @example(argv=[])
    def run(argv):
        before = db.session.execute(text("SELECT totp_secret FROM users")).all()
        result = runner.invoke(args=["rotate-secrets", *argv])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert result.exit_code in (0, 2), result.output
        rows = db.session.execute(text("SELECT totp_secret FROM users")).all()
        if result.exit_code == 2 or "--help" in argv:
            assert rows == before, "a refused invocation changed nothing"
        else:
            assert rows != before, "a run re-encrypts (Fernet tokens are never the same twice)"
        assert db.session.get(User, 1).totp_secret is not None

    run()


METADATA = st.dictionaries(
    st.sampled_from(["user_id", "kind", "tier"]),
    st.one_of(CLEAN, st.integers(-3, 10**15).map(str), st.sampled_from(["1", "2", " 1 ", "1.0"])),
)


def test_matching_never_errors_and_never_attaches_on_a_foreign_email(app, make_user):
    owner = make_user("owner@example.org")
    make_user("other@example.org")

    @settings()
    @given(
        metadata=METADATA,
        email=st.one_of(st.just("owner@example.org"), st.just("OWNER@example.org "), CLEAN),
    )
    def run(metadata, email):
        subscription = {
            "id": "sub_fuzz",
            "customer": {"id": "cus_fuzz", "email": email},
            "metadata": metadata,
        }
        match = matching.match_member(subscription)
        if match.user is not None:
            assert match.user.id == owner.id
            assert email.strip().lower() == "owner@example.org"
            assert metadata["user_id"].strip() == str(owner.id)
        db.session.rollback()  # a match stores the customer id: start clean each time

    run()
    assert db.session.scalars(select(Subscription)).all() == []
