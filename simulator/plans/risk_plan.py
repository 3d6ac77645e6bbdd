"""The ``risk`` section of a plan: what a year of disasters costs each government, and what its
layers, pools and parametric triggers do about it, JSON-ready.

Sits between the event engine (which turns an event set into the **event payout table** of
:mod:`simulator.plans.risk` and computes each trigger's index per event) and the products
(plan.json, :mod:`simulator.publish.risk`'s workbook and PDF, the CLI's ``madad risk``). Pure:
no files, no printing; logging only. Every figure comes from :mod:`simulator.plans.risk` and
:mod:`simulator.plans.layers`; nothing is recomputed here in floating point except the
plotting curves' thinning.

=====================  ==========================================================================
:func:`risk_section`   the section: metrics and curves per payer; with a financing block, the
                       layers, pools, triggers and what each payer retains
:func:`headline`       a few plain sentences for a finance minister
:func:`compact_curve`  an exceedance curve thinned for plotting, its tail kept exactly
:func:`to_layers`      a financing block's layers as checked :class:`~simulator.plans.layers.Layer`
:func:`to_triggers`    its triggers as :class:`~simulator.plans.layers.Trigger`
=====================  ==========================================================================

Example
-------
>>> section = risk_section(table, 1000, scenario.financing,            # doctest: +SKIP
...                        trigger_index={"Kotri depth": depth}, event_year=year)
>>> headline(section)[0]                                                 # doctest: +SKIP
'In an average year the federal government pays PKR 3.1 billion (90% interval ...'
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hazards.errors import ScenarioError
from hazards.tables import PROVINCES as PROVINCE_NAMES
from simulator.plans import layers as L
from simulator.plans import risk as R

log = logging.getLogger(__name__)

__all__ = ["CURVE_POINTS", "CURVE_TAIL", "PAYER_NAMES", "compact_curve", "headline", "money", "risk_section",
           "to_layers", "to_triggers"]

#: Most points of a plotting curve per payer and basis.
CURVE_POINTS = 200
#: The largest annual losses kept exactly in a plotting curve (the ranks 1..CURVE_TAIL: every
#: return period from n_years down to n_years / CURVE_TAIL).
CURVE_TAIL = 100
#: Payers as a minister reads them.
PAYER_NAMES = {"federal": "the federal government", "total": "all governments together",
               "provinces": "the provincial governments together",
               **{code: f"{name}" for code, name in PROVINCE_NAMES.items()}}
#: Basis of the plotting curves.
CURVES_BASIS = (
    "Empirical exceedance curves of annual losses (AEP: the year's aggregate; OEP: its largest "
    "event), one point per rank: loss of rank i has exceedance probability i / n_years and "
    f"return period n_years / i. For plotting, thinned to at most {CURVE_POINTS} points per payer "
    f"and basis: the {CURVE_TAIL} largest losses are kept exactly, the rest at ranks spaced evenly "
    "in log return period, with the first year without loss and the last rank. 'provinces' is "
    "the provincial governments together (total - federal), shown on the curves only."
)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _mean_pkr(values: np.ndarray) -> int:
    """Mean of int64 PKR to the rupee, halves up (exact)."""
    total, n = int(np.asarray(values).sum(dtype=np.int64)), len(values)
    return (2 * total + n) // (2 * n)


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars and arrays as Python numbers and lists, recursively."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _financing(financing: Any):
    """The financing block as :class:`simulator.scenario.Financing` (a dict is validated)."""
    if financing is None:
        return None
    from simulator.scenario import Financing

    if isinstance(financing, Financing):
        return financing
    if isinstance(financing, Mapping):
        from pydantic import ValidationError

        try:
            return Financing.model_validate(dict(financing))
        except ValidationError as exc:
            problems = "; ".join(f"financing.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ScenarioError(f"risk_section: {problems}") from None
    raise ScenarioError(f"risk_section: financing must be a scenario's financing block (or a dict of one), "
                        f"got {type(financing).__name__}.")


def to_layers(financing: Any, exposure_shares: Mapping[str, float] | None = None) -> list[L.Layer]:
    """A financing block's layers as :class:`simulator.plans.layers.Layer` objects, checked as a
    programme by :func:`simulator.plans.layers.check_layers` (sorted by payer and order).

    Parameters
    ----------
    financing
        The scenario's ``financing:`` block (:class:`simulator.scenario.Financing` or a dict).
    exposure_shares
        Province -> weight, for pools keyed ``exposure`` that give no shares.

    Raises
    ------
    ScenarioError
        A bad programme, or an exposure pool without shares; the message names the layer.
    """
    fin = _financing(financing)
    shares = None if exposure_shares is None else {str(k): float(v) for k, v in exposure_shares.items()}
    out = []
    for terms in fin.layer_terms(shares):  # loops over the layers
        pool = terms.pop("pool")
        out.append(L.Layer(**terms, pool=None if pool is None else L.Pool(**pool)))
    try:
        return L.check_layers(out)
    except ScenarioError as exc:
        raise ScenarioError(f"financing.layers: {exc}") from None


def to_triggers(financing: Any, kind: str | None = None) -> list[L.Trigger]:
    """A financing block's triggers as :class:`simulator.plans.layers.Trigger` objects, in the
    order given (``kind``: the hazard kind read by indices that name none, for their units)."""
    return [L.Trigger(**terms) for terms in _financing(financing).trigger_terms(kind)]


# ---------------------------------------------------------------------------------------------
# Curves for plotting
# ---------------------------------------------------------------------------------------------


def compact_curve(annual_pkr, *, points: int = CURVE_POINTS, tail: int = CURVE_TAIL) -> dict:
    """An empirical exceedance curve thinned for plotting, its tail kept exactly.

    Parameters
    ----------
    annual_pkr
        Annual losses [int64 PKR], one per year of the set.
    points
        Most points kept [-], >= tail + 2.
    tail
        The ``tail`` largest losses (ranks 1..tail) are all kept [-].

    Returns
    -------
    dict
        ``rank``, ``loss_pkr`` (int), ``exceedance_probability`` (rank / n) and
        ``return_period_years`` (n / rank), lists in rank order (largest loss first). Beyond
        the tail: ranks evenly spaced in log rank (= log return period), the first rank with no
        loss (where the curve reaches 0) and the last rank n.
    """
    if points < tail + 2:
        raise ScenarioError(f"compact_curve: points {points} must be at least tail + 2 = {tail + 2}.")
    desc = np.sort(np.asarray(annual_pkr, dtype=np.int64))[::-1]
    n = len(desc)
    if n <= points:
        ranks = np.arange(1, n + 1)
    else:
        body = np.unique(np.rint(np.geomspace(tail + 1, n, points - tail - 1)).astype(np.int64))
        extra = [n]
        zero = np.flatnonzero(desc == 0)
        if len(zero):
            extra.append(int(zero[0]) + 1)
        ranks = np.unique(np.concatenate([np.arange(1, tail + 1), body, extra]))
        while len(ranks) > points:  # the first zero rank pushed it over: drop body points evenly
            body = body[::2]
            ranks = np.unique(np.concatenate([np.arange(1, tail + 1), body, extra]))
    ranks = ranks.astype(np.int64)
    return {
        "rank": [int(r) for r in ranks],
        "loss_pkr": [int(v) for v in desc[ranks - 1]],
        "exceedance_probability": [float(f"{r / n:.6g}") for r in ranks],
        "return_period_years": [float(f"{n / r:.6g}") for r in ranks],
    }


def _curves(losses: R.AnnualLosses) -> dict:
    federal = losses.column("federal")
    total = losses.column("total")
    event_prov = losses.event[:, total] - losses.event[:, federal]
    occurrence = np.zeros(losses.n_years, dtype=np.int64)
    np.maximum.at(occurrence, losses.event_year - 1, event_prov)
    out = {}
    for payer in losses.payers:  # loops over the payers
        out[payer] = {b: compact_curve(losses.annual(payer, b)) for b in R.BASES}
    out["provinces"] = {"aep": compact_curve(losses.aggregate[:, total] - losses.aggregate[:, federal]),
                        "oep": compact_curve(occurrence)}
    return out


# ---------------------------------------------------------------------------------------------
# By hazard
# ---------------------------------------------------------------------------------------------


def _by_hazard(table: pd.DataFrame, n_years: int) -> list[dict]:
    rows = []
    for hazard, part in table.groupby("hazard", sort=True):  # loops over the hazards
        fed = int(part["federal_pkr"].sum())
        prov = int(part["provincial_pkr"].sum())
        rows.append({
            "hazard": str(hazard),
            "events": int(part["event_id"].nunique()),
            "years_with_events": int(part["year"].nunique()),
            "aal_pkr": (2 * (fed + prov) + n_years) // (2 * n_years),
            "aal_federal_pkr": (2 * fed + n_years) // (2 * n_years),
            "aal_provincial_pkr": (2 * prov + n_years) // (2 * n_years),
            "households_per_year": round(int(part["households"].sum()) / n_years, 1),
        })
    return rows


# ---------------------------------------------------------------------------------------------
# Layers, pools, retained
# ---------------------------------------------------------------------------------------------


def _layers(losses: R.AnnualLosses, fin, exposure_shares, return_periods) -> tuple[list, list, dict]:
    programme = to_layers(fin, exposure_shares)
    result = L.apply_layers(losses, programme)
    if not result.reconciles():  # pragma: no cover - apply_layers is exact by construction
        raise ScenarioError("risk_section: the layers do not reconcile with the losses (a bug).")
    specs = {s.name: s for s in fin.layers}
    summary = []
    for entry in result.summary:  # loops over the layers
        spec = specs[entry["name"]]
        summary.append({**entry, "source": spec.source, "note": spec.note})
    pools = []
    funding = result.funding
    for layer in result.layers:  # loops over the layers
        if layer.pool is None:
            continue
        mine = funding[funding["layer"] == layer.name]
        by = {f: mine.loc[mine["funder"] == f, "pkr"].to_numpy(dtype=np.int64) for f in L.FUNDERS}
        pools.append({
            "layer": layer.name,
            "payer": layer.payer,
            "key": layer.pool.key,
            "federal_share": float(layer.pool.federal_share),
            "shares": None if layer.pool.shares is None else {p: float(w) for p, w in layer.pool.shares.items()},
            "expected_annual_pkr": {f: _mean_pkr(v) for f, v in by.items()},
            "max_annual_pkr": {f: int(v.max()) if len(v) else 0 for f, v in by.items()},
            "expected_annual_cost_pkr": _mean_pkr(result.annual[layer.name].to_numpy()),
        })
    retained = {}
    for payer in losses.payers:  # loops over the payers
        names = [la.name for la in result.layers if la.payer == payer]
        loss = losses.annual(payer, "aep")
        kept = result.retained[payer].to_numpy() if payer in result.retained.columns else loss
        rp = R.return_period_losses(kept, return_periods, beyond_set="none")
        retained[payer] = {
            "layers": names,
            "aal_pkr": _mean_pkr(loss),
            "covered_pkr": sum(_mean_pkr(result.annual[n].to_numpy()) for n in names) if names else 0,
            "retained_pkr": _mean_pkr(kept),
            "retained_max_pkr": int(kept.max()),
            "retained_return_periods": [{"return_period_years": e["return_period_years"], "loss_pkr": e["loss_pkr"]}
                                        for e in rp],
        }
    return summary, pools, retained


# ---------------------------------------------------------------------------------------------
# Triggers
# ---------------------------------------------------------------------------------------------


def _index_description(spec) -> dict:
    index = spec.index
    out = {"type": index.type, "hazard": index.hazard, "lead_days": int(index.lead_days),
           "forecast_error": float(index.forecast_error)}
    if index.type == "point":
        out.update({"lon": float(index.lon), "lat": float(index.lat), "radius_km": float(index.radius_km)})
    else:
        out.update({"districts": list(index.districts), "tier": index.tier})
    return out


def _triggers(losses: R.AnnualLosses, fin, trigger_index, event_year, kind) -> list[dict]:
    out = []
    trigger_index = dict(trigger_index or {})
    unknown = sorted(set(trigger_index) - {t.name for t in fin.triggers})
    if unknown:
        raise ScenarioError(f"risk_section: trigger_index names {unknown}, which are not triggers of the "
                            f"financing block ({[t.name for t in fin.triggers]}).")
    for spec, trigger in zip(fin.triggers, to_triggers(fin, kind), strict=True):  # loops over triggers
        entry = {"name": spec.name, "index": _index_description(spec), "need_payer": spec.need_payer,
                 "source": spec.source, "note": spec.note}
        values = trigger_index.get(spec.name)
        if values is None:
            log.info("trigger %r: no index values given; not evaluated", spec.name)
            out.append({**entry, "evaluated": False, "direction": trigger.direction,
                        "threshold": float(trigger.threshold), "index_units": trigger.index_units,
                        "payout_pkr": int(trigger.payout_pkr), "need_threshold_pkr": int(spec.need_threshold_pkr),
                        "text": "not evaluated: the event engine gave no index values"})
            continue
        values = np.asarray(values, dtype=np.float64)
        years = event_year
        if years is None:
            if values.shape != losses.event_year.shape:
                raise ScenarioError(
                    f"trigger {spec.name!r}: {values.size} index values and no event_year; give event_year "
                    f"(each value's year, 1..{losses.n_years}), or one value per event of the payout table "
                    f"({len(losses.event_year)}, in event_id order).")
            years = losses.event_year
        result = L.evaluate_trigger(trigger, values, losses.annual(spec.need_payer, "aep"),
                                    need_threshold_pkr=int(spec.need_threshold_pkr), event_year=years)
        out.append({**entry, "evaluated": True, **result})
    return out


# ---------------------------------------------------------------------------------------------
# The section
# ---------------------------------------------------------------------------------------------


def risk_section(table: pd.DataFrame, n_years: int, financing: Any = None, *,
                 trigger_index: Mapping[str, Any] | None = None, event_year=None,
                 exposure_shares: Mapping[str, float] | None = None,
                 event_sets: Sequence[Mapping[str, Any]] | None = None) -> dict:
    """The ``risk`` section of a plan, JSON-ready.

    Parameters
    ----------
    table
        The event payout table (:mod:`simulator.plans.risk`: one row per event and province,
        ``event_id``, ``year``, ``hazard``, ``province_code``, ``federal_pkr``,
        ``provincial_pkr``, ``households``; int64 PKR).
    n_years
        Years the event set stands for [years], years without events included.
    financing
        The scenario's ``financing:`` block (:class:`simulator.scenario.Financing`, or a dict
        of one); None: metrics and curves only (its return periods and confidence are then the
        defaults of :mod:`simulator.plans.risk`).
    trigger_index
        Trigger name -> the index per event [index units] (NaN: no value), aligned with
        ``event_year``; a trigger without values is reported as not evaluated.
    event_year
        Year (1..n_years) of each value of the trigger indices; None: the indices are given one
        per event of ``table``, in ``event_id`` order.
    exposure_shares
        Province -> weight (e.g. the affected households' yearly average by province) for pools
        keyed ``exposure`` that give no shares of their own.
    event_sets
        JSON-ready descriptions of the event sets run (file, kind, events, years, seed,
        sha256 ...), copied into the section.

    Returns
    -------
    dict
        ``basis`` (per part: metrics, curves, layers, premium, triggers), ``references``,
        ``n_years``, ``events``, ``confidence``, ``return_periods``, ``event_sets``,
        ``by_hazard`` (per hazard: events, years with events, AAL in total, federal and
        provincial [PKR], households paid per year), ``metrics`` (per payer of
        :data:`simulator.plans.risk.PAYERS`: ``aal``, ``max_annual_pkr``, ``aep``, ``oep``, see
        :func:`simulator.plans.risk.risk_metrics`), ``curves`` (per payer and ``provinces``:
        ``aep`` and ``oep`` from :func:`compact_curve`); with ``financing``: ``layers`` (the
        summaries of :func:`simulator.plans.layers.apply_layers` with ``source`` and
        ``note``), ``pools`` (per pooled layer: key, federal share, expected and largest annual
        contribution of each funder [PKR]), ``triggers`` (per trigger:
        :func:`simulator.plans.layers.evaluate_trigger` with the index declared, or
        ``evaluated: False``) and ``retained`` (per payer: AAL, expected annual layer payouts,
        expected annual and return-period losses kept after its layers [PKR]). PKR as Python
        ints.

    Raises
    ------
    ScenarioError
        A bad payout table (:func:`simulator.plans.risk.validate_payout_table`), a bad
        programme or an exposure pool without shares, trigger indices of the wrong length or
        naming unknown triggers.
    """
    fin = _financing(financing)
    return_periods = list(fin.return_periods) if fin is not None else list(R.RETURN_PERIODS)
    confidence = float(fin.confidence) if fin is not None else R.CONFIDENCE
    clean = R.validate_payout_table(table, n_years)
    losses = R.annual_losses(clean, n_years)
    metrics = R.risk_metrics(losses, return_periods=return_periods, confidence=confidence)
    section: dict[str, Any] = {
        "basis": {"metrics": R.BASIS, "curves": CURVES_BASIS},
        "references": list(R.REFERENCES),
        "n_years": int(losses.n_years),
        "events": int(len(losses.event_id)),
        "confidence": confidence,
        "return_periods": metrics["return_periods"],
        "event_sets": _plain(list(event_sets or [])),
        "by_hazard": _by_hazard(clean, losses.n_years),
        "metrics": metrics["payers"],
        "curves": _curves(losses),
    }
    if fin is None:
        log.info("risk_section: %d events over %d years, no financing block", section["events"], losses.n_years)
        return _plain(section)
    section["basis"].update({"layers": L.BASIS, "premium": L.PREMIUM_BASIS, "triggers": L.TRIGGER_BASIS})
    section["references"] += [r for r in L.REFERENCES if r not in section["references"]]
    shares = None if exposure_shares is None else {str(k): float(v) for k, v in exposure_shares.items()}
    if fin.layers:
        section["layers"], section["pools"], section["retained"] = _layers(losses, fin, shares, return_periods)
    else:
        section["layers"], section["pools"] = [], []
        section["retained"] = {p: {"layers": [], "aal_pkr": metrics["payers"][p]["aal"]["aal_pkr"], "covered_pkr": 0,
                                   "retained_pkr": metrics["payers"][p]["aal"]["aal_pkr"],
                                   "retained_max_pkr": metrics["payers"][p]["max_annual_pkr"],
                                   "retained_return_periods": [
                                       {"return_period_years": e["return_period_years"], "loss_pkr": e["loss_pkr"]}
                                       for e in metrics["payers"][p]["aep"]]}
                               for p in losses.payers}
    kind = None
    if fin.events and fin.events[0].generate is not None:
        kind = fin.events[0].generate.kind
    elif event_sets:
        kind = (event_sets[0] or {}).get("kind")
    section["triggers"] = _triggers(losses, fin, trigger_index, event_year, kind)
    log.info("risk_section: %d events over %d years, %d layers, %d triggers", section["events"],
             losses.n_years, len(section["layers"]), len(section["triggers"]))
    return _plain(section)


# ---------------------------------------------------------------------------------------------
# Headline sentences
# ---------------------------------------------------------------------------------------------


def money(pkr: int | None) -> str:
    """PKR in words: ``PKR 3.1 billion``, ``PKR 450 million``, ``PKR 12,000``."""
    if pkr is None:
        return "unbounded"
    v = int(pkr)
    if abs(v) >= 10**9:
        return f"PKR {v / 1e9:,.{1 if abs(v) < 10**11 else 0}f} billion"
    if abs(v) >= 10**6:
        return f"PKR {v / 1e6:,.{1 if abs(v) < 10**8 else 0}f} million"
    return f"PKR {v:,}"


def _interval(ci: Sequence[int | None] | None, confidence: float) -> str:
    if not ci:
        return ""
    low, high = ci
    if high is None:
        return f" ({confidence:.0%} interval: at least {money(low)}; the set is too short to bound it)"
    return f" ({confidence:.0%} interval {money(low)} to {money(high)})"


def _rare_period(section: dict) -> Any:
    """The return period of the headline: 100 years when reported, else the rarest reported
    within the set."""
    periods = [t for t in section["return_periods"] if t <= section["n_years"]]
    if not periods:
        return None
    return 100 if 100 in periods else max(periods)


def _payer_line(section: dict, payer: str, period: Any) -> str:
    m = section["metrics"][payer]
    conf = section["confidence"]
    aal = m["aal"]
    verb = "pay" if payer in ("total", "provinces") else "pays"
    text = f"In an average year {PAYER_NAMES[payer]} {verb} {money(aal['aal_pkr'])}{_interval(aal['ci_pkr'], conf)}"
    if period is not None:
        entry = next(e for e in m["aep"] if e["return_period_years"] == period)
        text += f"; in a 1-in-{period:g} year {money(entry['loss_pkr'])}{_interval(entry['ci_pkr'], conf)}"
    return text + "."


def _band(layer: dict) -> str:
    start = layer["attachment_pkr"]
    if layer["limit_pkr"] is None:
        band = f"above {money(start)}"
    else:
        band = f"{money(start)} to {money(start + layer['limit_pkr'])}"
    share = "" if layer["share"] == 1 else f", {layer['share']:.0%} of it"
    per = "each event's loss" if layer["basis"] == "occurrence" else "the year's loss"
    return f"{band} of {per}{share}"


def _once_in(p: float | None) -> str:
    if not p:
        return "never in the set"
    return f"about once every {1 / p:,.{0 if 1 / p >= 10 else 1}f} years"


def _layer_line(layer: dict) -> str:
    text = (f"{layer['name']} ({layer['kind'].replace('_', ' ')}, for {PAYER_NAMES.get(layer['payer'], layer['payer'])}, "
            f"{_band(layer)}): pays {money(layer['expected_annual_cost_pkr'])} in an average year; "
            f"it is used {_once_in(layer['p_attach'])}")
    if layer["p_exhaust"] is not None:
        text += f" and runs out {_once_in(layer['p_exhaust'])}"
    if layer["indicative_premium_pkr"] is not None:
        text += (f"; indicative premium {money(layer['indicative_premium_pkr'])} a year "
                 f"({layer['premium_multiple']:g} x the expected loss, an assumption, not a quote)")
    return text + "."


def _pool_line(pool: dict) -> str:
    parts = [f"{PAYER_NAMES[f] if f != 'federal' else 'federal'} {money(v)}"
             for f, v in pool["expected_annual_pkr"].items() if v > 0]
    return (f"The pooled layer {pool['layer']} costs {money(pool['expected_annual_cost_pkr'])} in an average year, "
            f"funded {pool['federal_share']:.0%} federal and the rest by the {pool['key']} key: "
            + (", ".join(parts) if parts else "nothing in the set") + ".")


def _trigger_line(trigger: dict) -> str:
    if not trigger.get("evaluated"):
        return f"Trigger {trigger['name']}: not evaluated (no index values)."
    units = f" {trigger['index_units']}" if trigger["index_units"] not in ("", "1") else ""
    text = (f"Trigger {trigger['name']} (index {trigger['direction']} {trigger['threshold']:g}{units}, "
            f"pays {money(trigger['payout_pkr'])}) ")
    if trigger["once_every_years"] is None:
        text += "never fires in the set"
    else:
        text += f"fires once every {trigger['once_every_years']:g} years"
    return text + (f"; {trigger['false_alarms']} false alarm(s), {trigger['misses']} miss(es) in the set "
                   f"({trigger['n_years']:,} years).")


def headline(section: dict) -> list[str]:
    """A few plain sentences a finance minister reads, from a :func:`risk_section`.

    The federal government's and each paying province's average year and 1-in-100 year (or
    the rarest return period the set reaches) with their intervals, all governments together,
    then a line per layer, per pool, per trigger, and what the federal government keeps after
    its layers.
    """
    period = _rare_period(section)
    lines = [f"Modelled over {section['n_years']:,} simulated years with {section['events']:,} paying events "
             "(a model of the risk, not a forecast)."]
    lines.append(_payer_line(section, "federal", period))
    for code in R.PROVINCES:  # loops over the provinces
        if section["metrics"][code]["aal"]["aal_pkr"] > 0:
            lines.append(_payer_line(section, code, period))
    lines.append(_payer_line(section, "total", period))
    for layer in section.get("layers") or []:  # loops over the layers
        lines.append(_layer_line(layer))
    for pool in section.get("pools") or []:  # loops over the pools
        lines.append(_pool_line(pool))
    retained = section.get("retained") or {}
    for payer, kept in retained.items():  # loops over the payers
        if kept["layers"]:
            lines.append(f"After its layers {PAYER_NAMES[payer]} still "
                         f"{'pay' if payer == 'total' else 'pays'} {money(kept['retained_pkr'])} in an average year "
                         f"(of {money(kept['aal_pkr'])}).")
    for trigger in section.get("triggers") or []:  # loops over the triggers
        lines.append(_trigger_line(trigger))
    return lines
