"""The admin area. Importing the package registers every admin route on `bp`."""

from membership.admin import (  # noqa: F401  (routes register on import)
    audit_views,
    billing_conflicts,
    members_io_views,
    members_views,
    moderation_views,
    roles_views,
    settings_views,
    views,
)
from membership.admin.blueprint import bp

__all__ = ["bp"]
