"""Emails carry the site-name setting when one is set (issue 14.8), else the SITE_NAME config."""

from membership.extensions import db
from membership.settings import set_setting


def test_emails_use_the_site_name_setting(client, user, mailbox):
    set_setting("site_name", "The Harbor Gazette")
    db.session.commit()
    client.submit("/reset-password", {"email": user.email})
    message = mailbox.last(user.email)
    assert "The Harbor Gazette" in mailbox.text_of(message)
    assert "The Harbor Gazette" in message.get_body(preferencelist=("html",)).get_content()
    assert "The Civic Ledger" not in mailbox.text_of(message)


def test_without_the_setting_emails_use_the_configured_name(client, user, mailbox):
    client.submit("/reset-password", {"email": user.email})
    assert "The Civic Ledger" in mailbox.text_of(mailbox.last(user.email))
