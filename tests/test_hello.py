"""The benchmark's bare hello route exists only when the configuration asks for it."""


def test_hello_route_is_absent_by_default(make_app):
    app = make_app()
    assert "/_bench/hello" not in {rule.rule for rule in app.url_map.iter_rules()}
    assert app.test_client().get("/_bench/hello").status_code == 404


def test_hello_route_is_served_with_the_flag(make_app):
    response = make_app(BENCHMARK_HELLO=True).test_client().get("/_bench/hello")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello"
    assert response.mimetype == "text/plain"


def test_hello_route_follows_the_environment_variable(make_app, monkeypatch):
    monkeypatch.setenv("FLASK_BENCHMARK_HELLO", "true")
    assert make_app().test_client().get("/_bench/hello").status_code == 200
    monkeypatch.setenv("FLASK_BENCHMARK_HELLO", "false")
    assert make_app().test_client().get("/_bench/hello").status_code == 404
