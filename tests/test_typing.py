"""mypy --strict passes on the module that imports stripe."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_stripe_gateway_type_checks():
    from mypy import api

    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(ROOT / "membership/billing/stripe_gateway.py"),
        ]
    )
    assert status == 0, stdout + stderr
