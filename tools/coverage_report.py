"""Branch coverage per package, from the JSON report `make coverage` writes.

    .venv/bin/python tools/coverage_report.py coverage.json

coverage.py's own formula, summed per package: (lines run + branch arms taken) over
(lines + branch arms). A top-level module (access.py) is its own row.
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

FIELDS = ("covered_lines", "num_statements", "covered_branches", "num_branches")


def package_of(path: str) -> str:
    parts = Path(path).parts
    inner = parts[parts.index("membership") + 1 :]
    return inner[0] + ("/" if len(inner) > 1 else "")


def main(report: str) -> int:
    files = json.loads(Path(report).read_text())["files"]
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for path, data in files.items():
        for field in FIELDS:
            sums[package_of(path)][field] += data["summary"][field]
    total = dict.fromkeys(FIELDS, 0)
    print(f"| {'package':18} | {'lines':>11} | {'branches':>11} | {'branch coverage':>15} |")
    print(f"|{'-' * 20}|{'-' * 12}:|{'-' * 12}:|{'-' * 16}:|")
    for name in sorted(sums, key=lambda n: (n.endswith("/"), n)):
        row = sums[name]
        for field in FIELDS:
            total[field] += row[field]
        print(line(name, row))
    print(line("**all**", total))
    return 0


def line(name: str, row: dict[str, int]) -> str:
    covered = row["covered_lines"] + row["covered_branches"]
    possible = row["num_statements"] + row["num_branches"]
    percent = 100 * covered / possible if possible else 100.0
    lines = f"{row['covered_lines']}/{row['num_statements']}"
    branches = f"{row['covered_branches']}/{row['num_branches']}"
    label = name if name.startswith("*") else f"`{name}`"
    return f"| {label:18} | {lines:>11} | {branches:>11} | {percent:14.1f}% |"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "coverage.json"))
