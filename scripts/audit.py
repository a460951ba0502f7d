"""`make audit`: pip-audit over the lock files, with the project's policy on what fails.

- A known vulnerability with a fixed release available fails the build: upgrade the pin in
  pyproject.toml, run `make lock`, and run the tests.
- A known vulnerability without any fix is printed as a warning (there is nothing to upgrade to);
  SECURITY.md says how such a case is assessed.
- A package the vulnerability service could not answer for is listed as NOT AUDITED. With
  `AUDIT_STRICT=1` that fails too; without it, it is a loud warning, because some networks (this
  project's build machines among them) reach PyPI's package index but not its per-release JSON
  API that carries the vulnerability data.
- pip-audit itself failing (no report) fails the build.

Where pip-audit could not ask about a release, the project's PyPI JSON (reachable where the
per-release one is not) is asked instead: its vulnerability list is about the latest release, so
it settles a package only when the lock pins that latest release. Anything else stays NOT AUDITED.

pip-audit runs with `--require-hashes --disable-pip`: it reads the pinned, hashed lock files as
they are, installs nothing and resolves nothing.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PYPI_PROJECT_JSON = "https://pypi.org/pypi/{name}/json"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.MULTILINE)


@dataclass
class Verdict:
    """What the report means for the build."""

    fixable: list[str] = field(default_factory=list)
    unfixed: list[str] = field(default_factory=list)
    not_audited: list[str] = field(default_factory=list)
    audited: int = 0

    def exit_code(self, strict: bool) -> int:
        if self.fixable or (strict and self.not_audited):
            return 1
        return 0


def judge(report: dict) -> Verdict:
    """Sort pip-audit's JSON report (`-f json`) into the policy's three kinds."""
    verdict = Verdict()
    for dependency in report.get("dependencies", []):
        name = dependency.get("name", "?")
        if "skip_reason" in dependency:
            verdict.not_audited.append(f"{name}: {dependency['skip_reason']}")
            continue
        verdict.audited += 1
        for vuln in dependency.get("vulns", []):
            label = f"{name} {dependency.get('version', '?')}: {vuln.get('id', '?')}"
            fixes = vuln.get("fix_versions") or []
            if fixes:
                verdict.fixable.append(f"{label}, fixed in {', '.join(fixes)}")
            else:
                verdict.unfixed.append(f"{label}, no fix released yet")
    return verdict


def pins(lock_files: list[str]) -> dict[str, str]:
    """name (lower-case, dashes) -> pinned version, from the lock files."""
    found = {}
    for lock_file in lock_files:
        for name, version in PIN.findall(Path(lock_file).read_text()):
            found[re.sub(r"[._-]+", "-", name).lower()] = version
    return found


def _latest(name: str) -> tuple[str, list[dict]] | None:
    url = PYPI_PROJECT_JSON.format(name=name)
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 (fixed https URL)
            data = json.load(response)
    except (OSError, ValueError):
        return None
    return data["info"]["version"], data.get("vulnerabilities") or []


def supplement(report: dict, pinned: dict[str, str]) -> dict:
    """Settle skipped packages pinned at their latest release from the project JSON."""
    skipped = [d for d in report.get("dependencies", []) if "skip_reason" in d]
    names = [re.sub(r"[._-]+", "-", d["name"]).lower() for d in skipped]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(_latest, names))
    for dependency, name, answer in zip(skipped, names, answers, strict=True):
        version = pinned.get(name)
        if answer is None or version is None:
            continue
        latest, vulns = answer
        if latest != version:
            dependency["skip_reason"] = (
                f"not audited: {name} {version} is pinned, the latest release is {latest}, and "
                "per-release vulnerability data could not be fetched"
            )
            continue
        del dependency["skip_reason"]
        dependency["version"] = version
        dependency["vulns"] = [
            {"id": v.get("id"), "fix_versions": v.get("fixed_in") or []}
            for v in vulns
            if not v.get("withdrawn")
        ]
    return report


def run_pip_audit(lock_files: list[str]) -> dict:
    command = [sys.executable, "-m", "pip_audit", "--require-hashes", "--disable-pip"]
    command += ["--progress-spinner", "off", "--format", "json"]
    for lock_file in lock_files:
        command += ["--requirement", lock_file]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"pip-audit did not produce a report (exit {result.returncode})") from None


def main(argv: list[str]) -> int:
    lock_files = argv or ["requirements.lock", "requirements-dev.lock"]
    strict = os.environ.get("AUDIT_STRICT", "") not in ("", "0")
    verdict = judge(supplement(run_pip_audit(lock_files), pins(lock_files)))
    for line in verdict.fixable:
        print(f"VULNERABLE (fix available): {line}")
    for line in verdict.unfixed:
        print(f"warning: vulnerable, no fix yet: {line}")
    if verdict.not_audited:
        print(
            f"{'ERROR' if strict else 'WARNING'}: {len(verdict.not_audited)} package(s) NOT "
            "AUDITED (the vulnerability service did not answer for them):"
        )
        for line in verdict.not_audited:
            print(f"  {line}")
    print(
        f"pip-audit: {verdict.audited} package(s) audited, {len(verdict.fixable)} fixable "
        f"vulnerability(ies), {len(verdict.unfixed)} without a fix, "
        f"{len(verdict.not_audited)} not audited."
    )
    return verdict.exit_code(strict)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
