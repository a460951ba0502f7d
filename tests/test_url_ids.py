"""An id past the database's integer range in any URL is a 404, never a 500 (PostgreSQL raised
NumericValueOutOfRange for it). Walks every rule of `app.url_map` with an `int` part."""

from werkzeug.routing import IntegerConverter

HUGE = 2**31


def test_every_route_with_an_id_refuses_one_past_the_integer_range(app, admin_client):
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [
            name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)
        ]
        if not ids or not ({"GET", "POST"} & rule.methods):
            continue
        values = {name: 1 for name in rule.arguments}
        values.update({name: HUGE for name in ids})
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        method = "get" if "GET" in rule.methods else "post"
        response = getattr(admin_client, method)(path)
        assert response.status_code in (400, 404, 405), (path, response.status_code)
        checked += 1
    assert checked >= 10
