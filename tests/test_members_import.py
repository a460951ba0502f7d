"""Importing members through the admin area: the dry-run preview with per-row errors, confirm,
all or nothing; generated CSV files (admin area and command line) never cause a 5xx nor leave an
import half done."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from membership.admin import members_io
from membership.admin.members_csv import COLUMNS
from membership.admin.members_io_views import _pack
from membership.auth.passwords import needs_rehash, verify_password
from membership.extensions import db
from membership.models import MemberLabel, User, UserSession
from membership.models.types import utcnow
from tests.conftest import PASSWORD
from tests.test_members_io import (
    IMPORT_URL,
    NUL,
    add_tiers,
    count,
    import_events,
    snapshot,
)


@pytest.fixture
def tiers(app):
    return add_tiers()


def upload(client, text: str | bytes, filename: str = "members.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return client.submit(
        IMPORT_URL, {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data"
    )


def hidden(body: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="{name}"', body)
    assert match, f"no {name} on the page"
    return match.group(1) or match.group(2)


def confirm(client, preview_body: str, **overrides):
    data = {
        "payload": hidden(preview_body, "payload"),
        "fingerprint": hidden(preview_body, "fingerprint"),
        **overrides,
    }
    return client.submit(IMPORT_URL, data)


def row_errors(body: str) -> list[tuple[int, str]]:
    found = re.findall(r'<tr class="import-error"><td>(\d+)</td><td>(.*?)</td></tr>', body, re.S)
    return [(int(row), message) for row, message in found]


# --- import through the admin area ----------------------------------------------------------

BAD_FILE = "\n".join(
    [
        "email,display_name,complimentary_tier,complimentary_until,labels,status,status_reason",
        "good@example.org,Good Reader,,,,,",
        "not-an-email,Bad,,,,,",
        "twice@example.org,First,,,,,",
        "TWICE@example.org,Second,,,,,",
        "tier@example.org,Tier,gold,,,,",
        "date@example.org,Date,supporter,31/12/2030,,,",
        f"long@example.org,{'x' * 61},,,,,",
        f"nul@example.org,Nu{NUL}l,,,,,",
        "short@example.org,Short",
        ",Nobody,,,,,",
        "status@example.org,Status,,,,paused,",
        "reason@example.org,Reason,,,,suspended,",
        f"label@example.org,Label,,,{'y' * 41},,",
    ]
)
BAD_FILE_ERRORS = [
    (3, "email 'not-an-email' is not valid"),
    (5, "twice@example.org is already on row 4"),
    (6, "unknown tier 'gold' (known: free, patron, supporter)"),
    (7, "complimentary_until '31/12/2030' is not a date"),
    (8, "display_name is longer than 60 characters"),
    (9, "contains a NUL character"),
    (10, "2 cells, but the header has 7 columns"),
    (11, "email is missing"),
    (12, "status 'paused' is not one of active, suspended, banned"),
    (13, "a suspended member needs a status_reason"),
    (14, "a label is longer than 40 characters"),
]


def test_dry_run_reports_each_bad_row_and_writes_nothing(admin_client, tiers):
    before = snapshot()
    response = upload(admin_client, BAD_FILE)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    errors = row_errors(body)
    assert [row for row, _message in errors] == [row for row, _message in BAD_FILE_ERRORS]
    for (_row, message), (_expected_row, expected) in zip(errors, BAD_FILE_ERRORS, strict=True):
        assert expected.replace("'", "&#39;") in message, (message, expected)
    assert "Import this file" not in body
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("ada@example.org,Ada\n", "the first row must be a header"),
        ("email,nickname\nada@example.org,Ada\n", "unknown column"),
        ("email,labels,labels\nada@example.org,a,b\n", "appears twice"),
        ('email\n"ada@example.org\n', "this is not valid CSV"),
        (b"email\nz\xe9@example.org\n", "not UTF-8"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(admin_client, content, message):
    before = snapshot()
    response = upload(admin_client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert snapshot() == before


def test_preview_then_confirm_creates_and_updates_members(admin_client, make_user, tiers, mailbox):
    existing = make_user("existing@example.org", display_name="Old Name")
    same = make_user("same@example.org", display_name="Same")
    db.session.add(MemberLabel(user_id=existing.id, label="old label"))
    db.session.commit()
    text = (
        "email,display_name,complimentary_tier,complimentary_until,labels\n"
        "New.Member@Example.org,New Member,supporter,2031-05-01,Press; Founding  Member\n"
        "other@example.org,,,,\n"
        "existing@example.org,New Name,patron,,vip\n"
        "same@example.org,Same,,,\n"
    )
    before = snapshot()
    preview = upload(admin_client, text)
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200, row_errors(body)
    assert "2 new members, 1 updated, 1 unchanged." in body
    assert "existing@example.org" in body and "+vip -old label" in body
    assert snapshot() == before  # a dry run writes nothing

    response = confirm(admin_client, body)
    assert response.status_code == 302
    db.session.expire_all()
    new = db.session.scalar(select(User).where(User.email == "new.member@example.org"))
    assert new.display_name == "New Member" and new.role == "reader"
    assert new.complimentary_tier_id == tiers["supporter"].id
    assert new.complimentary_until == datetime(2031, 5, 1, tzinfo=UTC)
    assert new.email_confirmed_at is None and new.status == "active"
    labels = set(db.session.scalars(select(MemberLabel.label).where(MemberLabel.user_id == new.id)))
    assert labels == {"press", "founding member"}
    other = db.session.scalar(select(User).where(User.email == "other@example.org"))
    assert other.display_name == "other"
    db.session.refresh(existing)
    assert existing.display_name == "New Name"
    assert existing.complimentary_tier_id == tiers["patron"].id
    assert existing.complimentary_until is None
    assert set(
        db.session.scalars(select(MemberLabel.label).where(MemberLabel.user_id == existing.id))
    ) == {"vip"}
    assert db.session.get(User, same.id).display_name == "Same"
    [event] = import_events()
    assert event.actor_id == admin_client.user.id
    assert event.details == {"create": 2, "update": 1, "unchanged": 1}

    # No password works for an imported member; "forgot password" gives them one.
    assert new.password_hash.startswith("$argon2id$")
    assert not needs_rehash(new.password_hash)
    assert not verify_password(new.password_hash, "")
    assert not verify_password(new.password_hash, PASSWORD)
    assert new.password_hash != other.password_hash
    reader = admin_client.application.test_client()
    reader.submit("/reset-password", {"email": "new.member@example.org"})
    path = mailbox.link("new.member@example.org", "/reset-password/")
    path = path.removeprefix("http://portal.test")
    reader.submit(
        path, {"password": "a fresh passphrase", "password_confirm": "a fresh passphrase"}
    )
    response = reader.submit(
        "/login", {"email": "new.member@example.org", "password": "a fresh passphrase"}
    )
    assert response.status_code == 302


def test_import_suspends_and_ends_sessions_but_not_for_admins_or_oneself(
    app, admin_client, make_user, make_admin, login
):
    member = make_user("member@example.org")
    login(app.test_client(), member.email)
    other_admin = make_admin("second.admin@example.org")
    text = (
        "email,status,status_reason,suspended_until\n"
        "member@example.org,suspended,Spam,2031-01-01T00:00:00Z\n"
    )
    response = confirm(admin_client, upload(admin_client, text).get_data(as_text=True))
    assert response.status_code == 302
    db.session.expire_all()
    member = db.session.get(User, member.id)
    assert (member.status, member.status_reason) == ("suspended", "Spam")
    assert member.suspended_until == datetime(2031, 1, 1, tzinfo=UTC)
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == member.id)).all()
    assert sessions and all(session.revoked_at is not None for session in sessions)

    before = snapshot()
    text = (
        "email,status,status_reason\n"
        f"{admin_client.user.email},banned,oops\n"
        f"{other_admin.email},suspended,coup\n"
    )
    response = upload(admin_client, text)
    assert response.status_code == 422
    errors = row_errors(response.get_data(as_text=True))
    assert errors == [
        (2, "you cannot change your own status"),
        (3, "demote an administrator to change status"),
    ]
    assert snapshot() == before


def test_a_file_with_one_bad_row_imports_nothing(admin_client, tiers):
    good = "".join(f"reader{n}@example.org,Reader {n},supporter\n" for n in range(5))
    text = "email,display_name,complimentary_tier\n" + good + "bad@example.org,Bad,gold\n"
    before = snapshot()
    response = upload(admin_client, text)
    assert response.status_code == 422
    assert row_errors(response.get_data(as_text=True)) == [
        (7, "unknown tier &#39;gold&#39; (known: free, patron, supporter)")
    ]
    # Even a forged confirmation of that file imports nothing.
    forged = admin_client.submit(IMPORT_URL, {"payload": _pack(text), "fingerprint": "0" * 64})
    assert forged.status_code == 422
    assert snapshot() == before
    with pytest.raises(members_io.ImportRefused):
        members_io.apply_import(members_io.parse_import(text), None)
    assert snapshot() == before


def test_a_row_the_database_refuses_rolls_back_the_whole_import(app, make_user, tiers):
    text = "email,labels\n" + "".join(f"reader{n}@example.org,x\n" for n in range(5))
    plan = members_io.parse_import(text)
    assert plan.ok and plan.counts()["create"] == 5
    make_user("reader3@example.org")  # registered between the preview and the import
    before = snapshot()
    with pytest.raises(members_io.ImportRefused):
        members_io.apply_import(plan, None)
    db.session.rollback()
    assert snapshot() == before


def test_confirm_applies_only_what_was_previewed(admin_client, make_user):
    text = "email,display_name\nfirst@example.org,First\nsecond@example.org,Second\n"
    preview = upload(admin_client, text).get_data(as_text=True)
    make_user("second@example.org", display_name="Registered Meanwhile")
    before = snapshot()
    response = confirm(admin_client, preview)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "changed since the preview" in body
    assert snapshot() == before
    # The new preview can be confirmed.
    assert confirm(admin_client, body).status_code == 302
    names = dict(db.session.execute(select(User.email, User.display_name)).all())
    assert names["first@example.org"] == "First"
    assert names["second@example.org"] == "Second"


def test_importing_needs_a_recent_sign_in(admin_client):
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == admin_client.user.id)
        .values(authenticated_at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    response = admin_client.get(IMPORT_URL)
    assert response.status_code == 302
    assert "/reauthenticate" in response.headers["Location"]


def test_a_damaged_confirmation_is_refused(admin_client):
    text = "email\nsomeone@example.org\n"
    preview = upload(admin_client, text).get_data(as_text=True)
    before = snapshot()
    response = confirm(admin_client, preview, payload="not base64!")
    assert response.status_code == 422
    assert "could not be read back" in response.get_data(as_text=True)
    assert snapshot() == before


# --- generated files ------------------------------------------------------------------------

CELLS = st.one_of(
    st.sampled_from(
        [
            "", " ", "supporter", "gold", "free", "2031-01-01", "2031-02-30", "2031-01-01T10:00Z",
            "active", "suspended", "banned", "admin", "reader", "press; vip", "=1+1", "'=x",
            "x" * 61, "y" * 1001, '"', '""', "a,b", "line\nbreak", "\r\n", "\r", NUL, "é",
            "\U0001f600", "\u202e", "\ufeff", "spam",
        ]
    ),
    st.text(alphabet="abcdef.", min_size=1, max_size=5).map(lambda name: f"{name}@example.org"),
    st.emails().map(str),
    st.text(max_size=30),
)  # fmt: skip
# Files that once broke a parser somewhere: an open quote, a date that overflows, NUL.
KNOWN_NASTY = [
    'email\n"ada@example.org\n',
    "email,created_at\nada@example.org,0001-01-01T00:00:00+14:00\n",
    f"email\nfuzz{NUL}@example.org\n",
    f"email,display_name,labels,status_reason\nnul@example.org,Nu{NUL}l,a{NUL}b,r{NUL}\n",
    f"email,display_name\nfuzz@example.org,{'x' * 200}\n",
]


def with_examples(*texts: str):
    """Hypothesis examples that always run, before the generated ones."""

    def decorate(test):
        for text in reversed(texts):
            test = example(text=text)(test)
        return test

    return decorate


HEADER = st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=8)), max_size=7)


@st.composite
def csv_files(draw) -> str:
    """CSV text: mostly well-formed with plausible and wild cells, sometimes mangled or raw."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=300))
    header = draw(HEADER)
    if draw(st.booleans()) and "email" not in header:
        header.insert(0, "email")
    width = len(header)
    rows = draw(
        st.lists(
            st.one_of(st.lists(CELLS, min_size=width, max_size=width), st.lists(CELLS, max_size=8)),
            max_size=6,
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        position = draw(st.integers(0, len(text)))
        text = (
            text[:position]
            + draw(st.sampled_from(['"', NUL, "\n", ",", "\ufeff"]))
            + text[position:]
        )
    return text


def test_generated_files_through_the_admin_area(admin_client, tiers):
    statuses = {}

    @settings()
    @given(text=csv_files())
    @with_examples("email,display_name\nfuzz@example.org,Fuzz\n", *KNOWN_NASTY)
    def check(text):
        before = snapshot()
        preview = upload(admin_client, text)
        body = preview.get_data(as_text=True)
        assert preview.status_code in (200, 422), preview.status_code
        statuses[preview.status_code] = statuses.get(preview.status_code, 0) + 1
        if "Import this file" not in body:
            assert snapshot() == before
            return
        users = count(User)
        response = confirm(admin_client, body)
        assert response.status_code in (302, 422), response.status_code
        if response.status_code == 302:
            event = import_events()[-1]
            assert count(User) == users + event.details["create"]
        else:
            assert snapshot() == before

    check()
    assert statuses.get(200) and statuses.get(422), statuses


def test_generated_files_through_the_command_line(app, runner, tiers, tmp_path):
    source = tmp_path / "members.csv"
    outcomes = set()

    @settings()
    @given(text=csv_files())
    @with_examples("email,display_name\nfuzz@example.org,Fuzz\n", *KNOWN_NASTY)
    def check(text):
        source.write_bytes(text.encode("utf-8"))
        before = snapshot()
        result = runner.invoke(args=["members", "import", str(source)])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        outcomes.add(result.exit_code)
        if result.exit_code == 1:
            assert snapshot() == before
        else:
            event = import_events()[-1]
            assert count(User) == len(before[0]) + event.details["create"]

    check()
    assert outcomes == {0, 1}
