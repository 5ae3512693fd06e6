"""How far a benchmark figure could move on other clips: standard errors by resampling whole groups."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def bootstrap_standard_error(statistic: Callable[[np.ndarray], float], groups: Sequence, draws: int = 1000,
                             seed: int = 0) -> float:
    """Standard error of `statistic(indices)`, a figure computed on the items at `indices` (M,) of N items, by
    the bootstrap over whole groups: `groups` (N,) names each item's group (e.g. its speaker), and each draw
    takes as many groups as there are, with replacement, with all their items. Clips of one speaker are not
    independent, so resampling clips alone would understate the error. Seeded: the same error every run.
    """
    groups = np.asarray(groups)
    if groups.ndim != 1 or len(groups) == 0:
        raise ValueError(f"groups must name each of at least one item, got shape {groups.shape}")
    members = [np.flatnonzero(groups == name) for name in np.unique(groups)]
    rng = np.random.default_rng(seed)
    values = [statistic(np.concatenate([members[i] for i in rng.integers(len(members), size=len(members))]))
              for _ in range(draws)]
    return float(np.nanstd(values, ddof=1))
