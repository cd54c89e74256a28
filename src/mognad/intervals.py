"""Confidence intervals shared by the analysis modules (one implementation each)."""

from __future__ import annotations

import numpy as np


def wilson_interval(k, n, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``k`` successes out of ``n`` (NaN where ``n`` is 0).

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` (Wilson 1927), computed by
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")`` (what R's
    ``prop.test(correct=FALSE)`` gives) and clipped to [0, 1].

    Examples
    --------
    >>> lo, hi = wilson_interval(8, 20)   # hand-worked: p = 0.4, z = 1.95996
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2188, 0.6134)
    >>> lo, hi = wilson_interval(np.array([8]), np.array([10]))
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.4902, 0.9433)
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    safe = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(k, safe, alpha=1 - ci, method="wilson")
    lo = np.where(n > 0, np.clip(lo, 0, 1), np.nan)
    hi = np.where(n > 0, np.clip(hi, 0, 1), np.nan)
    return lo, hi


__all__ = ["wilson_interval"]
