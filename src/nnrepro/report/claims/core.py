"""Judging a claim: the @claim decorator registering claims in report order, and the verdict of one claim from its
per-seed findings (one rule for every claim), with each of its thresholds moved (sensitivity).

A check is check(facts, th) -> Finding, th being its section's THRESHOLDS by name. The core calls it on each seed's
view of the facts (seeds.seed_views) and judges only those per-seed effects: the 95% Student-t interval of their
mean wholly above the claim's margin holds, wholly below does not hold, otherwise it cannot be judged (within
noise). The check on the seeds' mean facts gives the evidence text and numbers only; curves are never averaged
before judging, so a dead seed stays dead.

Early exits, per seed view: cannot(..., MISSING) on any seed: cannot be judged (missing); fails(...) on a seed (the
run the claim is *about* diverged or collapsed where the course saw it learn): that seed fails and the claim does
not hold; cannot(..., COLLAPSED) (a run it is only *compared with* broke): that seed is dropped, and with fewer
than LEAST_SEEDS left the claim cannot be judged (collapsed). Where the course itself describes the run failing
("near chance", "underfits"), a collapsed run is judged and its Finding's note says so. Degenerate input never
holds vacuously.
"""

import functools
import math
import sys
from dataclasses import dataclass, field

import numpy as np

from nnrepro.report.claims.seeds import CNN, ONE, PROBE, RUNS, seed_views, shared_count  # noqa: F401  (sections')
from nnrepro.report.interval import CANNOT, FAILS, HOLDS, LEVEL, POWER, decide, spread  # noqa: F401  (sections')

SIG_DIGITS = 6  # numbers rounded to 6 significant digits: the same facts give the same bytes
LEAST_SEEDS = 3  # seeds left after dropping those whose compared run collapsed: fewer cannot be judged
MOVE = 0.25  # sensitivity: each threshold moved 25% either way (an integer by at least one step)
# Run-to-run noise of one CNN cell's accuracy, beyond its binomial: the same fine-tune cell (lr 0.01) scored
# 0.7275, 0.82 and 0.7175 across two CPUs and two memory layouts, an SD of 0.057 (reference/thresholds.yaml, core).
RUN_TO_RUN = 0.057
THRESHOLDS = ("RUN_TO_RUN",)

VERDICTS = (HOLDS, FAILS, CANNOT)
WITHIN_NOISE, COLLAPSED, MISSING, ONE_RUN = "within noise", "collapsed", "missing", "one run"  # why not judged
REASONS = (WITHIN_NOISE, COLLAPSED, MISSING, ONE_RUN)
# Why a claim is within noise: a true tie where its seeds decide an effect of DESIGN_SDS single-seed SDs at LEVEL
# with POWER (their minimum detectable effect is at most that), too few seeds where they cannot.
TIE, FEW_SEEDS = "a true tie", "too few seeds"
DESIGN_SDS = 2.0  # issue 31: every comparison decides an effect of 2 single-seed SDs (about 8 seeds)
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
    """What a check finds on one seed's view of the facts. effect: that seed's effect in the claim's natural unit,
    signed so that the course's sentence holds when effect > margin; margin: the claim's margin in that unit
    (usually 0, the threshold subtracted inside effect); binomial: the standard error of the accuracies of a side
    that is a single run (a CNN cell of one seed), combined with RUN_TO_RUN for each of its `sides` single runs;
    note: a qualifier of the verdict (COLLAPSED_NOTE)."""

    effect: float
    evidence: str
    numbers: dict = field(default_factory=dict)
    margin: float = 0.0
    binomial: float | None = None
    note: str = ""
    sides: int = 1


class Thresholds:
    """A section's thresholds by name (th.STALL_DROP), remembering which ones a check read."""

    def __init__(self, values: dict):
        self.values, self.read = dict(values), set[str]()

    def __getattr__(self, name: str):
        if name.startswith("__") or name not in self.__dict__.get("values", {}):
            raise AttributeError(f"{name} is not among its section's THRESHOLDS")
        self.read.add(name)
        return self.values[name]

    def with_value(self, name: str, value) -> "Thresholds":
        return Thresholds({**self.values, name: value})


def section_thresholds(check) -> Thresholds:
    """The THRESHOLDS of the module defining `check` (a tuple of names of its module constants)."""
    module = sys.modules[check.__module__]
    return Thresholds({name: getattr(module, name) for name in getattr(module, "THRESHOLDS", ())})


def section_of(check) -> str:
    """The block of reference/thresholds.yaml holding the check's thresholds: its module's last name."""
    return check.__module__.rsplit(".", 1)[-1]


def rounded(value):
    """A JSON-safe, deterministic number: 6 significant digits, non-finite as None."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(f"{float(value):.{SIG_DIGITS}g}") if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    return str(value)


def fmt(value: float) -> str:
    return f"{value:.4g}"


# --- Statistics of the per-seed effects ----------------------------------------------------------------------------
def single_run_variance(findings: list) -> float:
    """The known variance of the single-run sides: binomial plus RUN_TO_RUN per side, the largest over the seeds."""
    sides = [f.binomial**2 + f.sides * RUN_TO_RUN**2 for f in findings if f.binomial is not None]
    return max(sides, default=0.0)


# --- One assessment: the per-seed findings ---------------------------------------------------------------------------
def _attempt(check, facts: dict, th: Thresholds):
    """The check's Finding, or the Verdict that stopped it; any other exception is a bug and propagates."""
    try:
        return check(facts, th)
    except Verdict as stop:
        return stop


def _seeds(labels: list) -> str:
    """Replicates by index k (rep<k>, whose seed is replicates.first + k): 'replicates 2, 3'."""
    return f"replicate{'s' if len(labels) > 1 else ''} {', '.join(map(str, labels))}"


def _stopped(outcomes: list):
    """(verdict, reason, evidence) of an early exit on some seed, or None: missing first, then failing seeds, then too
    few seeds left after the collapsed ones."""
    stops = [(k, o) for k, o in enumerate(outcomes) if isinstance(o, Verdict)]
    missing = [(k, o) for k, o in stops if o.verdict == CANNOT and o.reason != COLLAPSED]
    failing = [(k, o) for k, o in stops if o.verdict == FAILS]
    dropped = [(k, o) for k, o in stops if o.verdict == CANNOT and o.reason == COLLAPSED]
    if missing:
        return CANNOT, missing[0][1].reason or MISSING, f"{_seeds([k for k, _ in missing])}: {missing[0][1].evidence}"
    if failing:
        return FAILS, None, f"{_seeds([k for k, _ in failing])} of {len(outcomes)}: {failing[0][1].evidence}"
    if dropped and len(outcomes) - len(dropped) < LEAST_SEEDS:
        left, named = len(outcomes) - len(dropped), _seeds([k for k, _ in dropped])
        return (
            CANNOT,
            COLLAPSED,
            f"{left} of {len(outcomes)} replicates left ({named} dropped): {dropped[0][1].evidence}",
        )
    return None


def _empty() -> dict:
    keys = ("effect", "noise", "interval", "margin", "margin_in_intervals", "min_detectable_effect", "undecided")
    return {**{k: None for k in keys}, "seeds_counted": 0, "seeds_above": None, "seed_effects": None, "note": ""}


def judge_findings(findings: list) -> dict:
    """The verdict of a claim from its per-seed Findings (every seed's effect finite, none stopped early)."""
    effects = [f.effect for f in findings]
    margin = findings[0].margin
    fixed = single_run_variance(findings)
    varies = len(set(effects)) > 1
    counted = effects if varies else effects[:1]  # effects that do not vary are one run (pseudo-replication)
    noise = spread(counted, fixed)
    mean = float(np.mean(counted))
    result = {
        **_empty(),
        "effect": mean,
        "margin": margin,
        "seeds_counted": len(counted),
        "seeds_above": f"{sum(e > margin for e in effects)} of {len(effects)}",
        "seed_effects": effects,
    }
    if noise.se == 0:
        why = "the seeds do not vary in it" if len(effects) > 1 else "one seed"
        return {**result, "verdict": CANNOT, "reason": ONE_RUN, "evidence": f"one run, no noise ({why})"}
    half, mde = noise.half_width(), noise.detectable()
    lo, hi = mean - half, mean + half
    result |= {
        "noise": noise.se,
        "interval": [lo, hi],
        "margin_in_intervals": (mean - margin) / half,
        "min_detectable_effect": mde,
    }
    if lo > margin:
        return {**result, "verdict": HOLDS, "reason": None, "evidence": ""}
    if hi < margin:
        return {**result, "verdict": FAILS, "reason": None, "evidence": ""}
    undecided = TIE if mde <= DESIGN_SDS * noise.se * math.sqrt(len(counted)) else FEW_SEEDS
    interval = f"95% interval [{fmt(lo)}, {fmt(hi)}] around margin {fmt(margin)}, MDE {fmt(mde)}"
    return {
        **result,
        "verdict": CANNOT,
        "reason": WITHIN_NOISE,
        "undecided": undecided,
        "evidence": f"within noise, {undecided} ({interval})",
    }


def _paired(outcomes: list, shared: int) -> list:
    """The outcomes of the seeds every compared part has: where only seeds from `shared` on are missing, the claim
    reads a part with fewer seeds (a CNN cell of 3 beside the probe's 8) and is judged on the first `shared`."""
    missing = [k for k, o in enumerate(outcomes) if isinstance(o, Verdict) and o.verdict == CANNOT]
    missing = [k for k in missing if outcomes[k].reason != COLLAPSED]
    return outcomes[:shared] if missing and 0 < shared <= min(missing) else outcomes


def assess(check, facts: dict, views: list, th: Thresholds, shared: int = 0) -> dict:
    """The verdict of `check` from its Findings on each seed's view (`views` empty: the facts are the one seed;
    `shared`: the seeds every replicated part has, see _paired); the check on the facts (the seeds' mean) gives the
    evidence and numbers."""
    main = _attempt(check, facts, th)
    outcomes = _paired([_attempt(check, view, th) for view in views or [facts]], shared)
    findings = [o for o in outcomes if isinstance(o, Finding)]
    stop = _stopped(outcomes)
    if stop is None and any(not math.isfinite(f.effect) for f in findings):
        stop = CANNOT, MISSING, "an effect is not finite"
    if stop is not None:
        verdict, reason, evidence = stop
        return {**_empty(), "verdict": verdict, "reason": reason, "evidence": evidence, "numbers": {}}
    result = judge_findings(findings)
    told = main.evidence if isinstance(main, Finding) else findings[0].evidence
    evidence = f"{result['evidence']}: {told}" if result["evidence"] else told
    note = main.note if isinstance(main, Finding) else findings[0].note
    numbers = main.numbers if isinstance(main, Finding) else findings[0].numbers
    return {**result, "evidence": evidence, "note": "" if result["verdict"] == CANNOT else note, "numbers": numbers}


# --- Sensitivity and earlier thresholds ------------------------------------------------------------------------------
def _clamped(value: float, original: float) -> float:
    """A share or accuracy (original in [0, 1]) stays in [0, 1]; anything else stays on its side of 0."""
    if 0 <= original <= 1:
        return min(1.0, max(0.0, value))
    return max(0.0, value) if original >= 0 else value


def moves(value) -> list:
    """The values a threshold is moved to: 25% either way; an integer by round(25%), at least one step, and kept >= 1
    where it was; a window (tuple) each of its ends; moved values stay valid."""
    if isinstance(value, (tuple, list)):
        return [type(value)(m) for m in zip(*(moves(v) for v in value))]
    if isinstance(value, (bool, np.bool_)):
        return []
    if isinstance(value, (int, np.integer)):
        whole = int(value)
        step = max(1, round(MOVE * abs(whole)))
        least = 1 if whole >= 1 else (0 if whole >= 0 else whole - step)
        return sorted({max(least, whole - step), whole + step} - {whole})
    number = float(value)
    return sorted({_clamped(number * (1 - MOVE), number), _clamped(number * (1 + MOVE), number)} - {number})


def sensitive_to(check, facts: dict, views: list, th: Thresholds, verdict: str, shared: int = 0) -> list:
    """The thresholds the check read whose move either way (moves) changes its verdict."""
    return [
        name
        for name in sorted(th.read)
        if any(
            assess(check, facts, views, th.with_value(name, m), shared)["verdict"] != verdict
            for m in moves(th.values[name])
        )
    ]


def with_previous(check, facts: dict, views: list, th: Thresholds, previous: dict, shared: int = 0) -> dict:
    """{NAME: verdict} under each earlier value (previous) of a threshold the check read."""
    return {
        name: assess(check, facts, views, th.with_value(name, previous[name]), shared)["verdict"]
        for name in sorted(th.read)
        if previous.get(name) is not None
    }


# --- The registry ----------------------------------------------------------------------------------------------------
REGISTRY: list = []  # every claim, in the order its section module defines it (the package imports them in order)
JUDGED_KEYS = ("effect", "noise", "interval", "margin", "margin_in_intervals", "seed_effects", "min_detectable_effect")


def claim(cid: str, section: str, text: str, sentence: str, over: str = RUNS, timing: bool = False):
    """Register check(facts, th) -> Finding as a claim; `sentence`: the course's words it judges, quoted exactly;
    `over`: where its seeds come from (RUNS, PROBE, CNN, or ONE: a single run, its noise binomial + RUN_TO_RUN).
    The judged claim takes `previous`: {threshold name: earlier value} of its section (reference/thresholds.yaml).
    A wall-clock claim (timing) is judged in the timings report, not registered here."""

    def wrap(check):
        @functools.wraps(check)
        def judged(facts: dict, cache: dict | None = None, previous: dict | None = None) -> dict:
            views, shared = seed_views(facts, over, cache), shared_count(facts, over)
            th = section_thresholds(check)
            result = assess(check, facts, views, th, shared)
            moved = sensitive_to(check, facts, views, th, result["verdict"], shared)
            numbers = {k: rounded(v) for k, v in result.pop("numbers").items()}
            return {
                "id": cid,
                "section": section,
                "claim": text,
                "sentence": sentence,
                **result,
                **{k: rounded(result[k]) for k in JUDGED_KEYS},
                "threshold_sensitive": bool(moved),
                "sensitive_to": moved,
                "verdict_with_previous": with_previous(check, facts, views, th, previous or {}, shared),
                "numbers": numbers,
            }

        judged.claim_id, judged.over, judged.section_block = cid, over, section_of(check)
        if not timing:
            REGISTRY.append(judged)
        return judged

    return wrap


def shown_verdict(result: dict) -> str:
    """The verdict as the report prints it, with its note or reason: 'holds (collapsed: one class predicted)',
    'cannot be judged (within noise)'."""
    why = result.get("note") or (result.get("reason") if result["verdict"] == CANNOT else "")
    return f"{result['verdict']} ({why})" if why else result["verdict"]
