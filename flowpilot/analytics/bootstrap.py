"""The 95 % bootstrap interval of hours saved per week, computed exactly (pure Python).

The bootstrap: resample both samples independently with replacement (the manual baseline
stopwatch times, and the in-product times to first action), take each resample's median, and
read the 2.5th and 97.5th percentile of ``(baseline median - in-product median) x escalations
per week / 3600`` over the rounds (the percentile bootstrap; the escalation rate is the
window's, held fixed).

Drawing rounds at random leaves the bounds depending on the seed and the number of rounds: a
median's bootstrap distribution is discrete, and with a few dozen values its 2.5th percentile
sits near a jump often enough that even 20,000 seeded rounds move it by 0.03 h/week between
seeds. So this module computes the distribution the rounds are drawn from, which is the limit
of infinitely many rounds, and the same data always gives the same interval:

- the k-th smallest of ``n`` indices drawn uniformly into the sorted sample is ``floor(n U)``
  with ``U ~ Beta(k, n + 1 - k)``; for an odd ``n`` the median is that value for the middle
  ``k``, so ``P(median is the i-th value) = I((i+1)/n) - I(i/n)`` (the regularized incomplete
  beta function);
- for an even ``n`` the median is the mean of the k-th and (k+1)-th smallest, whose joint
  density ``u^(k-1) (1-v)^(n-k-1)`` factorises, so the pair ``(i, j)``, ``i < j``, has
  probability ``C(n, k) F(i) G(j)`` and the pair ``(i, i)`` the rest of ``P(k-th is i)``;
- the difference's distribution function at ``t`` is a sum over the baseline medians of the
  chance that the in-product median is at least ``baseline - t``, and each bound is found by
  bisection on ``t``.

Probabilities below ``EPS`` are dropped, so the work grows with the square root of the sample.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95
EPS = 1e-13
_FPMIN = 1e-300


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _FPMIN else _FPMIN)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _FPMIN else _FPMIN)
            c = 1.0 + aa / c
            c = c if abs(c) > _FPMIN else _FPMIN
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def beta_cdf(a: float, b: float, x: float) -> float:
    """``P(Beta(a, b) < x)``, the regularized incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


# Above this many values, a bin of the k-th order statistic's index is a sliver of its spread
# (1/n against about 1/(2 sqrt(n))), so Simpson's rule on the Beta density gives its probability
# to about 1e-6 at a fraction of the incomplete beta function's cost.
SIMPSON_ABOVE = 2000


def _bin_probability(n: int, k: int) -> Callable[[int], float]:
    """``i -> P(floor(n U) = i)`` for ``U ~ Beta(k, n + 1 - k)``."""
    if n <= SIMPSON_ABOVE:
        return lambda i: beta_cdf(k, n + 1 - k, (i + 1) / n) - beta_cdf(k, n + 1 - k, i / n)
    log_norm = math.lgamma(n + 1) - math.lgamma(k) - math.lgamma(n + 1 - k)

    def density(u: float) -> float:
        if u <= 0.0 or u >= 1.0:
            return 0.0
        return math.exp(log_norm + (k - 1) * math.log(u) + (n - k) * math.log1p(-u))

    def p(i: int) -> float:
        a, b = i / n, (i + 1) / n
        return (b - a) / 6 * (density(a) + 4 * density((a + b) / 2) + density(b))

    return p


def _kth_index(n: int, k: int) -> dict[int, float]:
    """``P(the k-th smallest of n uniform indices into range(n) is i)``, the likely ``i`` only."""
    centre = min(n - 1, max(0, round(n * k / (n + 1))))
    bin_p = _bin_probability(n, k)
    probs: dict[int, float] = {}
    for step in (1, -1):
        i = centre if step == 1 else centre - 1
        while 0 <= i < n:
            p = bin_p(i)
            if p < EPS and abs(i - centre) > 2:
                break
            probs[i] = p
            i += step
    if n > SIMPSON_ABOVE:  # the rule's small error, spread so the total stays 1
        total = sum(probs.values())
        probs = {i: p / total for i, p in probs.items()}
    return probs


def median_distribution(ordered: Sequence[float]) -> dict[float, float]:
    """The bootstrap distribution of the median of ``ordered`` (sorted): value → probability."""
    n = len(ordered)
    out: dict[float, float] = defaultdict(float)
    if n == 1:
        return {ordered[0]: 1.0}
    if n % 2:
        for i, p in _kth_index(n, (n + 1) // 2).items():
            out[ordered[i]] += p
        return dict(out)
    k = n // 2
    log_c = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)

    def log_f(i: int) -> float:  # log(((i+1)/n)^k - (i/n)^k)
        head = k * math.log((i + 1) / n)
        return head if i == 0 else head + math.log1p(-math.exp(k * math.log(i / (i + 1))))

    def log_g(j: int) -> float:  # log((1 - j/n)^(n-k) - (1 - (j+1)/n)^(n-k))
        head = (n - k) * math.log((n - j) / n)
        if j == n - 1:
            return head
        return head + math.log1p(-math.exp((n - k) * math.log((n - j - 1) / (n - j))))

    for i, p_i in _kth_index(n, k).items():
        lf = log_c + log_f(i)
        above = math.exp(lf + (n - k) * math.log((n - i - 1) / n)) if i < n - 1 else 0.0
        out[ordered[i]] += max(0.0, p_i - above)
        for j in range(i + 1, n):
            p = math.exp(lf + log_g(j))
            if p < EPS:
                break
            out[(ordered[i] + ordered[j]) / 2] += p
    return dict(out)


def _quantile_of_difference(base: dict[float, float], prod: dict[float, float], q: float) -> float:
    """The smallest ``t`` with ``P(B - P <= t) >= q`` for independent ``B`` and ``P``."""
    values = sorted(prod)
    below = [0.0]  # below[m] = P(P < values[m])
    for v in values:
        below.append(below[-1] + prod[v])
    total = below[-1]

    def cdf(t: float) -> float:  # P(B - P <= t) = sum over b of P(P >= b - t)
        s = 0.0
        for b, pb in base.items():
            s += pb * (total - below[bisect.bisect_left(values, b - t - 1e-9)])
        return s

    lo = min(base) - max(values) - 1.0
    hi = max(base) - min(values)
    while hi - lo > 1e-7:
        mid = (lo + hi) / 2
        if cdf(mid) >= q * total:
            hi = mid
        else:
            lo = mid
    return hi


def hours_interval(
    baseline: Sequence[float],
    in_product: Sequence[float],
    per_week: float,
    *,
    confidence: float = CONFIDENCE,
) -> Interval:
    """The ``confidence`` bootstrap interval of hours saved per week (both samples non-empty)."""
    base = median_distribution(sorted(baseline))
    prod = median_distribution(sorted(in_product))
    tail = (1 - confidence) / 2
    scale = per_week / 3600
    return Interval(
        _quantile_of_difference(base, prod, tail) * scale,
        _quantile_of_difference(base, prod, 1 - tail) * scale,
    )
