"""Every audit code the code base records reads as a sentence on the audit log and the timeline."""

import ast
import html
import re
from pathlib import Path

import pytest

from membership.admin import members, moderation
from membership.admin.audit_words import describe
from membership.audit import record
from membership.extensions import db
from membership.models import Comment

SOURCE = Path(__file__).resolve().parent.parent / "membership"
# Call sites whose code is computed: (file, source of the argument) -> the codes it can take.
# A new computed call site fails the walk until its codes are listed here.
COMPUTED = {
    ("admin/moderation.py", 'f"comment.{action}"'): [f"comment.{a}" for a in moderation.ACTIONS],
    ("admin/members.py", 'f"members.bulk.{action}"'): [
        f"members.bulk.{a}" for a in members.BULK_ACTIONS
    ],
    ("comments/services.py", "action"): ["comment.feature", "comment.unfeature"],
}
SENTENCE = re.compile(r'<p class="audit-sentence"><strong[^>]*>[^<]*</strong> ([^<]*)</p>')


def recorded_codes() -> set[str]:
    """The action codes passed to `record(...)`/`audit.record(...)` anywhere in membership/."""
    codes: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if name != "record" or owner not in ("", "audit"):
                continue
            argument = node.args[1]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                codes.add(argument.value)
                continue
            key = (path.relative_to(SOURCE).as_posix(), ast.unparse(argument).replace("'", '"'))
            assert key in COMPUTED, f"list the codes of the computed audit action at {key}"
            codes.update(COMPUTED[key])
    return codes


def test_the_walk_finds_the_codes_of_every_kind_of_staff_action():
    codes = recorded_codes()
    # A floor, so that a walk that silently finds nothing cannot pass.
    assert {
        "member.suspend",
        "member.role",
        "comment.feature",
        "comment.unfeature",
        "job.retry",
        "billing.subscription_conflict",
        "billing.conflict_dismiss",
        "billing.conflict_resolved",
        "members.bulk.add_label",
    } <= codes
    assert len(codes) >= 35


@pytest.mark.parametrize("code", sorted(recorded_codes()))
def test_each_recorded_code_reads_as_words(code):
    for details in (
        {},
        {"reason": "spam", "old": "reader", "new": "editor", "job": "sweep_outbox"},
    ):
        words = describe(code, details, "Rosa Reader")
        assert words != code
        assert code not in words
        assert not re.search(r"\b\w+\.\w+\b|_", words), f"{code} shows a code: {words!r}"
        assert words[:1].islower(), "the actor's name comes first, so the verb is lower case"


@pytest.mark.parametrize("code", sorted(recorded_codes()))
def test_the_audit_log_shows_each_code_as_a_sentence(app, admin_client, code):
    record(None, code, target_type="user", **{"stripe_subscription": "sub_123"})
    db.session.commit()
    page = admin_client.get(f"/admin/audit?action={code}").get_data(as_text=True)
    [sentence] = SENTENCE.findall(page)
    assert code not in sentence
    assert re.search(r"[a-z]{3,}", html.unescape(sentence))
    assert f'href="/admin/audit?action={code}"' in page, "the code stays as the filter"


def test_a_role_change_reads_as_words_in_the_log_and_the_timeline(admin_client, make_user):
    reader = make_user("rosa@example.org", display_name="Rosa Reader")
    admin_client.submit(
        f"/admin/members/{reader.id}/role",
        {"role": "moderator"},
        page=f"/admin/members/{reader.id}",
    )
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "made Rosa Reader a moderator (was a reader)" in log
    timeline = admin_client.get(f"/admin/members/{reader.id}").get_data(as_text=True)
    admin = admin_client.user.display_name
    assert f"{admin} made Rosa Reader a moderator (was a reader)" in timeline


def test_featuring_a_comment_reads_as_words(make_staff_client, admin_client, make_user, article):
    author = make_user("rita@example.org", display_name="Rita")
    comment = Comment(article_id=article.id, author_id=author.id, body="The insightful one")
    db.session.add(comment)
    db.session.commit()
    moderator = make_staff_client("moderator")
    url = f"/articles/{article.slug}"
    assert moderator.submit(f"/comments/{comment.id}/feature", page=url).status_code == 302
    assert moderator.submit(f"/comments/{comment.id}/feature", page=url).status_code == 302
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert f"featured comment #{comment.id}" in log
    assert f"stopped featuring comment #{comment.id}" in log
    assert f"<strong>author</strong>: member #{author.id}</li>" in log
    assert "author_id" not in log


def test_a_background_job_is_named_as_the_system_on_the_timeline(admin_client, make_user):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    record(None, "member.suspension.expired", member)
    db.session.commit()
    timeline = admin_client.get(f"/admin/members/{member.id}").get_data(as_text=True)
    assert "The system (or a deleted account) lifted Rosa Reader&#39;s suspension" in timeline
    assert "Staff lifted" not in timeline


def test_the_details_column_speaks_words_too(admin_client, make_user):
    member = make_user("rosa@example.org", display_name="Rosa Reader")
    admin_client.submit(
        f"/admin/members/{member.id}/suspend",
        {"reason": "spam", "until": "2099-01-12", "confirmed": "yes"},
        page=f"/admin/members/{member.id}",
    )
    log = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "suspended Rosa Reader until 12 Jan 2099: spam" in log
    assert "<strong>until</strong>: 12 Jan 2099</li>" in log
    assert "T00:00:00" not in log
