"""The mutation score per module, from the results `mutmut run` leaves under mutants/.

    .venv/bin/python tools/mutation_report.py               # the table
    .venv/bin/python tools/mutation_report.py --survivors   # and every surviving mutant's name
    .venv/bin/python tools/mutation_report.py --diffs       # and what each survivor changes
    .venv/bin/python tools/mutation_report.py --seconds     # where a run's time went
    .venv/bin/python tools/mutation_report.py --save-kills  # tests/mutation-kills.json

Killed (and timed-out) mutants over every mutant checked. A mutant that no selected test reaches
("no tests") counts as a survivor: nothing protects that line.
"""

import argparse
import json
import sys
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): 1 and 3 are test failures, 0 a clean pass.
KILLED = {1, 3, 24, -24, 36, 152, 255, 37}  # failures, timeouts, caught by the type checker
SURVIVED = {0}
NO_TESTS = {5, 33}


def module_of(meta: Path) -> str:
    return str(meta.relative_to("mutants")).removesuffix(".meta")


def tally(meta: Path) -> dict:
    results = json.loads(meta.read_text())
    codes, seconds = results["exit_code_by_key"], results.get("durations_by_key", {})
    row = {"killed": 0, "survived": 0, "no_tests": 0, "unchecked": 0, "other": 0, "survivors": []}
    row["killed_seconds"] = row["survived_seconds"] = 0.0
    for name, code in sorted(codes.items()):
        if code is None:
            row["unchecked"] += 1
        elif code in KILLED:
            row["killed"] += 1
            row["killed_seconds"] += seconds.get(name, 0.0)
        elif code in SURVIVED or code in NO_TESTS:
            row["survived_seconds"] += seconds.get(name, 0.0)
            row["survived" if code in SURVIVED else "no_tests"] += 1
            row["survivors"].append(name)
        else:
            row["other"] += 1  # skipped, suspicious, segfault: shown, never counted as killed
            row["survivors"].append(name)
    checked = row["killed"] + row["survived"] + row["no_tests"] + row["other"]
    row["total"] = checked + row["unchecked"]
    row["score"] = 100 * row["killed"] / checked if checked else 0.0
    return row


def changed_lines(mutant: str) -> str:
    """The lines a mutant removes (-) and adds (+), as `mutmut show` prints them."""
    from mutmut.__main__ import find_mutant, get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=find_mutant(mutant).path)
    lines = [line for line in diff.splitlines() if line[:1] in "+-"]
    return "\n".join(f"    {line.strip()}" for line in lines if line[:3] not in ("+++", "---"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--diffs", action="store_true", help="each survivor's changed lines")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--save-kills",
        action="store_true",
        help="write which tests killed each function's mutants to tests/mutation-kills.json",
    )
    parser.add_argument(
        "--seconds", action="store_true", help="a worker's seconds on killed and surviving mutants"
    )
    args = parser.parse_args()
    metas = sorted(Path("mutants").glob("membership/**/*.py.meta"))
    if not metas:
        print("No results under mutants/: run `make mutation` first.", file=sys.stderr)
        return 1
    rows = {module_of(meta): tally(meta) for meta in metas}
    header = (
        f"{'module':36} {'mutants':>7} {'killed':>7} {'survived':>8} {'no test':>7} {'score':>7}"
    )
    print(header)
    print("-" * len(header))
    for module, row in rows.items():
        unchecked = f"  ({row['unchecked']} not checked yet)" if row["unchecked"] else ""
        print(
            f"{module:36} {row['total']:7} {row['killed']:7} {row['survived']:8} "
            f"{row['no_tests']:7} {row['score']:6.1f}%{unchecked}"
        )
    if args.seconds:
        print(f"\n{'module':36} {'killed: worker-s':>17} {'survived: worker-s':>19}")
        for module, row in rows.items():
            print(f"{module:36} {row['killed_seconds']:17,.0f} {row['survived_seconds']:19,.0f}")
    if args.survivors or args.diffs:
        for module, row in rows.items():
            for name in row["survivors"]:
                print(f"{module}: {name}")
                if args.diffs:
                    print(changed_lines(name))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    if args.save_kills:
        save_kills(Path("mutants/mutation-kills.jsonl"), Path("tests/mutation-kills.json"))
    return 0


def save_kills(recorded: Path, target: Path) -> None:
    """Per mutated function, how many of its mutants each test killed (the conftest runs the
    best killers first). Functions not in this run keep what an earlier run found."""
    if not recorded.exists():
        print(f"{recorded}: no kills recorded in this run; {target} unchanged")
        return
    kills = json.loads(target.read_text()) if target.exists() else {}
    fresh: dict[str, dict[str, int]] = {}
    for line in recorded.read_text().splitlines():
        mutant, test = json.loads(line)
        counts = fresh.setdefault(mutant.rpartition("__mutmut_")[0], {})
        counts[test] = counts.get(test, 0) + 1
    kills.update(fresh)
    ordered = {
        function: dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        for function, counts in sorted(kills.items())
    }
    target.write_text(json.dumps(ordered, indent=1) + "\n")
    print(f"{target}: {len(fresh)} functions from this run, {len(ordered)} in all")


if __name__ == "__main__":
    sys.exit(main())
