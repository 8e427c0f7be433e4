"""Robust anomaly scores: median / MAD z-scores, seasonal by hour of week. Plain Python, no ORM.

The modified z-score of Iglewicz and Hoaglin, ``(x - median) / (1.4826 * MAD)``, is not pulled
by the outliers it looks for (a mean and a standard deviation are). A score above 3.5 is the
usual cut-off. When the MAD is 0 (more than half the history is one value) the scale falls back
to the mean absolute deviation, then to ``floor``, so an identical history does not make every
other value infinitely unusual.
"""

import math
import statistics
from dataclasses import dataclass
from datetime import timedelta

MAD_TO_SIGMA = 1.4826  # MAD x this estimates a normal distribution's standard deviation
MEAN_AD_TO_SIGMA = 1.2533
DEFAULT_THRESHOLD = 3.5
# Scale floor of log-scored values: with a history that never varies, a value must still be about
# twice or half the median (e^(3.5 x 0.2)) to be flagged, not merely different.
LOG_FLOOR = 0.2


@dataclass
class Flag:
    """One value found unusual, and why in plain words."""

    metric: str
    value: float
    median: float
    score: float  # the robust z-score; positive above the median
    history: int  # how many past values it was compared with
    reason: str

    @property
    def ratio(self):
        return self.value / self.median if self.median else math.inf


def median(values):
    return statistics.median(values)


def mad(values, center=None):
    """Median absolute deviation around ``center`` (the median by default)."""
    center = median(values) if center is None else center
    return median([abs(v - center) for v in values])


def robust_scale(values, center, floor=0.0):
    scale = MAD_TO_SIGMA * mad(values, center)
    if not scale:
        scale = MEAN_AD_TO_SIGMA * statistics.fmean(abs(v - center) for v in values)
    return max(scale, floor)


def robust_z(value, history, floor=0.0):
    """``(value, median, z)`` of ``value`` against ``history``; z is 0 when nothing varies at all."""
    center = median(history)
    scale = robust_scale(history, center, floor)
    if not scale:
        return center, 0.0 if value == center else math.copysign(math.inf, value - center)
    return center, (value - center) / scale


def log_scale(value):
    """Positive, skewed quantities (totals, quantities, price ratios) are scored on their logarithm,
    where a long right tail is symmetric: "3x the median" weighs like "a third of it"."""
    return math.log(value) if value > 0 else None


def anscombe(count):
    """Counts: the Anscombe transform makes Poisson noise unit-variance whatever the mean, so a
    quiet hour (median 1) and a busy one (median 20) are judged alike."""
    return 2.0 * math.sqrt(count + 3.0 / 8.0) if count >= 0 else None


def check(value, history, *, metric, threshold=DEFAULT_THRESHOLD, min_history=20, floor=0.0, describe=None,
          direction=0, transform=None):
    """A :class:`Flag` when ``value`` is unusual against ``history``, else None.

    ``direction`` 1 flags only values above the median, -1 only below, 0 both. ``transform``
    (:func:`log_scale`, :func:`anscombe`) scores values on another scale; values it cannot take
    (None) are left out. ``describe(value, median, n)`` words the reason; by default
    "<metric> 1,240.00 is 14x the median of the last 500 values".
    """
    history = list(history)
    if transform is not None:
        history = [v for v in history if transform(v) is not None]
    if len(history) < max(1, min_history):
        return None
    center = median(history)
    if transform is not None:
        scored = transform(value)
        if scored is None:
            return None
        _center, score = robust_z(scored, [transform(v) for v in history], floor)
    else:
        _center, score = robust_z(value, history, floor)
    if abs(score) < threshold or (direction and math.copysign(1, score) != direction):
        return None
    reason = (describe or describe_ratio(metric))(value, center, len(history))
    return Flag(metric, value, center, score, len(history), reason)


def times(value, center):
    """"14×" / "0.2×" / "far above": how many times the median a value is."""
    if not center:
        return "far above" if value > 0 else "far below"
    ratio = value / center
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:,.1f}×" if ratio >= 0.1 else f"{ratio:,.2f}×"


def describe_ratio(metric, unit="", what="values"):
    def describe(value, center, count):
        return f"{metric} {value:,.2f}{unit} is {times(value, center)} the median of the last {count} {what}"
    return describe


# -- seasonality: hour of week -----------------------------------------------------------------
def hour_of_week(moment):
    """0 for Monday 00:00-00:59 ... 167 for Sunday 23:00-23:59."""
    return moment.weekday() * 24 + moment.hour


def seasonal_history(series, moment, min_per_slot=4):
    """The values of ``series`` (``[(datetime, value)]``) at the hour of week of ``moment`` when
    there are at least ``min_per_slot`` of them (that many weeks of history), else all values.
    Returns ``(values, seasonal)``."""
    slot = hour_of_week(moment)
    same_slot = [value for when, value in series if hour_of_week(when) == slot]
    if len(same_slot) >= min_per_slot:
        return same_slot, True
    return [value for _when, value in series], False


def hourly_counts(timestamps, start, end):
    """``[(hour_start, count)]`` for every whole hour from ``start`` to ``end`` (empty hours too)."""
    start = start.replace(minute=0, second=0, microsecond=0)
    counts = {}
    for moment in timestamps:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        if start <= hour < end:
            counts[hour] = counts.get(hour, 0) + 1
    hours, hour = [], start
    while hour < end:
        hours.append((hour, counts.get(hour, 0)))
        hour += timedelta(hours=1)
    return hours


def check_volume(series, moment, value, *, threshold=DEFAULT_THRESHOLD, min_history=24, min_per_slot=4,
                 what="orders"):
    """Flag an hourly count ``value`` at ``moment`` that is a spike or a drop against ``series``
    (``[(hour_start, count)]`` before it), seasonal by hour of week when there are weeks of history.

    Counts are scored after the Anscombe transform with a scale of at least 1 (Poisson noise),
    so a quiet hour with 0 instead of 1 order is not a drop, and 0 instead of 20 is.
    """
    history, seasonal = seasonal_history(series, moment, min_per_slot)
    if len(history) < (min_per_slot if seasonal else min_history):
        return None
    where = f"that hour of the week over the last {len(history)} weeks" if seasonal \
        else f"the last {len(history)} hours"

    def describe(count, middle, _n):
        kind = "spike" if count > middle else "drop"
        return (f"volume {kind}: {count:,.0f} {what} in the hour from {moment:%a %H:00} is "
                f"{times(count, middle)} the median of {middle:,.1f} for {where}")

    return check(value, history, metric="volume", threshold=threshold, min_history=1, floor=1.0,
                 describe=describe, transform=anscombe)


def check_rate(errors, total, history, *, threshold=DEFAULT_THRESHOLD, min_history=24, min_total=5,
               what="error rate"):
    """Flag an error rate ``errors / total`` above the past rates ``history`` (fractions).

    Too few events (``min_total``) say nothing; only a rise is flagged. The scale is at least
    the binomial standard error of the median rate at ``total`` events, so 1 error in 5 jobs
    does not look like a disaster next to a history of zeros.
    """
    if total < min_total:
        return None
    rate = errors / total
    history = list(history)
    if len(history) < min_history:
        return None
    center = median(history)
    floor = max(math.sqrt(max(center, 1.0 / total) * (1 - center) / total), 0.01)

    def describe(value, middle, count):
        return (f"{what} {value:.0%} ({errors} of {total}) is {times(value, middle)} the median of "
                f"{middle:.1%} over the last {count} hours")

    return check(rate, history, metric="error_rate", threshold=threshold, min_history=1, floor=floor,
                 describe=describe, direction=1)


def precision_recall(flagged, expected):
    """``(precision, recall)`` of the flagged indices against the expected ones."""
    flagged, expected = set(flagged), set(expected)
    true_positives = len(flagged & expected)
    precision = true_positives / len(flagged) if flagged else 1.0
    recall = true_positives / len(expected) if expected else 1.0
    return precision, recall
