"""The drills' checks of the data once the faults are over, and the table they print."""

import psycopg


def consistency(database_url: str, acknowledged: list[str], mail_counts, webhooks) -> dict:
    """Counters, acknowledged writes, mail exactly once, events and payments; returns figures
    and the problems found."""
    problems: list[str] = []
    with psycopg.connect(database_url, connect_timeout=5) as connection:

        def one(query: str, *params):
            return connection.execute(query, params).fetchone()[0]

        articles = one("SELECT count(*) FROM articles")
        wrong_articles = one(
            "SELECT count(*) FROM articles a WHERE a.comment_count <> (SELECT count(*) FROM"
            " comments c WHERE c.article_id = a.id AND c.status = 'published')"
        )
        comments = one("SELECT count(*) FROM comments")
        wrong_replies = one(
            "SELECT count(*) FROM comments t WHERE t.thread_id IS NULL AND t.reply_count <>"
            " (SELECT count(*) FROM comments r WHERE r.thread_id = t.id"
            " AND r.status = 'published')"
        )
        if wrong_articles:
            problems.append(f"{wrong_articles} articles' comment_count differ from their comments")
        if wrong_replies:
            problems.append(f"{wrong_replies} comments' reply_count differ from their replies")

        stored = {
            body
            for (body,) in connection.execute(
                "SELECT body FROM comments WHERE body LIKE 'Drill comment %%'"
            ).fetchall()
        }
        lost = [body for body in acknowledged if body not in stored]
        if lost:
            problems.append(f"{len(lost)} acknowledged comments are missing: {lost[:3]}")

        outbox = connection.execute(
            "SELECT id, sent_at IS NOT NULL, failed_at IS NOT NULL, last_error FROM outbox_emails"
        ).fetchall()
        unsent = [row[0] for row in outbox if not row[1] and not row[2]]
        failed = [(row[0], row[3]) for row in outbox if row[2]]
        sent_ids = {str(row[0]) for row in outbox if row[1]}
        twice = {key: n for key, n in mail_counts.items() if n > 1}
        never = [key for key in sent_ids if mail_counts.get(key, 0) == 0]
        strangers = [key for key in mail_counts if key not in sent_ids]
        if unsent:
            problems.append(f"{len(unsent)} outbox emails never sent: {unsent[:5]}")
        if failed:
            problems.append(f"{len(failed)} outbox emails failed: {failed[:3]}")
        if twice:
            problems.append(f"emails delivered more than once (outbox id: count): {twice}")
        if never or strangers:
            problems.append(
                f"marked sent but not received {never[:5]}, received unknown {strangers[:5]}"
            )

        applied = sorted(webhooks.applied)
        recorded = {
            event_id
            for (event_id,) in connection.execute(
                "SELECT id FROM stripe_events WHERE id = ANY(%s)", (applied,)
            ).fetchall()
        }
        if len(recorded) != len(applied):
            problems.append(f"{len(applied) - len(recorded)} events answered 200 left no record")
        subscriptions = dict(
            connection.execute(
                "SELECT u.email, count(s.id) FROM users u LEFT JOIN subscriptions s"
                " ON s.user_id = u.id WHERE u.email = ANY(%s) GROUP BY u.email",
                (webhooks.completed,),
            ).fetchall()
        )
        unpaid = [email for email in webhooks.completed if subscriptions.get(email) != 1]
        if unpaid:
            problems.append(f"{len(unpaid)} completed checkouts without exactly one subscription")
    return {
        "problems": problems,
        "counters": f"{articles} articles, {comments} comments",
        "acknowledged": f"{len(acknowledged)} acknowledged comments",
        "outbox": f"{len(outbox)} outbox rows, {sum(mail_counts.values())} messages",
        "events": f"{len(applied)} events, {len(webhooks.completed)} payments",
    }


def table(rows: list[dict], checks: dict) -> str:
    """The drill's table, in Markdown (the README keeps the latest one)."""
    checked = {
        "PostgreSQL cut": checks["counters"],
        "Redis cut": checks["outbox"],
        "SMTP down": checks["outbox"],
        "Stripe 500 / timeout": checks["events"],
        "SIGKILL of an instance": checks["acknowledged"],
    }
    lines = [
        "| fault | requests in the window | error answers by status | slowest answer"
        " | time to recover | rows checked |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        errors = ", ".join(f"{status or 'no answer'}: {n}" for status, n in row["errors"].items())
        recovery = "-" if row["recovery"] is None else f"{row['recovery']:.1f} s"
        if row.get("note"):
            recovery += f" ({row['note']})"
        lines.append(
            f"| {row['fault']} | {row['requests']} | {errors or 'none'} | {row['slowest']:.1f} s"
            f" | {recovery} |"
            f" {checked.get(row['fault'].split(' (')[0], '')} |"
        )
    return "\n".join(lines)
