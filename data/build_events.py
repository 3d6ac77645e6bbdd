"""Rebuild ``data/events/facts.csv``, the record `madad backtest` compares plans with.

Reads the compiled event tables in ``../shared/data/events/`` (each row of which names its
source) and keeps what a back-test needs, one fact per row with its source and confidence:

- 2022: families BISP identified through the NSER and paid (national, by province), the PKR
  paid, people affected (NDMA/NFRCC), and each district's share of area flooded (UNOSAT's VIIRS
  extent of 25-31 August 2022 over the 2023 district polygons), the districts found notified
  calamity-hit (``notified`` = 1; partly notified counts) and how many each province notified;
- 2010: Watan card (CDCP Phase I) families and cards, people affected, homes damaged (NDMA),
  CDCP Phase II cards (families whose homes were damaged) by province, the districts named
  affected in 2010 sources (``named_affected`` = 1) and each district's Global Flood Database
  flood fraction (``gfd_flooded_pct``; MODIS, suspect in places: see data/events/README.md).

Run from the repository root: ``.venv/bin/python data/build_events.py``. Needs ``../shared``.
"""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
EVENTS = ROOT.parent.parent / "shared" / "data" / "events"
OUT = ROOT / "events" / "facts.csv"
COLUMNS = ["event", "level", "area", "metric", "value", "unit", "as_of", "source", "confidence"]
PROVINCE_CODES = {"Punjab": "PB", "Sindh": "SD", "Khyber Pakhtunkhwa": "KP", "Balochistan": "BA",
                  "Gilgit-Baltistan": "GB", "Azad Jammu & Kashmir": "AJK", "Pakistan": "PK",
                  "Islamabad Capital Territory": "IS"}
#: province_totals.csv metric -> the metric name here
METRICS = {
    ("2022", "bisp_frca_families_identified_nser"): "families_identified",
    ("2022", "bisp_frca_families_paid"): "families_paid",
    ("2022", "bisp_frca_amount_paid"): "amount_paid_pkr",
    ("2022", "people_affected"): "people_affected",
    ("2010", "people_affected"): "people_affected",
    ("2010", "watan_phase1_cards_activated"): "cards_activated",
    ("2022", "calamity_hit_districts"): "calamity_hit_districts",
    ("2010", "houses_destroyed"): "houses_damaged",
    ("2010", "watan_phase2_cards_activated"): "house_damaged_families",
}
#: 2010 districts whose GFD fraction the compiled table flags as implausible (reservoir water,
#: an implausibly high share): kept, with confidence L and the flag in ``as_of``.
GFD_SUSPECT = {"kp_haripur": "Tarbela reservoir inside", "pb_rahim_yar_khan": "implausibly high (compiler's note)"}


def main() -> None:
    rows = []
    for r in csv.DictReader((EVENTS / "province_totals.csv").open()):
        metric = METRICS.get((r["event"], r["metric"]))
        if metric is None:
            continue
        area = PROVINCE_CODES[r["province"]]
        source = r["source"]
        if metric == "families_identified":  # the compiled row cites FACTS.md; cite the pages
            source = ("urdupoint.com/en/pakistan/flood-relief-cash-assistance-amount-increased-1567516.html "
                      "(23-Sep-2022); propakistani.pk/2022/09/23 (23-Sep-2022)")
        rows.append({"event": r["event"], "level": "national" if area == "PK" else "province", "area": area,
                     "metric": metric, "value": r["value"], "unit": r["unit"], "as_of": r["as_of"],
                     "source": source, "confidence": r["confidence"]})
    # The Watan card's families: CDCP's own statement (FACTS.md section 7).
    rows.append({"event": "2010", "level": "national", "area": "PK", "metric": "families_paid",
                 "value": "1620000", "unit": "families", "as_of": "2011",
                 "source": "cdcp.nadra.gov.pk (CDCP Phase I, Watan card: PKR 20,000 to 1.62 M families); "
                           "another NADRA statement gives 1.75 M (propertiesinpakistan.pk, 14 Sep 2012)",
                 "confidence": "H"})
    for r in csv.DictReader((EVENTS / "unosat_flood_extent_2022_by_district.csv").open()):
        rows.append({"event": "2022", "level": "district", "area": r["district_id"], "metric": "pct_area_flooded",
                     "value": r["pct_area_flooded"], "unit": "%", "as_of": r["window"],
                     "source": r["source"], "confidence": r["confidence"]})
    for r in csv.DictReader((EVENTS / "calamity_districts_2022.csv").open()):
        if r["status"] in ("notified", "partly_notified") and r["district_id"]:
            rows.append({"event": "2022", "level": "district", "area": r["district_id"], "metric": "notified",
                         "value": "1", "unit": "flag", "as_of": r["notified_date_or_list"],
                         "source": r["source"].split("; pct_area_flooded:")[0], "confidence": r["confidence"].split(";")[0].strip()})
    for r in csv.DictReader((EVENTS / "flood_districts_2010.csv").open()):
        if not r["district_id"] or r["district_id"].startswith(("ajk_", "gb_")):
            continue  # no one-to-one 2023 unit, or outside the census frame
        if r["status"] == "named_affected":
            rows.append({"event": "2010", "level": "district", "area": r["district_id"], "metric": "named_affected",
                         "value": "1", "unit": "flag", "as_of": "Aug-Nov 2010",
                         "source": "; ".join(p for p in r["source"].split("; ") if "SallyXiu" not in p),
                         "confidence": r["confidence"].split(";")[0].split("(")[0].strip() or "M"})
        if r["gfd_flood_fraction_pct_raw"]:
            suspect = GFD_SUSPECT.get(r["district_id"])
            rows.append({"event": "2010", "level": "district", "area": r["district_id"], "metric": "gfd_flooded_pct",
                         "value": r["gfd_flood_fraction_pct_raw"], "unit": "%",
                         "as_of": r["figures_as_of"] + (f"; suspect: {suspect}" if suspect else ""),
                         "source": "Global Flood Database DFO-3696 (MODIS 250 m) on GAUL-2015 districts, via github "
                                   "SallyXiu/pakistan-flood-mortality Data/pakistan_district_flood_2010.csv @3419935",
                         "confidence": "L"})
    OUT.parent.mkdir(exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(OUT)
    print(f"wrote {OUT}: {len(rows)} facts")


if __name__ == "__main__":
    main()
