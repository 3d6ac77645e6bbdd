"""Rebuild the observed footprints of the 2022 and 2010 floods in ``data/events/``.

2022 (``footprint_2022_observed.csv``)
---------------------------------------

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

2010 (``footprint_2010_observed.csv``)
---------------------------------------
The Watan card (CDCP Phase I) paid PKR 20,000 to flood-affected families whose homes the floods
damaged (Phase II, for the same families, says so: propertiesinpakistan.pk, 14 Sep 2012). No
district list of 2010's 78 affected districts and no flood extent for Sindh were found, so each
district's share of households with a damaged home is estimated from what was:

- how many: NDMA's 1.6 million homes damaged or destroyed (tribune.com.pk/story/445034);
- in which province: CDCP Phase II's cards by province (NADRA, Sep 2012), the only published
  provincial count of families whose homes were damaged; AJK's and GB's share is left out
  (outside the census frame), so the four provinces get 1.6 M x their share of all cards;
- where within a province: the Global Flood Database's flood fraction (DFO-3696, MODIS) where
  it is usable (>= 0.5 %, not flagged suspect), ``share = min(1, k x fraction)`` with one ``k``
  per province; a district named affected in 2010 sources whose fraction is missing, below the
  noise floor or suspect gets the province's median usable fraction; where the province has no
  usable fraction at all (Sindh and Balochistan: GFD's extraction has no Sindh district), its
  named districts share its homes alike (``k x 1``).

Limits: shares are 2010's count over 2023's households (growth since 2010 is not modelled, so
the caseload stays comparable with 2010's families, not the share); Sindh's 8 named districts
stand for a province where 2010's flood was wider (Larkana, Khairpur, Jamshoro... are not in
the sources found); Phase II's split is of the families it reached by 2012, not of Phase I's.
The footprint's size comes from NDMA's count of homes, so the back-test's caseload check tests
the rule (one payment per damaged home) and the registry's coverage, not the footprint's size.

Run from the repository root: ``.venv/bin/python data/build_footprints.py``. Reads only the
repository's ``data/``; a test checks that the shipped tables equal what this gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from hazards.observed import dasymetric_shares  # noqa: E402

OUT = ROOT / "events" / "footprint_2022_observed.csv"
OUT_2010 = ROOT / "events" / "footprint_2010_observed.csv"
#: The four provinces of the census frame that CDCP Phase II counted (ICT had no cards).
PROVINCES_2010 = ("PB", "SD", "KP", "BA")
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


def footprint_2010(facts: pd.DataFrame, districts: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The 2010 footprint table (one row per census district with a share > 0) and each
    province's factor k (the module docstring states the method)."""
    f = facts[facts.event.astype(str) == "2010"]
    homes = float(f[(f.level == "national") & (f.metric == "houses_damaged")].value.iloc[0])
    cards = f[(f.level == "province") & (f.metric == "house_damaged_families")].set_index("area")["value"].astype(float)
    gfd = f[(f.level == "district") & (f.metric == "gfd_flooded_pct")].set_index("area")
    suspect = set(gfd.index[gfd.as_of.astype(str).str.contains("suspect")])
    named = set(f[(f.level == "district") & (f.metric == "named_affected")].area)
    d = districts.set_index("district_id")
    fraction = gfd["value"].astype(float).reindex(d.index) / 100.0
    usable = (fraction >= NOISE_PCT / 100.0) & ~d.index.isin(suspect)
    shares = pd.Series(0.0, index=d.index)
    basis = pd.Series("", index=d.index)
    ks: dict[str, float] = {}
    for code in PROVINCES_2010:
        in_p = (d.province_code == code).to_numpy()
        total = homes * cards[code] / cards.sum()
        good = usable & in_p
        weight = fraction.where(good, 0.0)
        fill = float(fraction[good].median()) if good.any() else 1.0
        stand_in = d.index.isin(named) & in_p & ~good
        weight = weight.where(~stand_in, fill)
        s, k = dasymetric_shares(weight[in_p].to_numpy(), d.households_2023[in_p].to_numpy(dtype=float), total)
        shares[in_p] = s
        ks[code] = k
        how = (f"min(1, {k:.3f} x GFD flood fraction)" if good.any() else f"{code}'s named districts alike ({k:.4f} of households)")
        basis[in_p] = (f"{how}; NDMA 1.6 M homes damaged x CDCP Phase II's {code} share ({cards[code]:,.0f} of "
                       f"{cards.sum():,.0f} cards) = {total:,.0f} households")
        basis[stand_in] = basis[stand_in] + f"; named affected, no usable GFD fraction: the province's median ({fill:.2%})"
    out = pd.DataFrame({
        "district_id": d.index,
        "share_affected": shares.round(4).to_numpy(),
        "gfd_flooded_pct": gfd["value"].astype(float).reindex(d.index).round(3).to_numpy(),
        "named_affected": [1 if i in named else 0 for i in d.index],
        "basis": basis.to_numpy(),
        "source": ("NDMA homes damaged (tribune.com.pk/story/445034); CDCP Phase II cards by province (NADRA, "
                   "propertiesinpakistan.pk 14-Sep-2012); Global Flood Database DFO-3696 flood fraction and districts "
                   "named affected in 2010 sources, as in data/events/facts.csv"),
    })
    return out[out.share_affected > 0].reset_index(drop=True), ks


def _write(table: pd.DataFrame, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(path)


def main() -> None:
    facts = pd.read_csv(ROOT / "events" / "facts.csv", dtype={"event": str})
    districts = pd.read_csv(ROOT / "districts.csv").sort_values("district_id")
    table, k = footprint_2022(facts, districts)
    _write(table, OUT)
    print(f"wrote {OUT}: {len(table)} districts, k = {k:.3f}")
    table, ks = footprint_2010(facts, districts)
    _write(table, OUT_2010)
    print(f"wrote {OUT_2010}: {len(table)} districts, k = " + ", ".join(f"{p} {v:.3f}" for p, v in ks.items()))


if __name__ == "__main__":
    main()
