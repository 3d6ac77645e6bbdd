"""Rebuild ``data/events/footprint_2022_observed.csv``, the observed footprint of the 2022 floods.

BISP paid its 2022 flood relief to the poorest 40 % of the NSER in the tehsils and union councils
that NDMA and the provinces notified (brecorder.com/news/40201981). The notified tehsils are not
published in a form found here, so each district's share of households in them is estimated from
two published figures (``data/events/facts.csv``, each with its source), by dasymetric allocation
(:func:`hazards.observed.dasymetric_shares`):

- where: the share of the district's area that UNOSAT's VIIRS extent of 25-31 August 2022 saw
  flooded (values under 0.5 % are treated as 0: the source calls them noise);
- how many: the people NDMA/NFRCC counted affected (4 September 2022), less Gilgit-Baltistan and
  AJK (outside the census frame); ``share = min(1, k x flooded share)`` with ``k`` such that the
  census population times the shares adds up to that count.

A province's districts count only if notified calamity-hit where the list of notified districts
found is complete (it names at least as many districts as the province had notified on
6 September 2022: Sindh); elsewhere every district where the extent saw water counts, since
the lists found are incomplete (Punjab 2 of 3 names, KP 3 of 17, Balochistan 16 of 32).

Run from the repository root: ``.venv/bin/python data/build_footprints.py``. Reads only the
repository's ``data/``; a test checks that the shipped table equals what this gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from hazards.observed import dasymetric_shares  # noqa: E402

OUT = ROOT / "events" / "footprint_2022_observed.csv"
#: UNOSAT shares below this are noise (data/events/README.md, after ../shared's notes).
NOISE_PCT = 0.5


def footprint_2022(facts: pd.DataFrame, districts: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """The footprint table (one row per census district with a share > 0) and the factor k."""
    f = facts[facts.event.astype(str) == "2022"]
    pct = f[f.metric == "pct_area_flooded"].set_index("area")["value"].astype(float)
    notified = set(f[(f.metric == "notified") & (f.level == "district")].area)
    counts = f[(f.metric == "calamity_hit_districts") & (f.level == "province") & (f.as_of == "6-Sep-2022")]
    named = districts[districts.district_id.isin(notified)].groupby("province_code").size()
    complete = {p for p, n in zip(counts.area, counts.value.astype(int), strict=True) if named.get(p, 0) >= n}
    people = f[f.metric == "people_affected"].set_index("area")["value"].astype(float)
    total = people["PK"] - people.get("GB", 0.0) - people.get("AJK", 0.0)
    d = districts.set_index("district_id")
    flooded = pct.reindex(d.index).fillna(0.0)
    flooded = flooded.where(flooded >= NOISE_PCT, 0.0) / 100.0
    counted = ~d.province_code.isin(complete) | d.index.isin(notified)
    flooded = flooded.where(counted, 0.0)
    shares, k = dasymetric_shares(flooded.to_numpy(), d.pop_2023.to_numpy(dtype=float), total)
    out = pd.DataFrame({
        "district_id": d.index,
        "share_affected": shares.round(4),
        "pct_area_flooded": pct.reindex(d.index).round(3).to_numpy(),
        "notified": [1 if i in notified else 0 for i in d.index],
        "basis": [
            f"min(1, {k:.3f} x UNOSAT flooded share); NDMA people affected {total:,.0f} (4 provinces + ICT) placed where UNOSAT saw water"
            + ("" if p not in complete else "; Sindh: notified districts only")
            for p in d.province_code],
        "source": ("UNOSAT VIIRS flood extent 25-31 Aug 2022 (FL20220808PAK) by district; NFRCC/NDMA people "
                   "affected 4-Sep-2022 (pakobserver.net/?p=355093); notified districts as in data/events/facts.csv"),
    })
    return out[out.share_affected > 0].reset_index(drop=True), k


def main() -> None:
    facts = pd.read_csv(ROOT / "events" / "facts.csv", dtype={"event": str})
    districts = pd.read_csv(ROOT / "districts.csv").sort_values("district_id")
    table, k = footprint_2022(facts, districts)
    tmp = OUT.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(OUT)
    print(f"wrote {OUT}: {len(table)} districts, k = {k:.3f}")


if __name__ == "__main__":
    main()
