"""The verdict rule's statistics, one copy for the claims, the replication comparison and the timings page: the 95%
Student-t interval of the mean of per-seed effects, a known extra variance (a single-run side's binomial and
run-to-run noise) added with Welch-Satterthwaite degrees of freedom, against the claim's margin."""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95  # the verdict's interval: 95%, two-sided
POWER = 0.9  # the minimum detectable effect: the effect decided at LEVEL with this power
MOST_DF = 1e7  # degrees of freedom of a noise known exactly (no seeds' spread in it): the normal limit
HOLDS, FAILS, CANNOT = "holds", "does not hold", "cannot be judged"


@dataclass(frozen=True)
class Spread:
    """The noise of a mean effect: its standard error and the degrees of freedom of its t interval."""

    se: float
    df: float

    def half_width(self) -> float:
        return float(stats.t.ppf(0.5 + LEVEL / 2, self.df) * self.se)

    def detectable(self) -> float:
        """The minimum detectable effect: the distance from the margin decided at LEVEL with POWER (noncentral t)."""
        if self.se == 0:
            return 0.0
        crit = stats.t.ppf(0.5 + LEVEL / 2, self.df)

        def power(nc: float) -> float:
            return float(stats.nct.sf(crit, self.df, nc) + stats.nct.cdf(-crit, self.df, nc))

        low, high = 0.0, 2 * crit + 10
        for _ in range(60):  # bisection on the noncentrality; power rises with it
            low, high = (low, (low + high) / 2) if power((low + high) / 2) >= POWER else ((low + high) / 2, high)
        return float(high * self.se)


def _df(seeds, total, n: int):
    """Welch-Satterthwaite: n - 1 without a known variance, the normal limit when the effects do not vary."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seeds > 0, np.minimum(MOST_DF, total**2 / (seeds**2 / max(n - 1, 1))), MOST_DF)


def spread(effects: list, fixed: float = 0.0) -> Spread:
    """The noise of the mean of `effects` plus a known variance `fixed` (single-run sides)."""
    n = len(effects)
    seeds = float(np.var(effects, ddof=1)) / n if n > 1 else 0.0
    total = seeds + fixed
    return Spread(math.sqrt(total), float(_df(np.float64(seeds), np.float64(total), n)))


def decide(low: float, high: float, margin: float) -> str:
    """Interval wholly above the margin: holds; wholly below: does not hold; otherwise cannot be judged."""
    return HOLDS if low > margin else FAILS if high < margin else CANNOT


def verdicts(draws: np.ndarray, margin: float, fixed: float = 0.0) -> np.ndarray:
    """The verdict of each row of per-seed effects (rows x seeds) by the same rule, at once; a row whose effects do
    not vary and carry no known variance is one run: cannot be judged."""
    n = draws.shape[1]
    seeds = draws.var(axis=1, ddof=1) / n
    total = seeds + fixed
    half = stats.t.ppf(0.5 + LEVEL / 2, _df(seeds, total, n)) * np.sqrt(total)
    mean = draws.mean(axis=1)
    verdict = np.where(mean - half > margin, HOLDS, np.where(mean + half < margin, FAILS, CANNOT))
    return np.where(total > 0, verdict, CANNOT)
