"""Judging a claim: the @claim decorator registering claims in report order, and the verdict of one claim on the
facts, on each seed's view of them (seeds), and with each of its thresholds moved (sensitivity).

A check is check(facts, th) -> Finding, th being its section's THRESHOLDS by name. It judges one view of the
facts: the seeds' mean, or one seed (reading.seed_views). Policy for bad input (each check's docstring says which
case applies): a missing part (key, run, cell, empty list, None/NaN value) is "cannot be judged (missing)"; a run the
claim is *about* that diverged or collapsed "does not hold" where the course saw it learn; a run it is only
*compared with* that diverged or collapsed is "cannot be judged", since beating a broken run says nothing. Where
the course itself describes the run failing ("near chance", "underfits", "stable in a bad way"), a collapsed run is
judged and the verdict says so: "holds (collapsed: one class predicted)". Degenerate input never holds vacuously.
"""

import functools
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from nnrepro.report.claims.seeds import CNN, ONE, PROBE, RUNS, seed_views  # noqa: F401  (CNN, ONE, PROBE: sections')

SIG_DIGITS = 6  # numbers rounded to 6 significant digits: the same facts give the same bytes
MOST_SEEDS = 0.5  # "most seeds": strictly more than half of them
MOVES = (0.75, 1.25)  # each float threshold moved 25% either way to test a verdict's sensitivity

HOLDS, FAILS, CANNOT = "holds", "does not hold", "cannot be judged"
VERDICTS = (HOLDS, FAILS, CANNOT)
WITHIN_NOISE, COLLAPSED, MISSING = "within noise", "collapsed", "missing"  # why a claim cannot be judged
REASONS = (WITHIN_NOISE, COLLAPSED, MISSING)
COLLAPSED_NOTE = "collapsed: one class predicted"


class Verdict(Exception):
    """Ends a check early with a verdict other than the computed one (bad input)."""

    def __init__(self, verdict: str, evidence: str, reason: str | None = None):
        super().__init__(evidence)
        self.verdict, self.evidence, self.reason = verdict, evidence, reason


def cannot(evidence: str, reason: str = MISSING) -> Verdict:
    return Verdict(CANNOT, evidence, reason)


def fails(evidence: str) -> Verdict:
    return Verdict(FAILS, evidence)


@dataclass(frozen=True)
class Finding:
    """What a check finds on one view of the facts. effect: signed, > 0 in the course's direction, in the claim's
    natural unit; holds: None means effect > 0; binomial: the noise of a one-seed claim (standard error of the
    accuracies compared); note: a qualifier of the verdict (COLLAPSED_NOTE)."""

    effect: float
    evidence: str
    numbers: dict = field(default_factory=dict)
    holds: bool | None = None
    binomial: float | None = None
    note: str = ""

    @property
    def held(self) -> bool:
        return self.effect > 0 if self.holds is None else bool(self.holds)


class Thresholds:
    """A section's thresholds by name (th.STALL_DROP), remembering which ones a check read."""

    def __init__(self, values: dict):
        self.values, self.read = dict(values), set[str]()

    def __getattr__(self, name: str):
        if name.startswith("__") or name not in self.__dict__.get("values", {}):
            raise AttributeError(f"{name} is not among its section's THRESHOLDS")
        self.read.add(name)
        return self.values[name]

    def moved(self, name: str, factor: float) -> "Thresholds":
        return Thresholds({**self.values, name: self.values[name] * factor})


def section_thresholds(check) -> Thresholds:
    """The THRESHOLDS of the module defining `check` (a tuple of names of its module constants)."""
    module = sys.modules[check.__module__]
    return Thresholds({name: getattr(module, name) for name in getattr(module, "THRESHOLDS", ())})


def rounded(value):
    """A JSON-safe, deterministic number: 6 significant digits, non-finite as None."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(f"{float(value):.{SIG_DIGITS}g}") if math.isfinite(value) else None
    return str(value)


def fmt(value: float) -> str:
    return f"{value:.4g}"


# --- One assessment: the facts' mean and each seed ---------------------------------------------------------------
def _attempt(check, facts: dict, th: Thresholds):
    """The check's Finding, or the Verdict that stopped it; any other exception is a bug and propagates."""
    try:
        return check(facts, th)
    except Verdict as stop:
        return stop


def _effect_and_noise(main: Finding, seeds: list) -> tuple:
    """The mean of the seeds' effects and its noise: the larger of their standard error and the check's binomial
    noise (the test-set noise, which seeds do not average away where one side is a single run); one seed: the
    check's own effect and binomial noise."""
    if not seeds:
        return main.effect, main.binomial
    effects = [s.effect for s in seeds if isinstance(s, Finding) and math.isfinite(s.effect)]
    if len(effects) < 2:
        return main.effect, None
    spread = float(np.std(effects, ddof=1) / math.sqrt(len(effects)))
    return float(np.mean(effects)), spread if main.binomial is None else max(spread, main.binomial)


def _decide(main: Finding, effect: float, noise, held: int, n: int) -> tuple:
    """(verdict, reason, evidence): within the noise, or with the seeds' majority against the mean, no verdict."""
    if noise is not None and math.isfinite(effect) and abs(effect) <= noise:
        return CANNOT, WITHIN_NOISE, f"within noise (effect {fmt(effect)}, noise {fmt(noise)}): {main.evidence}"
    if (held > MOST_SEEDS * n) != main.held:
        return (
            CANNOT,
            WITHIN_NOISE,
            f"the seeds disagree ({held} of {n} hold, the seeds' mean "
            f"{'holds' if main.held else 'does not'}): {main.evidence}",
        )
    return (HOLDS if main.held else FAILS), None, main.evidence


def assess(check, facts: dict, views: list, th: Thresholds) -> dict:
    """The verdict of `check` on the facts (the seeds' mean) and on each seed's view; `views` empty: one seed."""
    main = _attempt(check, facts, th)
    seeds = [_attempt(check, view, th) for view in views]
    held = sum(1 for s in seeds or [main] if isinstance(s, Finding) and s.held)
    result: dict[str, object] = {
        "seeds_holding": f"{held} of {len(seeds) or 1}",
        "effect": None,
        "noise": None,
        "note": "",
        "numbers": {},
    }
    if isinstance(main, Verdict):
        return {**result, "verdict": main.verdict, "reason": main.reason, "evidence": main.evidence}
    effect, noise = _effect_and_noise(main, seeds)
    verdict, reason, evidence = _decide(main, effect, noise, held, len(seeds) or 1)
    return {
        **result,
        "verdict": verdict,
        "reason": reason,
        "evidence": evidence,
        "effect": effect,
        "noise": noise,
        "note": "" if verdict == CANNOT else main.note,
        "numbers": main.numbers,
    }


def sensitive_to(check, facts: dict, views: list, th: Thresholds, verdict: str) -> list:
    """The float thresholds the check read whose 25% move either way changes its verdict."""
    floats = sorted(n for n in th.read if isinstance(th.values[n], float))
    return [
        name
        for name in floats
        if any(assess(check, facts, views, th.moved(name, f))["verdict"] != verdict for f in MOVES)
    ]


# --- The registry ----------------------------------------------------------------------------------------------------
REGISTRY: list = []  # every claim, in the order its section module defines it (the package imports them in order)


def claim(cid: str, section: str, text: str, sentence: str, over: str = RUNS, timing: bool = False):
    """Register check(facts, th) -> Finding as a claim; `sentence`: the course's words it judges, quoted exactly;
    `over`: where its seeds come from (RUNS, PROBE, CNN, or ONE: a single run, its noise binomial)."""

    def wrap(check):
        @functools.wraps(check)
        def judged(facts: dict, cache: dict | None = None) -> dict:
            views = seed_views(facts, over, cache)
            th = section_thresholds(check)
            result = assess(check, facts, views, th)
            moved = sensitive_to(check, facts, views, th, result["verdict"])
            numbers = {k: rounded(v) for k, v in result.pop("numbers").items()}
            return {
                "id": cid,
                "section": section,
                "claim": text,
                "sentence": sentence,
                **result,
                "effect": rounded(result["effect"]),
                "noise": rounded(result["noise"]),
                "threshold_sensitive": bool(moved),
                "sensitive_to": moved,
                "numbers": numbers,
                "timing": timing,
            }

        judged.claim_id, judged.over = cid, over
        REGISTRY.append(judged)
        return judged

    return wrap


def shown_verdict(result: dict) -> str:
    """The verdict as the report prints it, with its note or reason: 'holds (collapsed: one class predicted)',
    'cannot be judged (within noise)'."""
    why = result.get("note") or (result.get("reason") if result["verdict"] == CANNOT else "")
    return f"{result['verdict']} ({why})" if why else result["verdict"]
