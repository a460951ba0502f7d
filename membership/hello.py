"""GET /_bench/hello: a bare baseline route, registered only with BENCHMARK_HELLO."""

from flask import Blueprint

bp = Blueprint("bench_hello", __name__)


@bp.route("/_bench/hello")
def hello():
    """The cheapest answer the app can give: no template, no database."""
    return "hello", 200, {"Content-Type": "text/plain; charset=utf-8"}
