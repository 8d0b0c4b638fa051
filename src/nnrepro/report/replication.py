"""Replication: the verdicts of two claims.json files (say the committed seeds and a disjoint seed set on the same
data) side by side, listing those that differ: changed, and opposite (holds against does not hold).

Usage: python -m nnrepro.report.replication OLD NEW, each a claims.json path, a git commit or ref, or the name of
a DVC experiment (its metrics/claims.json as committed there); `make replicate FIRST=100` runs one."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from nnrepro.errors import UserError, exit_on_user_error
from nnrepro.report.claims.core import FAILS, HOLDS

CLAIMS = "metrics/claims.json"  # where a commit or an experiment keeps its claims
OPPOSITES = {(HOLDS, FAILS), (FAILS, HOLDS)}


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60)
    return done.stdout if done.returncode == 0 else None


def commit_of(ref: str) -> str:
    """The commit of a git ref or commit, or of a DVC experiment's name (refs/exps/.../NAME)."""
    commit = _git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
    if commit:
        return commit.strip()
    experiments = (_git("for-each-ref", "--format=%(refname) %(objectname)", "refs/exps") or "").splitlines()
    named = [line.split()[1] for line in experiments if line.split()[0].endswith(f"/{ref}")]
    if len(named) != 1:
        found = "no" if not named else "several"
        raise UserError(f"{ref}: {found} claims.json, commit or DVC experiment of that name; see `dvc exp list`")
    return named[0]


def read_claims(source: str) -> dict:
    """{claim id: entry} from a claims.json path, or from the metrics/claims.json of a commit, ref or experiment."""
    path = Path(source)
    text = path.read_text() if path.is_file() else _git("show", f"{commit_of(source)}:{CLAIMS}")
    if text is None:
        raise UserError(f"{source} has no {CLAIMS}: run `dvc repro` there first")
    try:
        claims = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{source}: its claims are not JSON ({error}); rerun the claims stage") from error
    return {cid: entry["verdict"] for cid, entry in claims.items()}


def compare(old: dict, new: dict) -> dict:
    """The claims whose verdict differs between two {id: verdict} maps, changed and opposite, with counts; a claim
    in one map only is listed apart (a changed set of claims, not a changed verdict)."""
    both = [cid for cid in old if cid in new]
    changed = [(cid, old[cid], new[cid]) for cid in both if old[cid] != new[cid]]
    opposite = [row for row in changed if (row[1], row[2]) in OPPOSITES]
    return {
        "claims": len(both),
        "changed": changed,
        "opposite": opposite,
        "only_old": [cid for cid in old if cid not in new],
        "only_new": [cid for cid in new if cid not in old],
    }


def summary(comparison: dict, old: str = "old", new: str = "new") -> str:
    """The comparison as Markdown: its counts, then one table row per changed verdict."""
    c = comparison
    lines = [
        f"{len(c['changed'])} of {c['claims']} verdicts changed, {len(c['opposite'])} opposite "
        f"(holds against does not hold).",
    ]
    if c["changed"]:
        lines += ["", f"| claim | {old} | {new} | opposite |", "|---|---|---|---|"]
        lines += [f"| {cid} | {a} | {b} | {'yes' if (a, b) in OPPOSITES else 'no'} |" for cid, a, b in c["changed"]]
    for side, ids in ((old, c["only_old"]), (new, c["only_new"])):
        if ids:
            lines += ["", f"Only in {side}: {', '.join(ids)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="claims.json, commit, ref or DVC experiment name (e.g. HEAD)")
    parser.add_argument("new", help="the same for the replicate (e.g. replicate-100)")
    args = parser.parse_args(argv)
    comparison = compare(read_claims(args.old), read_claims(args.new))
    sys.stdout.write(summary(comparison, args.old, args.new))


if __name__ == "__main__":
    exit_on_user_error(main)()
