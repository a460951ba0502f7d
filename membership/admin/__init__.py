"""The admin area. Importing the package registers every admin route on `bp`."""

from membership.admin import views  # noqa: F401  (routes register on import)
from membership.admin.blueprint import bp

__all__ = ["bp"]
