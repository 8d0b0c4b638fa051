"""Replication: the verdicts of two claims.json files (say the committed seeds and a disjoint seed set on the same
data) side by side, listing those that differ: changed, and opposite (holds against does not hold), beside how many
chance alone changes: each claim's per-seed effects of both sets pooled and two seed sets of the same sizes redrawn
from them, judged by the same rule (a claim whose effect lies within a few standard errors of its margin changes
often, however many seeds: the count to expect says whether a replication did worse than its seeds allow).

Usage: python -m nnrepro.report.replication OLD NEW, each a claims.json path, a git commit or ref, or the name of
a DVC experiment (its metrics/claims.json as committed there); `make replicate FIRST=100` runs one."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from nnrepro.errors import UserError, exit_on_user_error
from nnrepro.report.interval import FAILS, HOLDS, verdicts

CLAIMS = "metrics/claims.json"  # where a commit or an experiment keeps its claims
OPPOSITES = {(HOLDS, FAILS), (FAILS, HOLDS)}
DRAWS = 2000  # redrawn pairs of seed sets: the expected count to about +-0.1


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
    """{claim id: verdict} from a claims.json path, or from the metrics/claims.json of a commit, ref or experiment."""
    return {cid: entry["verdict"] for cid, entry in read_entries(source).items()}


def read_entries(source: str) -> dict:
    """{claim id: entry} from a claims.json path, or from the metrics/claims.json of a commit, ref or experiment."""
    path = Path(source)
    text = path.read_text() if path.is_file() else _git("show", f"{commit_of(source)}:{CLAIMS}")
    if text is None:
        raise UserError(f"{source} has no {CLAIMS}: run `dvc repro` there first")
    try:
        claims = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{source}: its claims are not JSON ({error}); rerun the claims stage") from error
    return claims


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


def _fixed_variance(entry: dict) -> float:
    """The noise of a claim's single-run sides (binomial and run to run): its squared standard error less the seeds'."""
    effects = np.array(entry["seed_effects"], dtype=np.float64)
    return max(0.0, entry["noise"] ** 2 - effects.var(ddof=1) / len(effects))


def _seed_effects(entry: dict | None) -> list:
    """A claim's per-seed effects where its verdict came from them (two or more, a noise, a margin), else []."""
    entry = entry or {}
    effects = entry.get("seed_effects") or []
    judged = len(effects) > 1 and entry.get("noise") is not None and entry.get("margin") is not None
    return list(effects) if judged else []


def by_chance(old: dict, new: dict, draws: int = DRAWS, seed: int = 0) -> dict:
    """How many verdicts chance alone changes (and reverses) between two seed sets of the sizes compared: per claim
    judged by its seeds on both sides, both sets' effects pooled, and `draws` pairs of sets redrawn from the pool
    (with replacement, each side at its own size and single-run noise). {changed: mean, range: (2.5%, 97.5%) of the
    draws, opposite: mean, claims: how many were redrawn}."""
    rng = np.random.default_rng(seed)
    changed, opposite, counted = np.zeros(draws), np.zeros(draws), 0
    for cid, a in old.items():
        b = new.get(cid) or {}
        first, second = _seed_effects(a), _seed_effects(b)
        if not (first and second):
            continue
        pool, counted = np.array(first + second, dtype=np.float64), counted + 1
        sides = [
            verdicts(rng.choice(pool, (draws, len(e["seed_effects"]))), a["margin"], _fixed_variance(e)) for e in (a, b)
        ]
        changed += sides[0] != sides[1]
        opposite += ((sides[0] == HOLDS) & (sides[1] == FAILS)) | ((sides[0] == FAILS) & (sides[1] == HOLDS))
    low, high = np.percentile(changed, [2.5, 97.5]) if counted else (0.0, 0.0)
    return {
        "changed": float(changed.mean()),
        "range": (float(low), float(high)),
        "opposite": float(opposite.mean()),
        "claims": counted,
    }


def summary(comparison: dict, old: str = "old", new: str = "new", chance: dict | None = None) -> str:
    """The comparison as Markdown: its counts, then one table row per changed verdict."""
    c = comparison
    lines = [
        f"{len(c['changed'])} of {c['claims']} verdicts changed, {len(c['opposite'])} opposite "
        f"(holds against does not hold).",
    ]
    if chance is not None:
        low, high = chance["range"]
        lines += [
            "",
            f"Chance alone, over the {chance['claims']} claims judged by their seeds in both (their per-seed effects "
            f"pooled and two seed sets redrawn {DRAWS} times): {chance['changed']:.1f} changed on average (95% of "
            f"draws: {low:.0f} to {high:.0f}), {chance['opposite']:.2f} opposite.",
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
    old, new = read_entries(args.old), read_entries(args.new)
    comparison = compare(*({cid: e["verdict"] for cid, e in side.items()} for side in (old, new)))
    sys.stdout.write(summary(comparison, args.old, args.new, by_chance(old, new)))


if __name__ == "__main__":
    exit_on_user_error(main)()
