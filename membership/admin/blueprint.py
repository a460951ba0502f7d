"""The admin blueprint and its single guard; feature modules add their routes to `bp`."""

from flask import Blueprint

from membership.admin.guard import require_staff

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_staff)
