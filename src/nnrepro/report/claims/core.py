"""The course report's claims, each a check over plain numbers: holds, does not hold, or cannot be judged.

Policy for bad input (each check's docstring says which case applies): a missing part (key, run, cell,
empty list, None/NaN value) is "cannot be judged"; a run the claim is *about* that diverged or died "does
not hold" where the course saw it behave (descend, stall, steady, beat); a run it is only *compared with*
that diverged is "cannot be judged", since beating a broken run says nothing. Degenerate input never holds.
"""

import functools
import math

import numpy as np

SIG_DIGITS = 6             # numbers rounded to 6 significant digits: the same facts give the same bytes

HOLDS, FAILS, CANNOT = "holds", "does not hold", "cannot be judged"
VERDICTS = (HOLDS, FAILS, CANNOT)


class Verdict(Exception):
    """Ends a check early with a verdict other than the computed one (bad input)."""

    def __init__(self, verdict: str, evidence: str):
        super().__init__(evidence)
        self.verdict, self.evidence = verdict, evidence


def cannot(evidence: str) -> Verdict:
    return Verdict(CANNOT, evidence)


def fails(evidence: str) -> Verdict:
    return Verdict(FAILS, evidence)


def rounded(value):
    """A JSON-safe, deterministic number: 6 significant digits, non-finite as None."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(f"{float(value):.{SIG_DIGITS}g}") if math.isfinite(value) else None
    return str(value)


REGISTRY: list = []  # every claim, in the order its section module defines it (the package imports them in report order)


def claim(cid: str, section: str, text: str, timing: bool = False):
    """Register check(facts, numbers) -> (holds, evidence) as a claim judged by judge(). Only a Verdict raised by
    the check (bad input) ends it early; any other exception is a bug and propagates."""
    def wrap(check):
        @functools.wraps(check)
        def judged(facts: dict) -> dict:
            numbers = {}
            try:
                holds, evidence = check(facts, numbers)
                verdict = HOLDS if holds else FAILS
            except Verdict as stop:
                verdict, evidence = stop.verdict, stop.evidence
            return {"id": cid, "section": section, "claim": text, "verdict": verdict,
                    "numbers": {k: rounded(v) for k, v in numbers.items()}, "evidence": evidence, "timing": timing}
        judged.claim_id = cid
        REGISTRY.append(judged)
        return judged
    return wrap


# --- Reading the facts -----------------------------------------------------------------------------------
def get(facts: dict, *keys):
    """facts[k1][k2]...; a missing key, None or empty container cannot be judged."""
    node = facts
    for key in keys:
        if not isinstance(node, dict) or node.get(key) is None:
            raise cannot(f"no {'.'.join(map(str, keys))} in the facts")
        node = node[key]
    if isinstance(node, (dict, list)) and not node:
        raise cannot(f"{'.'.join(map(str, keys))} is empty")
    return node


def number(value, label: str) -> float:
    if value is None or not math.isfinite(float(value)):
        raise cannot(f"{label} is missing (None or not finite)")
    return float(value)


def live(run: dict, label: str, subject: bool, why: str = "nothing sound to compare with") -> dict:
    """The run itself; diverged: does not hold if the claim is about it, cannot be judged (for `why`) if not."""
    if run.get("diverged"):
        if subject:
            raise fails(f"{label} diverged, so it does not behave as the course saw")
        raise cannot(f"{label} diverged: {why}")
    return run


def curve(run: dict, key: str, label: str, least: int = 1) -> tuple:
    """(epochs, values) of one history, evaluations without a finite value dropped."""
    values, epochs = run.get(key), run.get("epoch")
    if not values or not epochs or len(values) != len(epochs):
        raise cannot(f"{label} has no {key} history (or it does not match its epochs)")
    v = np.array([np.nan if x is None else x for x in values], float)
    e = np.array([np.nan if x is None else x for x in epochs], float)
    keep = np.isfinite(v) & np.isfinite(e)
    if keep.sum() < least:
        raise cannot(f"{label} has fewer than {least} finite {key} values")
    return e[keep], v[keep]


def final(run: dict, key: str, label: str) -> float:
    values = run.get(key)
    if not values:
        raise cannot(f"{label} has no {key} history")
    return number(values[-1], f"{label}'s final {key}")




def fmt(value: float) -> str:
    return f"{value:.4g}"
