"""URL converters: `<int:...>` ids stay within the database's integer range."""

from werkzeug.routing import IntegerConverter

# PostgreSQL's `integer` (the primary keys): a larger id in a URL would make the query itself
# fail (NumericValueOutOfRange, a 500); such an id names nothing, so the URL does not match (404).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`int` with an upper bound of MAX_ID unless the route gives its own `max`."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app) -> None:
    """Replace the `int` converter; must run before any blueprint adds its routes."""
    app.url_map.converters["int"] = IdConverter
