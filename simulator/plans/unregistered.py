"""The affected households the registry cannot see: census households missing from the registry.

A plan pays registered households only. The NSER holds about 35 M households where the 2023
census counts 38.3 M, and after a disaster the missing families are found when they register (in
2022, by SMS to 8171, at BISP campsites). They are a cost of horizontal expansion and
registration (the Bhurban declaration's items 4 and 6), so the plan estimates them per district,
apart from the paid figures, never added to them:

``unregistered_households``
    Census 2023 households (PBS, ``data/districts.csv``) less the registry's households in the
    district, at least 0 (a registry above the census in a district misses no one there).
``affected_unregistered_households``
    Those times the district's affected share among registered households.
``eligible_unregistered_households``
    Those times the district's share of entitled households among the affected registered.
``pkr_if_registered``
    Those times the average payment per paid household in the district (the province's where
    the district paid no one) [PKR]: what paying them under the same policy would add.

Assumption (stated in the plan): the unregistered live where the registered of their district
live, are hit alike, and qualify alike. Nothing here says who they are; the true figures come
from registering them. Each figure is rounded per district to whole households and rupees, and
the national figures are the districts' sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hazards import tables as data

#: How the estimate is made, written into the plan with it.
BASIS = (
    "Census 2023 households (PBS) less the registry's households in each district; the "
    "district's affected and entitled shares among registered households, and its average "
    "payment per paid household, applied to them. Assumes the unregistered live where the "
    "registered live and are hit and qualify alike. An estimate, not part of the paid figures."
)
FIGURES = ("census_households", "registry_households", "unregistered_households",
           "affected_unregistered_households", "eligible_unregistered_households", "pkr_if_registered")


def _share(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(len(num)), where=den > 0)


def estimate(districts: pd.DataFrame) -> dict:
    """The unregistered estimate from a plan's full district table (every district with
    registry households; columns of :func:`simulator.plans.build.district_table`).

    Returns a JSON-ready dict: ``basis``, ``totals`` (the sums of the districts' figures),
    ``provinces`` and ``districts`` (those with affected unregistered households), each with
    :data:`FIGURES` [households; PKR for ``pkr_if_registered``] and the registry's
    ``coverage`` of census households [fraction].
    """
    census = data.districts().set_index("district_id")["households_2023"]
    d = districts[["district_id", "district", "province_code", "households", "affected_households",
                   "eligible_households", "paid_households", "amount_pkr"]].copy()
    d["census_households"] = census.reindex(d.district_id).fillna(0).to_numpy(dtype=np.int64)
    reg = d["households"].to_numpy(dtype=np.int64)
    unreg = np.maximum(d["census_households"].to_numpy() - reg, 0)
    affected = np.rint(unreg * _share(d.affected_households.to_numpy(float), reg.astype(float))).astype(np.int64)
    eligible = np.rint(affected * _share(d.eligible_households.to_numpy(float),
                                          d.affected_households.to_numpy(float))).astype(np.int64)
    paid = d.paid_households.to_numpy(float)
    amount = d.amount_pkr.to_numpy(float)
    prov = d.groupby("province_code")[["paid_households", "amount_pkr"]].transform("sum")
    average = np.where(paid > 0, _share(amount, paid), _share(prov.amount_pkr.to_numpy(float), prov.paid_households.to_numpy(float)))
    pkr = np.rint(eligible * average).astype(np.int64)
    out = pd.DataFrame({
        "district_id": d.district_id, "district": d.district, "province_code": d.province_code,
        "census_households": d.census_households, "registry_households": reg,
        "unregistered_households": unreg, "affected_unregistered_households": affected,
        "eligible_unregistered_households": eligible, "pkr_if_registered": pkr,
    })
    provinces = out.groupby("province_code", sort=True)[list(FIGURES)].sum().reset_index()

    def coverage(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame["coverage"] = np.round(_share(frame.registry_households.to_numpy(float),
                                            frame.census_households.to_numpy(float)), 4)
        return frame

    totals = {k: int(out[k].sum()) for k in FIGURES}
    totals["coverage"] = round(totals["registry_households"] / totals["census_households"], 4) if totals["census_households"] else 0.0
    shown = coverage(out)[out.affected_unregistered_households > 0]
    return {
        "basis": BASIS,
        "totals": totals,
        "provinces": coverage(provinces).to_dict(orient="records"),
        "districts": shown.to_dict(orient="records"),
    }
