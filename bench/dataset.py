"""The benchmark's dataset, written straight into an empty, migrated database.

PostgreSQL gets `COPY ... FROM STDIN` through psycopg 3; SQLite gets `executemany` in one big
transaction. Every member shares ONE argon2 hash (production parameters) of `BENCH_PASSWORD`, so
any of them can sign in, and hashing costs once instead of 100,000 times.

The shape tries to look like a regional news portal after a few years:
- members created over five years, 92% confirmed, a few suspended or banned, ids in time order;
- articles over two years, 70% public / 20% members / 10% paid, bodies from the demo stories;
- comments spread over articles with a heavy tail (a few stories get most of them), 30% replies,
  a few pending, removed or deleted; counters (`comment_count`, `reply_count`, `like_count`)
  agree with the rows; likes exist for every counted like;
- subscriptions: mostly active, some trialing, past_due, canceled; one per subscriber;
- four fixed stories for the measurements: exactly 5, 200 and 1,000 comments, and a "hot" story
  that receives the benchmark's comment POSTs;
- sponsorships only if the schema has a `sponsorships` table (filled from its reflected columns).
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

SIZES = {
    "members": 100_000,
    "articles": 2_000,
    "comments": 200_000,
    "subscriptions": 20_000,
    "sponsorships": 50_000,
}
BENCH_PASSWORD = "bench readers share this passphrase"  # noqa: S105 - throwaway benchmark data
SESSION_TOKEN_PREFIX = "bench-session-"  # noqa: S105 - not a secret
FIXED_COMMENT_COUNTS = {"five": 5, "two-hundred": 200, "one-thousand": 1000, "hot": 40}
BACKGROUND_SESSIONS = 30_000


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Ada Alan Alice Amara Anders Ane Aoife Arjun Astrid Ayla Bea Ben Bjorn Carla Chen Chiara Dara "
    "David Dmitri Elena Elif Emil Emma Erik Esther Farah Felix Fiona Frida Gabriel Grace Hana "
    "Hassan Helga Ines Ingrid Isaac Ivan Jamal Jana Johan Jonas Julia Kai Karin Kenji Lara Leila "
    "Leo Lina Linnea Lucas Luis Maja Malik Marta Mateo Mia Mikkel Mina Nadia Nia Nils Noah Nora "
    "Olga Omar Oskar Paula Pedro Priya Rafael Rania Rosa Ruth Sami Sara Sofia Stella Tariq Thea "
    "Tomas Una Vera Victor Wen Yara Yusuf Zara Zoe"
)
LAST_NAMES = _words(
    "Abara Andersen Baker Balogun Berg Bianchi Brandt Carter Castro Chowdhury Costa Dahl Diaz "
    "Dubois Ekström Eriksen Fischer Fontaine Garcia Greco Haddad Halvorsen Hansen Hartmann Holm "
    "Huang Ibrahim Ito Jansen Jensen Johansson Kaplan Karlsson Kim Koval Kowalski Lam Larsen "
    "Laurent Lindqvist Lopez Madsen Mahmoud Martin Meyer Mohammed Moreau Murphy Nakamura Nguyen "
    "Nielsen Novak Okafor Olsen Ortiz Park Pedersen Petrov Quinn Rahman Reyes Richter Rossi Said "
    "Sato Schmidt Silva Singh Sorensen Stein Suzuki Svensson Tanaka Torres Vargas Vogel Wagner "
    "Walsh Weber Wong Yilmaz Young Zhang Zimmermann"
)
DOMAINS = ("example.org", "example.com", "example.net", "mail.example", "post.example")
PLACES = (
    "Harborview",
    "Vesterhaven",
    "The Port Authority",
    "City Council",
    "The Regional Hospital",
    "Northside",
    "The University",
    "The Water Utility",
    "Riverside Schools",
    "The Ferry Service",
    "Local Farmers",
    "The Transit Agency",
)
ACTIONS = (
    "Approves",
    "Delays",
    "Rethinks",
    "Expands",
    "Questions",
    "Funds",
    "Cuts",
    "Debates",
    "Tests",
    "Unveils",
)
OBJECTS = (
    "Budget for Ferry Repairs",
    "Plan for Affordable Housing",
    "New Flood Barriers",
    "Night Bus Routes",
    "Clinic Opening Hours",
    "Stormwater Storage Pilot",
    "School Lunch Contract",
    "Harbour Dredging",
    "Solar Roofs on Public Buildings",
    "Library Funding",
    "Bike Lanes on Main Street",
    "Data Sharing With Vesterhaven",
)
AUTHORS = (
    "Ines Halvorsen",
    "Tomas Reyes",
    "Priya Chowdhury",
    "Jonas Berg",
    "Amara Okafor",
    "Lucas Moreau",
    "Hana Sato",
    "Sara Lindqvist",
)
TAGS = _words(
    "water climate housing transit budget schools health ports energy courts elections "
    "technology science business jobs culture sport environment police data"
)
COMMENT_SENTENCES = (
    "This is the kind of reporting the city needs more of.",
    "I went to the council meeting and the mood was very different from what is described here.",
    "Who is actually paying for this in the end?",
    "My street flooded twice last winter, so I am glad someone is finally looking at it.",
    "The numbers in the third paragraph do not add up to me.",
    "Thank you for explaining the background so clearly.",
    "We tried something similar ten years ago and it was quietly dropped.",
    "Has anyone asked the people who live next to the harbour?",
    "The full report is here: https://example.org/reports/2024/harbour-plan.pdf",
    "I disagree with the headline, but the article itself is fair.",
    "Interesting that the opposition has not said anything yet.",
    "Could you follow up on what happened to last year's promises?",
    "As a nurse at the regional hospital, I can confirm the staffing problem is real.",
    "Buses on the night routes are always full; more of them would help.",
    "I would rather see the money go to the schools.",
    "This reads like a press release from the port authority.",
    "Good to see local journalism that does not just repeat the press office.",
    "The map in the print edition was much clearer than the one online.",
    "My grandparents remember when the ferry ran every fifteen minutes.",
    "Is there a public consultation, and where can we send comments?",
    "Compare this with Vesterhaven, where the same project took half the time.",
    "The minutes of the meeting are published at https://example.org/council/minutes",
    "I am not convinced, but I appreciate the effort to show both sides.",
    "Another delay. Nobody will be surprised.",
)
SUSPENSION_REASONS = ("Repeated personal attacks", "Spam links", "Ignoring moderator warnings")


@dataclass
class Dataset:
    """What the benchmark needs to know about the generated data."""

    counts: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    admin_email: str = ""
    viewer_email: str = ""
    # (user id, raw session token) of confirmed readers in good standing, for comment POSTs.
    reader_sessions: list[tuple[int, str]] = field(default_factory=list)
    admin_session: tuple[int, str] | None = None
    viewer_session: tuple[int, str] | None = None
    # Confirmed readers without a subscription or a Stripe customer (for realistic webhooks).
    unsubscribed_readers: list[int] = field(default_factory=list)
    sponsorship_note: str = ""
    # The admin's TOTP secret, when the schema has two-factor sign-in (admins must use it).
    admin_totp_secret: str | None = None


# --- writers ----------------------------------------------------------------------------------


class Writer:
    """Bulk insertion into one database; `ts` turns an aware datetime into what it stores."""

    dialect = ""

    def ts(self, value: datetime | None) -> Any:
        raise NotImplementedError

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        raise NotImplementedError

    def finish(self, tables: Iterable[str]) -> None:
        raise NotImplementedError


class PostgresWriter(Writer):
    """COPY FROM STDIN in one transaction; sequences moved past the ids we wrote."""

    dialect = "postgresql"

    def __init__(self, conninfo: str) -> None:
        import psycopg

        self.connection = psycopg.connect(conninfo)
        # The rows are consistent by construction: skip the per-row foreign-key triggers while
        # loading (needs a superuser, as the bench's `postgres` is; otherwise they just run).
        try:
            with self.connection.transaction():
                self.connection.execute("SET session_replication_role = replica")
        except psycopg.Error:
            pass
        self.connection.execute("SET synchronous_commit = off")

    def ts(self, value: datetime | None) -> Any:
        return value

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def finish(self, tables: Iterable[str]) -> None:
        with self.connection.cursor() as cursor:
            for table in tables:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
                (sequence,) = cursor.fetchone()
                if sequence:
                    statement = (
                        f"SELECT setval('{sequence}', "  # noqa: S608 - our own table names
                        f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                    )
                    cursor.execute(statement)
        self.connection.execute("SET session_replication_role = DEFAULT")
        self.connection.commit()
        self.connection.autocommit = True
        self.connection.execute("ANALYZE")
        self.connection.close()


class SqliteWriter(Writer):
    """executemany inside one transaction (foreign keys checked by the app, not during load)."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        import sqlite3

        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=OFF")
        self.connection.execute("PRAGMA cache_size=-200000")
        self.connection.execute("BEGIN")

    def ts(self, value: datetime | None) -> Any:
        # SQLAlchemy's SQLite DATETIME storage format (naive UTC), so string comparisons hold.
        return None if value is None else value.replace(tzinfo=None).isoformat(" ", "microseconds")

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        rows = list(rows)
        marks = ", ".join("?" for _ in columns)
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
            rows,
        )
        return len(rows)

    def finish(self, tables: Iterable[str]) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("ANALYZE")
        self.connection.close()


def writer_for(url: str) -> Writer:
    """A writer for a SQLAlchemy URL (`postgresql+psycopg://...` or `sqlite:///...`)."""
    if url.startswith("sqlite:///"):
        return SqliteWriter(url[len("sqlite:///") :])
    conninfo = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)
    return PostgresWriter(conninfo)


# --- helpers ----------------------------------------------------------------------------------


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max((end - start).total_seconds(), 1.0)
    return start + timedelta(seconds=rng.random() * span)


def _demo_paragraphs() -> list[str]:
    from membership.demo_content import ARTICLES

    paragraphs = []
    for article in ARTICLES:
        paragraphs.extend(p.strip() for p in article["body"].split("\n\n") if p.strip())
    return paragraphs


def argon2_hash(password: str) -> str:
    """One hash with the production parameters (config.py: m=19 MiB, t=2, p=1)."""
    from argon2 import PasswordHasher

    from membership.auth.passwords import normalize

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1).hash(
        normalize(password)
    )


def _session_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


# --- the generator ----------------------------------------------------------------------------


def generate(
    url: str,
    *,
    sizes: dict[str, int] | None = None,
    reader_sessions: int = 20_000,
    seed: int = 8,
    log=print,
    secret_key: str | None = None,
) -> Dataset:
    """Fill a migrated, empty database; returns what the measurements need.

    `secret_key` is the app's SECRET_KEY: the admin's TOTP secret is stored encrypted with it.
    """
    sizes = {**SIZES, **(sizes or {})}
    rng = random.Random(seed)
    data = Dataset()
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    writer = writer_for(url)
    ts = writer.ts

    clock = time.perf_counter()
    password_hash = argon2_hash(BENCH_PASSWORD)
    data.seconds["argon2_hash"] = time.perf_counter() - clock

    def timed(name: str, table: str, columns: Sequence[str], rows) -> int:
        begin = time.perf_counter()
        count = writer.load(table, columns, rows)
        data.seconds[name] = round(time.perf_counter() - begin, 3)
        data.counts[name] = count
        return count

    # Sections, tags, tiers, settings ----------------------------------------------------------
    from membership.cli import DEMO_TIERS
    from membership.demo_content import SECTIONS

    timed(
        "sections",
        "sections",
        ("id", "slug", "name", "description", "position"),
        [(i + 1, s, n, d, i) for i, (s, n, d) in enumerate(SECTIONS)],
    )
    timed(
        "tags", "tags", ("id", "slug", "name"), [(i + 1, t, t.title()) for i, t in enumerate(TAGS)]
    )
    tier_rows = []
    for position, tier in enumerate(DEMO_TIERS):
        tier_rows.append(
            (
                position + 1,
                tier["slug"],
                tier["name"],
                tier["description"],
                json.dumps(tier["benefits"]),
                tier.get("monthly_price", 0),
                tier.get("yearly_price", 0),
                "usd",
                True,
                position,
                ts(now - timedelta(days=1800)),
            )
        )
    timed(
        "tiers",
        "tiers",
        (
            "id",
            "slug",
            "name",
            "description",
            "benefits",
            "monthly_price",
            "yearly_price",
            "currency",
            "active",
            "position",
            "created_at",
        ),
        tier_rows,
    )
    tier_ids = {tier["slug"]: i + 1 for i, tier in enumerate(DEMO_TIERS)}

    # Members ----------------------------------------------------------------------------------
    n_members = sizes["members"]
    first_created = now - timedelta(days=5 * 365)
    created = sorted(
        _between(rng, first_created, now - timedelta(days=2)) for _ in range(n_members)
    )
    confirmed = [rng.random() < 0.92 for _ in range(n_members)]
    status = ["active"] * n_members
    for index in rng.sample(range(20, n_members), n_members // 100):
        status[index] = "suspended"
    for index in rng.sample(range(20, n_members), n_members // 200):
        if status[index] == "active":
            status[index] = "banned"
    confirmed[0] = True
    names = [(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(n_members)]

    def email_of(user_id: int) -> str:
        first, last = names[user_id - 1]
        return f"{first}.{last}{user_id}@{DOMAINS[user_id % len(DOMAINS)]}".lower()

    good = [i + 1 for i in range(n_members) if confirmed[i] and status[i] == "active" and i >= 11]
    # Subscribers: distinct readers in good standing.
    subscribers = rng.sample(good, min(sizes["subscriptions"], len(good)))
    subscriber_set = set(subscribers)
    complimentary = set(rng.sample([u for u in good if u not in subscriber_set], n_members // 200))
    customers = {user_id: f"cus_bench{user_id:06d}" for user_id in subscribers}

    def member_rows():
        for i in range(n_members):
            user_id = i + 1
            first, last = names[i]
            made = created[i]
            role = "admin" if i == 0 else ("moderator" if i <= 10 else "reader")
            state = status[i]
            yield (
                user_id,
                email_of(user_id),
                f"{first} {last}",
                password_hash,
                role,
                state,
                rng.choice(SUSPENSION_REASONS) if state != "active" else None,
                ts(now + timedelta(days=rng.randint(1, 60)))
                if state == "suspended" and rng.random() < 0.7
                else None,
                ts(made + timedelta(minutes=rng.randint(1, 600))) if confirmed[i] else None,
                ts(made),
                ts(_between(rng, made, now)) if rng.random() < 0.8 else None,
                ts(made),
                tier_ids["supporter"] if user_id in complimentary else None,
                None,
                customers.get(user_id),
                rng.random() < 0.9,
                None,
            )

    timed(
        "members",
        "users",
        (
            "id",
            "email",
            "display_name",
            "password_hash",
            "role",
            "status",
            "status_reason",
            "suspended_until",
            "email_confirmed_at",
            "created_at",
            "last_login_at",
            "password_changed_at",
            "complimentary_tier_id",
            "complimentary_until",
            "stripe_customer_id",
            "notify_replies",
            "last_comment_at",
        ),
        member_rows(),
    )
    data.admin_email = email_of(1)
    data.admin_totp_secret = _enable_admin_totp(url, writer, now, secret_key)
    log(f"  members: {data.counts['members']:,} in {data.seconds['members']:.1f} s")

    # Articles ---------------------------------------------------------------------------------
    n_articles = sizes["articles"]
    paragraphs = _demo_paragraphs()
    published = sorted(
        _between(rng, now - timedelta(days=730), now - timedelta(hours=3))
        for _ in range(n_articles)
    )
    fixed = list(FIXED_COMMENT_COUNTS)
    # The fixed stories are the newest published ones, public, open for comments.
    fixed_ids = {name: n_articles - len(fixed) + k + 1 for k, name in enumerate(fixed)}
    article_status: dict[int, str] = {}
    article_access: dict[int, str] = {}
    article_published: dict[int, datetime | None] = {}
    article_rows = []
    article_tag_rows = []
    for i in range(n_articles):
        article_id = i + 1
        title = f"{rng.choice(PLACES)} {rng.choice(ACTIONS)} {rng.choice(OBJECTS)}"
        special = next((name for name, fid in fixed_ids.items() if fid == article_id), None)
        if special:
            title = f"Benchmark story with {special} comments"
        roll = rng.random()
        state = "published" if special or roll > 0.02 else "draft"
        access = "public"
        if not special:
            roll = rng.random()
            access = "public" if roll < 0.7 else ("members" if roll < 0.9 else "paid")
        when: datetime | None = published[i] if state == "published" else None
        if state == "published" and not special and rng.random() < 0.01:
            when = now + timedelta(days=rng.randint(1, 10))  # scheduled
        slug = f"{slugify(title)}-{article_id}"
        if special:
            data.slugs[special] = slug
        body = "\n\n".join(rng.sample(paragraphs, rng.randint(6, 12)))
        summary = paragraphs[rng.randrange(len(paragraphs))][:280]
        article_status[article_id] = state
        article_access[article_id] = access
        article_published[article_id] = when
        made = (when or published[i]) - timedelta(hours=rng.randint(1, 48))
        article_rows.append(
            [
                article_id,
                slug,
                title,
                summary,
                body,
                rng.choice(AUTHORS),
                rng.randint(1, len(SECTIONS)),
                state,
                access,
                None,
                None,
                0,  # comment_count, set below
                1,
                ts(when),
                ts(made),
                ts(made),
            ]
        )
        for tag_id in rng.sample(range(1, len(TAGS) + 1), rng.randint(1, 4)):
            article_tag_rows.append((article_id, tag_id))

    # Comments ---------------------------------------------------------------------------------
    commentable = [
        a
        for a in article_status
        if article_status[a] == "published"
        and article_published[a] is not None
        and article_published[a] < now
        and a not in fixed_ids.values()
    ]
    remaining = sizes["comments"] - sum(FIXED_COMMENT_COUNTS.values())
    weights = [rng.paretovariate(1.2) for _ in commentable]
    per_article: dict[int, int] = dict.fromkeys(commentable, 0)
    for article_id in rng.choices(commentable, weights=weights, k=remaining):
        per_article[article_id] += 1
    for name, count in FIXED_COMMENT_COUNTS.items():
        per_article[fixed_ids[name]] = count
    # A small share of readers write most comments.
    commenters = rng.sample(good, min(len(good), 25_000))
    commenter_weights = [rng.paretovariate(1.5) for _ in commenters]

    raw: list[list[Any]] = []  # [created, article, thread_idx, reply_to_idx, author, status]
    for article_id, count in per_article.items():
        if not count:
            continue
        start = article_published[article_id] or now
        times = sorted(
            _between(rng, start, min(start + timedelta(days=7), now)) for _ in range(count)
        )
        authors = rng.choices(commenters, weights=commenter_weights, k=count)
        roots: list[int] = []
        threads: dict[int, list[int]] = {}
        for k in range(count):
            index = len(raw)
            if roots and rng.random() < 0.3:
                root = rng.choice(roots[-40:])
                reply_to = rng.choice([root, *threads[root][-3:]])
                threads[root].append(index)
                raw.append([times[k], article_id, root, reply_to, authors[k]])
            else:
                roots.append(index)
                threads[index] = []
                raw.append([times[k], article_id, None, None, authors[k]])
    order = sorted(range(len(raw)), key=lambda i: raw[i][0])
    new_id = {old: position + 1 for position, old in enumerate(order)}
    statuses = []
    for _ in raw:
        roll = rng.random()
        statuses.append(
            "published"
            if roll < 0.96
            else ("pending" if roll < 0.975 else ("removed" if roll < 0.99 else "deleted"))
        )
    comment_count: dict[int, int] = {}
    reply_count: dict[int, int] = {}
    for index, (_, article_id, root, _reply_to, _author) in enumerate(raw):
        if statuses[index] == "published":
            comment_count[article_id] = comment_count.get(article_id, 0) + 1
            if root is not None:
                reply_count[root] = reply_count.get(root, 0) + 1
    likes_per_comment = [
        min(int(rng.expovariate(2.0) ** 2), 40) if statuses[i] == "published" else 0
        for i in range(len(raw))
    ]
    # Like rows first, so like_count agrees with them (duplicates and self-likes dropped).
    like_rows: list[tuple[int, int, Any]] = []
    like_count: dict[int, int] = {}
    pool = len(good)
    for old, likes in enumerate(likes_per_comment):
        if not likes:
            continue
        chosen = {good[rng.randrange(pool)] for _ in range(likes)}
        chosen.discard(raw[old][4])
        like_count[old] = len(chosen)
        for user_id in chosen:
            at = raw[old][0] + timedelta(minutes=rng.randint(1, 600))
            like_rows.append((new_id[old], user_id, ts(at)))

    def comment_rows():
        for old in order:
            created_at, article_id, root, reply_to, author = raw[old]
            state = statuses[old]
            body = "" if state == "deleted" else _comment_body(rng)
            yield (
                new_id[old],
                article_id,
                author,
                new_id[root] if root is not None else None,
                new_id[reply_to] if reply_to is not None else None,
                body,
                state,
                None,
                like_count.get(old, 0),
                reply_count.get(old, 0),
                3 if state == "pending" else 0,
                ts(created_at),
                None,
                ts(created_at + timedelta(hours=2)) if state in ("pending", "removed") else None,
            )

    for row in article_rows:
        row[11] = comment_count.get(row[0], 0)
    timed(
        "articles",
        "articles",
        (
            "id",
            "slug",
            "title",
            "summary",
            "body",
            "author_name",
            "section_id",
            "status",
            "access_level",
            "cover_image_url",
            "comment_policy",
            "comment_count",
            "editor_id",
            "published_at",
            "created_at",
            "updated_at",
        ),
        article_rows,
    )
    timed("article_tags", "article_tags", ("article_id", "tag_id"), article_tag_rows)
    timed(
        "comments",
        "comments",
        (
            "id",
            "article_id",
            "author_id",
            "thread_id",
            "reply_to_id",
            "body",
            "status",
            "submission_id",
            "like_count",
            "reply_count",
            "open_report_count",
            "created_at",
            "edited_at",
            "moderated_at",
        ),
        comment_rows(),
    )
    log(f"  comments: {data.counts['comments']:,} in {data.seconds['comments']:.1f} s")

    timed("comment_likes", "comment_likes", ("comment_id", "user_id", "created_at"), like_rows)

    # Subscriptions ----------------------------------------------------------------------------
    def subscription_rows():
        for k, user_id in enumerate(subscribers):
            roll = rng.random()
            state = (
                "active"
                if roll < 0.80
                else (
                    "trialing"
                    if roll < 0.83
                    else (
                        "past_due"
                        if roll < 0.86
                        else ("canceled" if roll < 0.98 else "incomplete_expired")
                    )
                )
            )
            if k == 0:
                state = "active"
            tier = "supporter" if rng.random() < 0.75 else "patron"
            interval = "month" if rng.random() < 0.7 else "year"
            tier_info = DEMO_TIERS[tier_ids[tier] - 1]
            amount = tier_info["monthly_price" if interval == "month" else "yearly_price"]
            started_at = _between(rng, created[user_id - 1], now - timedelta(days=1))
            live = state in ("active", "trialing", "past_due")
            period_end = now + timedelta(days=rng.randint(1, 30 if interval == "month" else 365))
            ended = None if live else _between(rng, started_at, now)
            yield (
                k + 1,
                user_id,
                tier_ids[tier],
                f"sub_bench{k + 1:06d}",
                customers[user_id],
                f"price_bench_{tier}_{interval}",
                interval,
                amount,
                "usd",
                state,
                live and rng.random() < 0.05,
                ts(period_end if live else ended),
                ts(ended),
                ts(ended),
                None,
                None,
                None,
                tier_ids[tier],
                ts(started_at),
                ts(ended or started_at),
            )

    timed(
        "subscriptions",
        "subscriptions",
        (
            "id",
            "user_id",
            "tier_id",
            "stripe_subscription_id",
            "stripe_customer_id",
            "stripe_price_id",
            "interval",
            "amount",
            "currency",
            "status",
            "cancel_at_period_end",
            "current_period_end",
            "canceled_at",
            "ended_at",
            "previous_tier_id",
            "previous_tier_until",
            "payment_failed_notified_at",
            "welcomed_tier_id",
            "created_at",
            "updated_at",
        ),
        subscription_rows(),
    )

    # Sessions: background ones, then the benchmark's readers, viewer and admin -----------------
    free_readers = [u for u in good if u not in subscriber_set and u not in complimentary]
    rng.shuffle(free_readers)
    bench_readers = free_readers[:reader_sessions]
    data.unsubscribed_readers = free_readers[reader_sessions : reader_sessions + 200]
    viewer = subscribers[0]  # a paying subscriber (its subscription is forced active)
    data.viewer_email = email_of(viewer)
    session_rows = []
    for k in range(BACKGROUND_SESSIONS):
        user_id = rng.randint(1, n_members)
        made = _between(rng, now - timedelta(days=30), now)
        session_rows.append(
            (
                _session_hash(uuid.UUID(int=rng.getrandbits(128)).hex),
                user_id,
                made,
                made + timedelta(days=30 if k % 2 else 1),
                k % 2 == 1,
                made if rng.random() < 0.2 else None,
            )
        )
    bench_tokens = []
    for user_id in [*bench_readers, 1, viewer]:
        token = f"{SESSION_TOKEN_PREFIX}{user_id}-{uuid.UUID(int=rng.getrandbits(128)).hex}"
        bench_tokens.append((user_id, token))
        session_rows.append(
            (_session_hash(token), user_id, now, now + timedelta(days=30), True, None)
        )
    data.reader_sessions = bench_tokens[: len(bench_readers)]
    data.admin_session = bench_tokens[len(bench_readers)]
    data.viewer_session = bench_tokens[len(bench_readers) + 1]

    def session_table_rows():
        for k, (digest, user_id, made, expires, remember, revoked) in enumerate(session_rows):
            yield (
                k + 1,
                user_id,
                digest,
                ts(made),
                ts(made),
                ts(made),
                ts(expires),
                remember,
                "127.0.0.1",
                "Mozilla/5.0 (bench)",
                ts(revoked),
            )

    timed(
        "user_sessions",
        "user_sessions",
        (
            "id",
            "user_id",
            "token_hash",
            "created_at",
            "authenticated_at",
            "last_seen_at",
            "expires_at",
            "remember",
            "ip_address",
            "user_agent",
            "revoked_at",
        ),
        session_table_rows(),
    )

    # Sponsorships, only where the schema has them ----------------------------------------------
    data.sponsorship_note = _sponsorships(
        url, writer, timed, rng, now, sizes["sponsorships"], n_members, n_articles
    )
    log(f"  sponsorships: {data.sponsorship_note}")

    clock = time.perf_counter()
    writer.finish(
        [
            "sections",
            "tags",
            "tiers",
            "users",
            "articles",
            "comments",
            "subscriptions",
            "user_sessions",
            *(["sponsorships", "sponsorship_payments"] if "sponsorships" in data.counts else []),
        ]
    )
    data.seconds["finish_and_analyze"] = round(time.perf_counter() - clock, 3)
    data.seconds["total"] = round(time.perf_counter() - started, 3)
    return data


def _enable_admin_totp(
    url: str, writer: Writer, now: datetime, secret_key: str | None
) -> str | None:
    """Administrators must have two-factor sign-in where the schema supports it: turn it on for
    the bench's admin (account 1) with a known secret, so the bench can sign in with a code.
    The column holds the secret encrypted as the app does (membership/crypto.py)."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("users")}
    finally:
        engine.dispose()
    if not {"totp_secret", "totp_enabled_at"} <= columns:
        return None
    secret = "JBSWY3DPEHPK3PXPBENCHADMIN234567"  # noqa: S105 - throwaway benchmark account
    stored = secret
    if secret_key:
        from membership.crypto import Box

        stored = Box([secret_key]).encrypt(secret)
    mark = "%s" if writer.dialect == "postgresql" else "?"
    writer.connection.execute(
        f"UPDATE users SET totp_secret = {mark}, totp_enabled_at = {mark} WHERE id = 1",  # noqa: S608
        (stored, writer.ts(now)),
    )
    return secret


def _comment_body(rng: random.Random) -> str:
    sentences = rng.sample(COMMENT_SENTENCES, rng.randint(1, 4))
    if len(sentences) > 2 and rng.random() < 0.4:
        return " ".join(sentences[:2]) + "\n\n" + " ".join(sentences[2:])
    return " ".join(sentences)


# --- sponsorships (generic: the table is being designed while this is written) ----------------


def _sponsorships(url, writer, timed, rng, now, count, n_members, n_articles) -> str:
    """Fill `sponsorships` (and `sponsorship_payments`) from their reflected columns, if present."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        if "sponsorships" not in tables:
            return "n/a (no sponsorships table in the schema)"
        known_ids = {"users": n_members, "articles": n_articles, "sponsorships": count}
        for table in ("sponsorships", "sponsorship_payments"):
            if table not in tables:
                continue
            columns, rows = _generic_rows(inspector, table, count, known_ids, writer, rng, now)
            timed(table, table, columns, rows)
        return f"{count:,} generated from the reflected schema"
    except Exception as error:  # the schema may be mid-change: report, do not fail the bench
        return f"n/a (generation failed: {type(error).__name__}: {error})"
    finally:
        engine.dispose()


def _generic_rows(inspector, table, count, known_ids, writer, rng, now):

    columns = inspector.get_columns(table)
    foreign = {
        fk["constrained_columns"][0]: fk["referred_table"]
        for fk in inspector.get_foreign_keys(table)
        if len(fk["constrained_columns"]) == 1
    }
    unique = {
        c["column_names"][0]
        for c in inspector.get_unique_constraints(table)
        if len(c["column_names"]) == 1
    }
    unique |= {
        i["column_names"][0]
        for i in inspector.get_indexes(table)
        if i.get("unique") and len(i["column_names"]) == 1
    }
    choices: dict[str, list[str]] = {}
    for check in inspector.get_check_constraints(table):
        # SQLite keeps "col IN ('a', 'b')"; PostgreSQL answers "((col)::text = ANY (ARRAY[...]))".
        text = str(check["sqltext"])
        values = re.findall(r"'([^']*)'", text)
        column = re.match(r"\W*(\w+)", text)
        if values and column and (" IN " in text.upper() or "ANY" in text.upper()):
            choices[column.group(1)] = values
    names = [c["name"] for c in columns]
    makers = [
        _maker(c, table, foreign, unique, choices, known_ids, writer, rng, now) for c in columns
    ]

    def rows():
        for k in range(count):
            yield tuple(make(k) for make in makers)

    return names, rows()


def _maker(column, table, foreign, unique, choices, known_ids, writer, rng, now):
    """A function k -> value for one reflected column (decided once, not per row)."""
    from sqlalchemy import types

    name, kind, nullable = column["name"], column["type"], column["nullable"]
    if name == "id":
        return lambda k: k + 1
    if name in foreign:
        limit = known_ids.get(foreign[name])
        if not limit:
            return lambda k: None
        if foreign[name] == "sponsorships":
            return lambda k: k % limit + 1
        if nullable:
            return lambda k: rng.randint(1, limit) if rng.random() < 0.7 else None
        return lambda k: rng.randint(1, limit)
    if name in choices:
        values = choices[name]
        return lambda k: rng.choice(values)
    if isinstance(kind, types.DateTime):
        span = 3 * 365 * 86400
        return lambda k: writer.ts(now - timedelta(seconds=rng.randrange(span)))
    if isinstance(kind, types.Boolean):
        usually_on = name.startswith(("show", "notify", "is_active", "active", "public"))
        share = 0.8 if usually_on else 0.03
        return lambda k: rng.random() < share
    if isinstance(kind, types.Integer):
        if "refund" in name:
            return lambda k: 0
        if "amount" in name:
            return lambda k: rng.choice((500, 1000, 2500, 5000, 10000))
        return lambda k: 1
    if isinstance(kind, types.JSON):
        return lambda k: "{}"
    if isinstance(kind, types.String):
        length = kind.length or 255
        if name in unique or name.startswith("stripe_"):
            return lambda k: f"bench_{table}_{name}_{k + 1}"[:length]
        if name == "currency":
            return lambda k: "usd"
        if name == "email":
            return lambda k: f"sponsor{k + 1}@example.org"
        if "name" in name:
            return lambda k: f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"[:length]
        if name == "message":
            return lambda k: "Thank you for the reporting."
        return (lambda k: None) if nullable else (lambda k: "")
    return (lambda k: None) if nullable else (lambda k: 0)
