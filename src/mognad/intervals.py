"""Confidence intervals shared by the analysis modules (one implementation each): Wilson for
proportions, t and Welch for means and differences of means."""

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


def t_interval(estimate, se, df, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """``estimate +/- t(df) * se`` (NaN where ``se`` or ``df`` is missing or ``df < 1``).

    Examples
    --------
    >>> lo, hi = t_interval(10.0, 2.0, 9)   # t(0.975, 9) = 2.2621572
    >>> round(float(lo), 4), round(float(hi), 4)
    (5.4757, 14.5243)
    """
    from scipy import stats

    est = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + ci / 2, np.where(df >= 1, df, np.nan)) * se
    return est - half, est + half


def welch_se_df(se_a, df_a, se_b, df_b) -> tuple[np.ndarray, np.ndarray]:
    """Standard error of a difference of two independent estimates and its Welch-Satterthwaite
    degrees of freedom: ``se = sqrt(se_a² + se_b²)``,
    ``df = se⁴ / (se_a⁴ / df_a + se_b⁴ / df_b)`` (Satterthwaite 1946; Welch 1947).

    When both standard errors are 0 the degrees of freedom are ``df_a + df_b`` (any value gives
    a zero-width interval then). Vectorised; NaN where an input is missing.

    Examples
    --------
    >>> se, df = welch_se_df(1.0, 9, 2.0, 4)   # hand-worked: 25 / (1/9 + 16/4) = 6.0811
    >>> round(float(se) ** 2, 6), round(float(df), 4)
    (5.0, 6.0811)
    """
    se_a, se_b = np.asarray(se_a, dtype=float), np.asarray(se_b, dtype=float)
    df_a, df_b = np.asarray(df_a, dtype=float), np.asarray(df_b, dtype=float)
    var = se_a**2 + se_b**2
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(var > 0, var**2 / (se_a**4 / df_a + se_b**4 / df_b), df_a + df_b)
    return np.sqrt(var), df


def welch_interval(a, b, ci: float = 0.95) -> dict:
    """Welch's interval for ``mean(a) - mean(b)`` of two independent samples.

    The one implementation of the Welch t-interval in the package (what R's
    ``t.test(a, b)`` gives). Missing values are dropped; with fewer than two values in a sample
    the interval is NaN.

    Returns
    -------
    dict
        ``change`` (``mean(a) - mean(b)``), ``se``, ``df``, ``ci_low``, ``ci_high``,
        ``p_value`` (two-sided), ``n_a``, ``n_b``.

    Examples
    --------
    R: ``t.test(c(5, 6, 7, 9), c(1, 2, 2, 3, 4))$conf.int`` is 1.799506 6.900494:

    >>> out = welch_interval([5.0, 6, 7, 9], [1.0, 2, 2, 3, 4])
    >>> {k: round(float(v), 4) for k, v in out.items() if k in ("change", "ci_low", "ci_high")}
    {'change': 4.35, 'ci_low': 1.7995, 'ci_high': 6.9005}
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    return welch_from_summary(a.mean() if a.size else np.nan,
                              a.std(ddof=1) if a.size >= 2 else np.nan, a.size,
                              b.mean() if b.size else np.nan,
                              b.std(ddof=1) if b.size >= 2 else np.nan, b.size, ci=ci)


def welch_from_summary(mean_a, sd_a, n_a, mean_b, sd_b, n_b, ci: float = 0.95) -> dict:
    """:func:`welch_interval` from the two samples' means, SDs and sizes.

    Examples
    --------
    >>> out = welch_from_summary(70.0, 10.0, 8, 45.0, 15.0, 5)
    >>> round(out["change"], 1), round(out["ci_low"], 1), round(out["ci_high"], 1)
    (25.0, 6.6, 43.4)
    """
    from scipy import stats

    n_a, n_b = float(n_a), float(n_b)
    diff = float(mean_a) - float(mean_b)
    if n_a < 2 or n_b < 2:
        se = df = lo = hi = p = np.nan
    else:
        se, df = welch_se_df(float(sd_a) / np.sqrt(n_a), n_a - 1, float(sd_b) / np.sqrt(n_b),
                             n_b - 1)
        se, df = float(se), float(df)
        lo, hi = (float(v) for v in t_interval(diff, se, df, ci))
        p = float(2 * stats.t.sf(abs(diff / se), df)) if se > 0 else np.nan
    return {"change": diff, "se": se, "df": df, "ci_low": lo, "ci_high": hi, "p_value": p,
            "n_a": int(n_a), "n_b": int(n_b)}
