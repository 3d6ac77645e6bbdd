"""Matching encoded registries: blocking, Dice similarity and one-to-one links.

:func:`link` needs no secret: it compares the :class:`~simulator.exchange.encoding.EncodedRegistry`
of each party on the record pairs that share a block key (:func:`candidate_pairs`), scores them
(:func:`dice`) and keeps one-to-one links above the threshold (greedy or Hungarian).
:func:`linked_pairs_to_dedup` turns the links into the engine's provincial -> federal id map.

The filters are clkhash-compatible (:mod:`simulator.exchange.clk_schema`), so an encoding made
by clkhash and read with :meth:`EncodedRegistry.from_clks` links too; it has no block keys, and
then every pair is compared (bounded by ``max_comparisons``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from hazards.errors import LinkageError
from simulator.exchange.common import STEP_BLOCK, STEP_SCORE, ProgressCallback, _Ticker
from simulator.exchange.encoding import EncodedRegistry, _popcount

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_COMPARISONS",
    "DEFAULT_THRESHOLD",
    "MATCHING_METHODS",
    "candidate_pairs",
    "dice",
    "link",
    "linked_pairs_to_dedup",
]

#: Dice score from which two records are taken to be the same person (tuned on the synthetic
#: set of :func:`synthetic_registries`; see benchmarks/linkage.py).
DEFAULT_THRESHOLD = 0.74
#: Matching methods :func:`link` knows.
MATCHING_METHODS = ("greedy", "hungarian")
#: Candidate pairs :func:`link` compares at most before it stops (memory bound, about 40 bytes per
#: pair); raise ``max_comparisons`` for larger runs or block more finely.
DEFAULT_MAX_COMPARISONS = 200_000_000
#: Pairs scored per vectorized step (bounds memory at about 100 MB).
_PAIR_CHUNK = 1 << 18


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` for int64 codes, by a sort: numpy 2's hash-based ``unique`` took
    30 s for the 20 M pair codes of 200,000 x 200,000 records, a sort takes 1 s."""
    values = np.sort(values)
    return values[np.concatenate([[True], values[1:] != values[:-1]])] if len(values) else values


def candidate_pairs(
    left: EncodedRegistry,
    right: EncodedRegistry,
    *,
    on_progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (left, right) of the record pairs sharing at least one block key, each once,
    sorted by (left, right).

    When either side has no block keys (filters made by clkhash), every pair is a candidate.
    ``on_progress(step, done, total)`` is told ``"blocking"`` after each blocking pass and
    after the pairs of all passes are merged (``total`` = passes + 1).
    """
    codes = []
    passes = min(left.block_keys.shape[1], right.block_keys.shape[1])
    ticker = _Ticker(on_progress, STEP_BLOCK, passes + 1)
    if passes == 0:
        ticker.finish()
        return np.divmod(np.arange(len(left) * len(right), dtype=np.int64), max(len(right), 1))
    for p in range(passes):
        lk = pd.DataFrame({"k": left.block_keys[:, p], "i": np.arange(len(left))})
        rk = pd.DataFrame({"k": right.block_keys[:, p], "j": np.arange(len(right))})
        joined = lk[lk.k != 0].merge(rk[rk.k != 0], on="k", how="inner", sort=False)
        codes.append(joined.i.to_numpy(np.int64) * len(right) + joined.j.to_numpy(np.int64))
        ticker.add(1)
    unique = _sorted_unique(np.concatenate(codes)) if codes else np.empty(0, np.int64)
    ticker.finish()
    return unique // max(len(right), 1), unique % max(len(right), 1)


def dice(
    left: EncodedRegistry,
    right: EncodedRegistry,
    li: np.ndarray,
    ri: np.ndarray,
    *,
    on_progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Dice similarity of the filter pairs (``left[li]``, ``right[ri]``), in [0, 1].

    ``on_progress(step, done, total)`` is told ``"scoring pairs"`` after each chunk of
    pairs scored (``total`` = ``len(li)``).
    """
    out = np.empty(len(li), dtype=np.float64)
    lc, rc = left.popcounts, right.popcounts
    ticker = _Ticker(on_progress, STEP_SCORE, len(li))
    for s in range(0, len(li), _PAIR_CHUNK):
        a, b = li[s: s + _PAIR_CHUNK], ri[s: s + _PAIR_CHUNK]
        inter = _popcount(left.filters[a] & right.filters[b]).sum(axis=1, dtype=np.int32)
        total = lc[a] + rc[b]
        out[s: s + _PAIR_CHUNK] = np.where(total > 0, 2.0 * inter / np.maximum(total, 1), 0.0)
        ticker.add(len(a))
    ticker.finish()
    return out


def _greedy(li: np.ndarray, ri: np.ndarray, score: np.ndarray) -> np.ndarray:
    order = np.lexsort((ri, li, -score))
    used_l: set[int] = set()
    used_r: set[int] = set()
    chosen = []
    for k in order.tolist():
        a, b = int(li[k]), int(ri[k])
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        chosen.append(k)
    return np.sort(np.array(chosen, dtype=np.int64))


def _hungarian(li: np.ndarray, ri: np.ndarray, score: np.ndarray) -> np.ndarray:
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(li) == 0:
        return np.empty(0, np.int64)
    lu, lpos = np.unique(li, return_inverse=True)
    ru, rpos = np.unique(ri, return_inverse=True)
    nl, nr = len(lu), len(ru)
    graph = coo_matrix((np.ones(len(li)), (lpos, nl + rpos)), shape=(nl + nr, nl + nr))
    _, component = connected_components(graph, directed=False)
    edge_comp = component[lpos]
    order = np.argsort(edge_comp, kind="stable")
    bounds = np.flatnonzero(np.diff(edge_comp[order])) + 1
    chosen = []
    for group in np.split(order, bounds):
        if len(group) == 1:
            chosen.append(int(group[0]))
            continue
        gl, gl_pos = np.unique(lpos[group], return_inverse=True)
        gr, gr_pos = np.unique(rpos[group], return_inverse=True)
        matrix = np.zeros((len(gl), len(gr)))
        edge = np.full((len(gl), len(gr)), -1, dtype=np.int64)
        matrix[gl_pos, gr_pos] = score[group]
        edge[gl_pos, gr_pos] = group
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        chosen += [int(e) for e in edge[rows, cols] if e >= 0]
    return np.sort(np.array(chosen, dtype=np.int64))


def link(
    left: EncodedRegistry,
    right: EncodedRegistry,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    method: str = "greedy",
    max_comparisons: int = DEFAULT_MAX_COMPARISONS,
    on_progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Link two encoded registries one-to-one (needs no secret).

    Parameters
    ----------
    left, right
        Encodings from :func:`encode` with the same linkage secret and :class:`EncodingConfig`.
    threshold
        Smallest Dice score of a link, in (0, 1].
    method
        ``greedy`` (pairs by descending score) or ``hungarian`` (best total score per group of
        competing candidates).
    max_comparisons
        Largest number of candidate pairs compared; more stops with an error (memory bound).
    on_progress
        ``on_progress(step, done, total)`` (:data:`~simulator.exchange.common.ProgressCallback`):
        told the blocking passes done (``"blocking"``, :func:`candidate_pairs`), then the
        candidate pairs scored (``"scoring pairs"``, :func:`dice`). It changes no link.

    Returns
    -------
    pandas.DataFrame
        ``left_id``, ``right_id`` (the parties' household ids) and ``score`` (Dice, 0 to 1), one
        row per link, sorted by ``left_id``; no id appears twice. ``attrs`` holds ``left`` and
        ``right`` (party names), ``threshold``, ``method``, ``comparisons`` (candidate pairs
        scored) and ``all_pairs`` (``len(left) * len(right)``).

    Raises
    ------
    LinkageError
        The encodings are incompatible (other secret or schema), the method is unknown or the
        blocks give more than ``max_comparisons`` pairs.
    """
    if method not in MATCHING_METHODS:
        raise LinkageError(f"unknown matching method {method!r}; use one of {MATCHING_METHODS}.")
    if not 0 < threshold <= 1:
        raise LinkageError(f"threshold must be in (0, 1], got {threshold}.")
    if left.encoding != right.encoding:
        raise LinkageError(
            f"{left.party} and {right.party} were encoded with different parameters or variant "
            f"tables ({left.encoding} vs {right.encoding}); both must use the same "
            "EncodingConfig (linkage schema) and data/linkage_variants.csv."
        )
    if left.key_check and right.key_check and left.key_check != right.key_check:
        raise LinkageError(
            f"{left.party} and {right.party} were encoded with different linkage secrets; "
            "agree one secret and encode both registries with it."
        )
    if not (left.key_check and right.key_check):
        log.warning(
            "%s or %s has no key check (filters made outside Madad): a different secret "
            "would go unnoticed and give no links", left.party, right.party,
        )
    unblocked = min(left.block_keys.shape[1], right.block_keys.shape[1]) == 0
    if unblocked and len(left) * len(right) > max_comparisons:
        raise LinkageError(
            f"{left.party} or {right.party} has no block keys, so all {len(left) * len(right):,} "
            f"pairs would be compared, more than max_comparisons={max_comparisons:,}; encode "
            "both with Madad (keyed block keys) or raise max_comparisons."
        )
    li, ri = candidate_pairs(left, right, on_progress=on_progress)
    if len(li) > max_comparisons:
        raise LinkageError(
            f"blocking leaves {len(li):,} candidate pairs, more than max_comparisons="
            f"{max_comparisons:,}; raise max_comparisons or link district by district."
        )
    score = dice(left, right, li, ri, on_progress=on_progress)
    keep = score >= threshold
    li, ri, score = li[keep], ri[keep], score[keep]
    chosen = _greedy(li, ri, score) if method == "greedy" else _hungarian(li, ri, score)
    pairs = pd.DataFrame(
        {
            "left_id": pd.array(left.ids[li[chosen]], dtype="string"),
            "right_id": pd.array(right.ids[ri[chosen]], dtype="string"),
            "score": score[chosen],
        }
    ).sort_values(["left_id", "right_id"], ignore_index=True)
    pairs.attrs.update(
        left=left.party, right=right.party, threshold=float(threshold), method=method,
        comparisons=int(keep.size), all_pairs=len(left) * len(right),
    )
    log.info(
        "linked %s (%d) and %s (%d): %d candidate pairs, %d above %.2f, %d links",
        left.party, len(left), right.party, len(right), keep.size, int(keep.sum()), threshold,
        len(pairs),
    )
    return pairs


def linked_pairs_to_dedup(pairs: pd.DataFrame, *, federal: str = "left") -> pd.Series:
    """Map provincial household ids to the federal household ids they were linked to.

    Parameters
    ----------
    pairs
        Output of :func:`link`.
    federal
        Which side of ``pairs`` is the federal registry: ``left`` (default) or ``right``.

    Returns
    -------
    pandas.Series
        Index: provincial ``household_id`` (named ``provincial_household_id``), values: the
        linked federal ``household_id`` (name ``federal_household_id``); string dtype, both
        unique (the links are one-to-one). Use it as a lookup:
        ``federal_id = mapping.reindex(provincial_ids)`` is the federal id of each provincial
        household, ``<NA>`` where none was linked, so the dedup can treat a provincial household
        with a federal id as the same household as that federal one.

    Raises
    ------
    LinkageError
        ``federal`` is not ``left`` or ``right``, columns are missing or an id appears twice.
    """
    if federal not in ("left", "right"):
        raise LinkageError(f"federal must be 'left' or 'right', got {federal!r}.")
    missing = [c for c in ("left_id", "right_id") if c not in pairs.columns]
    if missing:
        raise LinkageError(f"pairs lack columns {missing}; pass the output of link().")
    provincial = "right" if federal == "left" else "left"
    fed = pairs[f"{federal}_id"].astype("string")
    prov = pairs[f"{provincial}_id"].astype("string")
    if fed.duplicated().any() or prov.duplicated().any():
        raise LinkageError("pairs are not one-to-one: an id appears twice; use link()'s output.")
    return pd.Series(
        fed.to_numpy(), index=pd.Index(prov.to_numpy(), dtype="string",
                                       name="provincial_household_id"),
        dtype="string", name="federal_household_id",
    )


