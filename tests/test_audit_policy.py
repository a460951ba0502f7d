"""`make audit` (issue 14.7): the policy applied to pip-audit's report.

pip-audit's own network calls are not made here; its JSON report and PyPI's answers are given.
"""

import pytest

from scripts import audit


def report(*dependencies):
    return {"dependencies": list(dependencies), "fixes": []}


FLASK_OK = {"name": "flask", "version": "3.1.3", "vulns": []}
JINJA_FIXABLE = {
    "name": "jinja2",
    "version": "3.1.2",
    "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"]}],
}
UNFIXED = {"name": "oldlib", "version": "1.0", "vulns": [{"id": "PYSEC-1", "fix_versions": []}]}
SKIPPED = {"name": "nh3", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_vulnerability_with_a_fix_fails_the_build():
    verdict = audit.judge(report(FLASK_OK, JINJA_FIXABLE))
    assert verdict.fixable == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95, fixed in 3.1.3"]
    assert verdict.exit_code(strict=False) == 1


def test_a_vulnerability_without_a_fix_warns():
    verdict = audit.judge(report(FLASK_OK, UNFIXED))
    assert verdict.unfixed and verdict.exit_code(strict=False) == 0


@pytest.mark.parametrize(("strict", "code"), [(False, 0), (True, 1)])
def test_unaudited_packages_fail_only_in_strict_mode(strict, code):
    verdict = audit.judge(report(FLASK_OK, SKIPPED))
    assert verdict.not_audited and verdict.audited == 1
    assert verdict.exit_code(strict=strict) == code


def test_pins_are_read_from_a_hashed_lock_file(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text(
        "psycopg[binary]==3.3.9 \\\n    --hash=sha256:ab\n"
        "Flask_Login==0.6.3 \\\n    --hash=sha256:cd\n    # via membership\n"
    )
    assert audit.pins([str(lock)]) == {"psycopg": "3.3.9", "flask-login": "0.6.3"}


def test_project_json_settles_only_packages_pinned_at_the_latest_release(monkeypatch):
    answers = {
        "nh3": ("0.3.7", [{"id": "GHSA-x", "fixed_in": ["0.3.8"]}, {"id": "W", "withdrawn": "y"}]),
        "pyotp": ("2.12.1", []),
    }
    monkeypatch.setattr(audit, "_latest", answers.get)
    pyotp = {"name": "pyotp", "skip_reason": "not found"}
    settled = audit.supplement(report(dict(SKIPPED), pyotp), {"nh3": "0.3.7", "pyotp": "2.12.0"})
    verdict = audit.judge(settled)
    assert verdict.fixable == ["nh3 0.3.7: GHSA-x, fixed in 0.3.8"]
    assert len(verdict.not_audited) == 1 and "latest release is 2.12.1" in verdict.not_audited[0]
    assert verdict.exit_code(strict=False) == 1
