"""What the discussion costs: the shared part, the personal part and the substitution.

    PYTHONPATH=. .venv/bin/python bench/discussion_render.py

On a throwaway SQLite database: 200 comments (a third of them replies) by 20 readers; the viewer
has 10 comments of their own and likes 30. Prints the CPU milliseconds of one call of each.
"""

import tempfile
import time
from datetime import timedelta

from flask_login import login_user

from membership import create_app
from membership.extensions import db

COMMENTS = 200
RUNS = 30


def fill(article, users) -> None:
    """COMMENTS comments, every third a reply; the viewer (users[0]) likes 30 threads."""
    from membership.models import Comment, CommentLike
    from membership.models.types import utcnow

    base = utcnow() - timedelta(hours=5)
    threads = []
    for number in range(COMMENTS):
        fields = {
            "article_id": article.id,
            "author_id": users[number % len(users)].id,
            "created_at": base + timedelta(seconds=number),
        }
        if number % 3 == 2:
            parent = threads[-1]
            comment = Comment(
                thread_id=parent.id, reply_to_id=parent.id, body=f"Reply {number} " * 20, **fields
            )
            parent.reply_count += 1
        else:
            comment = Comment(body=f"Comment {number} " * 20, **fields)
            threads.append(comment)
        db.session.add(comment)
        db.session.flush()
    db.session.add_all(CommentLike(comment_id=c.id, user_id=users[0].id) for c in threads[:30])
    article.comment_count = COMMENTS
    db.session.commit()


def per_call(function, runs: int = RUNS) -> float:
    start = time.process_time()
    for _ in range(runs):
        function()
    return (time.process_time() - start) / runs * 1000


def main() -> None:
    from membership.auth.services import create_user
    from membership.comments import discussion
    from membership.models import Article, Section
    from membership.models.types import utcnow

    folder = tempfile.mkdtemp()
    app = create_app(
        {
            "TESTING": True,
            "APP_ENV": "testing",
            "SECRET_KEY": "x" * 48,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/discussion.sqlite3",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with app.app_context():
        db.create_all()
        section = Section(slug="world", name="World", description="", position=0)
        article = Article(
            section=section,
            slug="story",
            title="Story",
            summary="",
            body="",
            author_name="A. Reporter",
            status="published",
            published_at=utcnow() - timedelta(days=1),
        )
        db.session.add(article)
        users = [
            create_user(f"reader{n}@example.org", f"Reader {n}", "a long password", confirmed=True)
            for n in range(20)
        ]
        db.session.flush()
        fill(article, users)
        with app.test_request_context("/articles/story"):
            viewer = users[0]
            login_user(viewer)
            gate = discussion.comment_gate(viewer, article)
            html = discussion.build_shared_discussion_html(article, "oldest", 1, True)
            shared = per_call(
                lambda: discussion.build_shared_discussion_html(article, "oldest", 1, True)
            )
            personal = discussion.discussion_personal(article, viewer, gate, "oldest")
            mine = per_call(lambda: discussion.discussion_personal(article, viewer, gate, "oldest"))
            substitution = per_call(
                lambda: discussion.personalise_discussion(html, personal), runs=300
            )
    print(f"shared HTML ({len(html) // 1024} KiB, {COMMENTS} comments): {shared:.1f} ms CPU")
    print(f"personal part (one query, the comment box): {mine:.2f} ms CPU")
    print(f"substitution ({len(personal.marks.own_ids)} own, 30 liked): {substitution:.2f} ms CPU")


if __name__ == "__main__":
    main()
