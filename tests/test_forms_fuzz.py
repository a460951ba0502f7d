"""Generated form input never causes a server error (SECURITY "500+ generated inputs per form").

Each test builds its own app with the rate limits lifted, so a 429 cannot hide the form code, and
runs a hypothesis property inside it. Every example posts with a genuine CSRF token, so the form
code really runs (a CSRF 400 would make the test pass for nothing, and is asserted against).
The number of examples comes from the loaded profile ("ci": 500, "dev": 60).
"""

from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from membership.auth import services, tokens
from membership.extensions import db
from membership.models import Tier, User
from tests.conftest import PASSWORD

NO_LIMITS = {
    "LOGIN_LIMIT_PER_ACCOUNT": "100000/minute",
    "LOGIN_LIMIT_PER_IP": "100000/minute",
    "EMAIL_LIMIT_PER_IP": "100000/minute",
}
KNOWN_EMAIL = "fuzz.known@example.org"
OMIT = object()
NUL = "\x00"

# --- strategies -----------------------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        NUL,
        f"a{NUL}b",
        "\r\n",
        "\t",
        "\u202e",
        "\ufeff",
        "\u200b",
        "\ufb01" * 20,
        "\U0001d518\U0001d52b\U0001d526 pass phrase",
        "ﷺ" * 40,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        "${jndi:ldap://x}",
        "{{7*7}}",
        "x" * 2000,
        "é" * 129,
        "\U0001f600" * 300,
    ]
)
WILD = st.one_of(
    st.text(),  # any code point but surrogates: unicode, controls, NUL, empty
    st.text(min_size=100, max_size=2000),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),
    NASTY,
)
# Unicode (controls, bidi marks, astral planes included) without NUL, which the app refuses up
# front: these values get past that check and into validation, hashing and the database.
NO_NUL = st.characters(codec="utf-8", exclude_characters=NUL)
CLEAN = st.text(alphabet=NO_NUL)
LOCAL_PART = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30)
EMAIL = st.one_of(
    st.emails(),
    st.builds(lambda local: f"{local}@example.org", LOCAL_PART),
    st.builds(lambda junk: f"reader{junk}@example.org", CLEAN),
)
DISPLAY_NAME = st.text(alphabet=NO_NUL, min_size=2, max_size=60)
NEW_PASSWORD = st.text(alphabet=NO_NUL, min_size=12, max_size=128)


# Fields an attacker adds hoping the app copies them onto a model (SECURITY 21).
PRIVILEGED = [
    "is_admin", "admin", "role", "status", "tier", "tier_id", "complimentary_tier_id",
    "complimentary_until", "confirmed_at", "email_confirmed_at", "user_id", "author_id", "id",
    "stripe_customer_id", "totp_enabled_at", "next",
]  # fmt: skip
# Values that would matter if they were copied: an admin role, a tier's id, a confirmation date.
PRIVILEGED_VALUES = st.sampled_from(
    ["1", "true", "on", "admin", "moderator", "active", "banned", "2", "2030-01-01T00:00:00"]
)


def extras(known: set[str]):
    """Unknown fields an attacker might add (never the CSRF token or a real field)."""
    names = st.one_of(st.sampled_from(PRIVILEGED), st.text(min_size=1, max_size=30)).filter(
        lambda name: name not in known and name != "csrf_token"
    )
    return st.dictionaries(names, st.one_of(PRIVILEGED_VALUES, CLEAN, WILD), max_size=4)


@st.composite
def form_data(draw, fields: dict, *, confirm_of: tuple[str, str] | None = None):
    """A POST body: each field plausible, wild, repeated or omitted; sometimes unknown extras.

    `fields` maps a name to (plausible strategy, wild strategy). With `confirm_of`, the second
    field mostly repeats the first, so whole forms pass validation and reach the database.
    """
    data = {}
    for name, (plausible, wild) in fields.items():
        how = draw(st.sampled_from(["plausible", "plausible", "wild", "several", "omit"]))
        if how == "plausible":
            data[name] = draw(plausible)
        elif how == "wild":
            data[name] = draw(wild)
        elif how == "several":
            data[name] = draw(st.lists(st.one_of(plausible, wild), min_size=2, max_size=3))
    if confirm_of is not None:
        source, target = confirm_of
        if source in data and draw(st.booleans()):
            data[target] = data[source]
    if draw(st.booleans()):
        data.update(draw(extras(set(fields))))
    return data


REGISTER = form_data(
    {
        "email": (EMAIL, WILD),
        "display_name": (DISPLAY_NAME, WILD),
        "password": (NEW_PASSWORD, WILD),
        "password_confirm": (NEW_PASSWORD, WILD),
    },
    confirm_of=("password", "password_confirm"),
)
LOGIN = form_data(
    {
        "email": (st.one_of(st.just(KNOWN_EMAIL), EMAIL), WILD),
        "password": (st.one_of(st.just(PASSWORD), CLEAN, st.text(min_size=1000)), WILD),
        "remember": (st.sampled_from(["y", "on", "1", "", "false"]), WILD),
    }
)
RESET_REQUEST = form_data({"email": (st.one_of(st.just(KNOWN_EMAIL), EMAIL), WILD)})
RESET = form_data(
    {"password": (NEW_PASSWORD, WILD), "password_confirm": (NEW_PASSWORD, WILD)},
    confirm_of=("password", "password_confirm"),
)


# --- helpers --------------------------------------------------------------------------------


def make_fuzz_app(make_app):
    app = make_app(**NO_LIMITS)
    with app.app_context():
        services.create_user(KNOWN_EMAIL, "Known Reader", PASSWORD, confirmed=True)
        # A paid tier with id 1 and 2 exist, so an injected `tier_id=2` names a real one.
        db.session.add_all(
            [
                Tier(slug="supporter", name="Supporter", monthly_price=500, yearly_price=5000),
                Tier(slug="patron", name="Patron", monthly_price=1500, yearly_price=15000),
            ]
        )
        db.session.commit()
    return app


def assert_new_accounts_are_plain_readers(app) -> int:
    """Every account made by the fuzzed forms: a reader, active, unconfirmed, no tier."""
    with app.app_context():
        made = db.session.scalars(select(User).where(User.email != KNOWN_EMAIL)).all()
        for user in made:
            assert (user.role, user.status) == ("reader", "active"), user.email
            assert user.email_confirmed_at is None and user.complimentary_tier_id is None
            assert user.stripe_customer_id is None and user.totp_enabled_at is None
        return len(made)


def post_form(app, url: str, data: dict, statuses: Counter, page: str | None = None):
    """POST the form from a fresh browser with a genuine token; fail on any 5xx."""
    client = app.test_client()
    token = client.csrf_token(page or url)
    response = client.post(url, data={**data, "csrf_token": token})
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code} for {data!r}"
    assert "Form expired" not in body, f"CSRF rejected a genuine token for {data!r}"
    if response.status_code == 400:
        # The only 400 expected: the app refuses NUL in any submitted value, before the form.
        assert "cannot contain NUL" in body, body
        assert any(NUL in value for value in submitted_text(data)), data
    statuses[response.status_code] += 1
    return response


def submitted_text(data: dict) -> list[str]:
    """Every field name and every value (repeated fields included): all are checked for NUL."""
    texts = list(data)
    for value in data.values():
        texts.extend(value if isinstance(value, list) else [value])
    return [text for text in texts if isinstance(text, str)]


def fresh_reset_path(app) -> str:
    """A valid reset link for the known user's current password (a reset kills the old one)."""
    with app.app_context():
        user = services.find_user_by_email(KNOWN_EMAIL)
        token = tokens.make_token(
            services.RESET, {"uid": user.id, "pw": services._password_fingerprint(user)}
        )
        outcome, _user = services.user_for_reset_token(token)
        assert outcome == services.TokenOutcome.OK
    return f"/reset-password/{token}"


# --- properties -----------------------------------------------------------------------------


def test_register_form_never_errors(make_app):
    app = make_fuzz_app(make_app)
    statuses = Counter()

    @settings()
    @given(data=REGISTER)
    @example(
        data={
            "email": "nul.name@example.org",
            "display_name": f"Ada{NUL}Lovelace",
            "password": "a river runs through harborview",
            "password_confirm": "a river runs through harborview",
        }
    )
    @example(
        data={
            "email": "nul.password@example.org",
            "display_name": "Nul Password",
            "password": f"a river runs{NUL}through harborview",
            "password_confirm": f"a river runs{NUL}through harborview",
        }
    )
    @example(data={"email": f"nul{NUL}@example.org", "display_name": "Nul", "password": NUL})
    @example(
        data={
            "email": "zo\u00eb.\u674e@example.org",
            "display_name": "Zo\u00eb \u202e\u674e\x07\x1b[31m \U0001f600",
            "password": "\u03bb\u03cc\u03b3\u03bf\u03c2 \U0001d518 \u674e\u767d \x01 2024",
            "password_confirm": "\u03bb\u03cc\u03b3\u03bf\u03c2 \U0001d518 \u674e\u767d \x01 2024",
            "is_admin": "1",
        }
    )
    def check(data):
        post_form(app, "/register", data, statuses)

    check()
    # The form code ran: it refused bad input and accepted good (unicode) input.
    assert statuses[422] > 0 and statuses[302] > 0, statuses
    assert set(statuses) <= {302, 400, 422}, statuses
    # Injected fields (is_admin, role, status, tier_id...) changed nothing on the accounts made.
    assert assert_new_accounts_are_plain_readers(app) > 0


def test_login_form_never_errors(make_app):
    app = make_fuzz_app(make_app)
    statuses = Counter()

    @settings()
    @given(data=LOGIN)
    @example(data={"email": f"a{NUL}b@example.org", "password": "wrong password entirely"})
    @example(data={"email": KNOWN_EMAIL, "password": f"wrong{NUL}password"})
    @example(data={"email": KNOWN_EMAIL, "password": PASSWORD, "remember": NUL})
    @example(data={"email": KNOWN_EMAIL, "password": PASSWORD, "next": f"/{NUL}"})
    @example(data={"email": KNOWN_EMAIL.upper(), "password": PASSWORD, "remember": "y"})
    def check(data):
        post_form(app, "/login", data, statuses)

    check()
    assert statuses[422] > 0 and statuses[302] > 0, statuses
    assert set(statuses) <= {302, 400, 422}, statuses


def test_reset_request_form_never_errors(make_app):
    app = make_fuzz_app(make_app)
    statuses = Counter()

    @settings()
    @given(data=RESET_REQUEST)
    @example(data={"email": f"fuzz.known{NUL}@example.org"})
    @example(data={"email": KNOWN_EMAIL})
    def check(data):
        post_form(app, "/reset-password", data, statuses)

    check()
    assert statuses[422] > 0 and statuses[200] > 0, statuses
    # 429: the fixed per-account limit ("5/hour", not configurable) on a repeated address.
    assert set(statuses) <= {200, 400, 422, 429}, statuses


def test_reset_password_form_never_errors(make_app):
    app = make_fuzz_app(make_app)
    statuses = Counter()

    @settings()
    @given(data=RESET)
    @example(
        data={
            "password": f"a river runs{NUL}through harborview",
            "password_confirm": f"a river runs{NUL}through harborview",
        }
    )
    @example(data={"password": "x" * 2000, "password_confirm": "x" * 2000})
    @example(
        data={
            "password": "\u03bb\u03cc\u03b3\u03bf\u03c2 \u202e\x1b \U0001f600 2024",
            "password_confirm": "\u03bb\u03cc\u03b3\u03bf\u03c2 \u202e\x1b \U0001f600 2024",
        }
    )
    def check(data):
        path = fresh_reset_path(app)
        post_form(app, path, data, statuses)

    check()
    assert statuses[422] > 0 and statuses[302] > 0, statuses
    assert set(statuses) <= {302, 400, 422}, statuses
