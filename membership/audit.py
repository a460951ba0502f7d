"""Recording staff actions in the audit log (and the application log)."""

import logging

from flask import has_request_context, request

from membership.extensions import db
from membership.models import AuditEvent, User

log = logging.getLogger(__name__)


def record(
    actor: User | None, action: str, target=None, *, target_type: str | None = None, **details
) -> AuditEvent:
    """Add an audit event for `action` on `target` (a model instance); the caller commits."""
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type or type(target).__name__.lower(),
        target_id=getattr(target, "id", None),
        details=details or None,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    log.info(
        "audit: %s by #%s on %s #%s",
        action,
        event.actor_id,
        event.target_type,
        event.target_id,
    )
    return event
