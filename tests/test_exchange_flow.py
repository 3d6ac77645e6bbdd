"""Issue 7 end to end: a federal and a provincial registry with overlapping households are
linked without either side seeing the other's CNICs (or names), exchanged as signed encrypted
packages, and the overlap is removed from a response plan; no raw CNIC reaches any output."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hazards import tables as data
from simulator import plans, publish, scenario
from simulator.cli.exchange import exchange_app
from simulator.exchange import linkage
from simulator.exchange import packages as exchange
from simulator.exchange.pseudonym import KeyRing, pseudonymise_frame

cli = CliRunner()
CNIC = re.compile(rb"(?<!\d)\d{5}-?\d{7}-?\d(?!\d)")


def _households(people: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Registry columns for linkage people: located at their district's point, poor-ish."""
    table = data.districts().set_index("district_id")
    points = table.loc[people.district_id, ["lon", "lat"]].to_numpy()
    n = len(people)
    return pd.DataFrame(
        {
            "lon": (points[:, 0] + rng.normal(0, 0.02, n)).round(5),
            "lat": (points[:, 1] + rng.normal(0, 0.02, n)).round(5),
            "district_id": people.district_id.to_numpy(),
            "hh_size": rng.integers(2, 10, n),
            "pmt_score": rng.uniform(5, 30, n).round(1),
        }
    )


@pytest.mark.slow
def test_link_exchange_and_dedup_end_to_end(tmp_path):
    rng = np.random.default_rng(5)
    sets = linkage.synthetic_registries(1_500, 1_500, overlap=0.5, seed=9)
    # The provincial registry is Punjab's: keep its Punjab records and the truth among them.
    pb = set(data.districts().query("province_code == 'PB'").district_id)
    right = sets.right[sets.right.district_id.isin(pb)].reset_index(drop=True)
    truth = sets.truth[sets.truth.right_id.isin(right.household_id)]
    assert len(truth) > 100

    # Each side holds raw CNICs and names; each pseudonymises with its own key.
    def with_cnic(frame: pd.DataFrame) -> pd.DataFrame:
        cnic = [f"{rng.integers(10000, 99999)}-{rng.integers(10**6, 10**7)}-{rng.integers(0, 10)}" for _ in range(len(frame))]
        return frame.assign(cnic=cnic)

    federal_people = with_cnic(sets.left)
    provincial_people = with_cnic(right)
    fed_key, prov_key = KeyRing.generate(), KeyRing.generate()
    fed_ids = pseudonymise_frame(federal_people[["cnic"]], key=fed_key)["household_id"]
    prov_ids = pseudonymise_frame(provincial_people[["cnic"]], key=prov_key)["household_id"]
    id_of_fed = dict(zip(sets.left.household_id, fed_ids, strict=True))
    id_of_prov = dict(zip(right.household_id, prov_ids, strict=True))

    # Linkage: both encode names with a shared linkage secret; only Bloom filters travel.
    secret = tmp_path / "linkage.key.json"
    assert cli.invoke(exchange_app, ["secret", "--out", str(secret)]).exit_code == 0
    for party, people, ids in (("nser", sets.left, id_of_fed), ("pser", right, id_of_prov)):
        frame = people.assign(household_id=people.household_id.map(ids))
        frame.to_csv(tmp_path / f"{party}_people.csv", index=False)
        result = cli.invoke(exchange_app, ["encode", str(tmp_path / f"{party}_people.csv"), "--secret", str(secret),
                                           "--party", party, "--out", str(tmp_path / f"{party}.clk.parquet")])
        assert result.exit_code == 0, result.output
        encoded = (tmp_path / f"{party}.clk.parquet").read_bytes().lower()
        table = pd.read_parquet(tmp_path / f"{party}.clk.parquet")
        cells = {str(v).lower() for c in table.columns if table[c].dtype == object for v in table[c]}
        for name in people.name.dropna().head(50):
            assert str(name).lower() not in cells, f"{name!r} left {party} in clear text"
            # in the raw bytes too (names of 6 letters or more: a 3-letter name such as "Ali"
            # turns up by chance in a few kilobytes of random Bloom-filter bytes)
            if len(str(name)) >= 6:
                assert str(name).lower().encode() not in encoded, f"{name!r} left {party} in clear text"
    result = cli.invoke(exchange_app, ["link", str(tmp_path / "nser.clk.parquet"), str(tmp_path / "pser.clk.parquet"),
                                       "--out", str(tmp_path / "links.csv")])
    assert result.exit_code == 0, result.output
    links = pd.read_csv(tmp_path / "links.csv", dtype=str)
    expected = {(id_of_prov[r], id_of_fed[f]) for f, r in zip(truth.left_id, truth.right_id, strict=True)}
    found = set(zip(links.provincial_id, links.federal_id, strict=True))
    assert len(found & expected) / len(expected) >= 0.95  # recall
    assert len(found & expected) / len(found) >= 0.98  # precision

    # Registries: pseudonymous ids only. A linked provincial record is the same household as
    # its federal twin (same place and attributes).
    federal = _households(sets.left, rng).assign(household_id=fed_ids.to_numpy(), enrolled_kafaalat=True)
    provincial = _households(right, rng).assign(household_id=prov_ids.to_numpy(), enrolled_prov_uct=True)
    federal.to_parquet(tmp_path / "nser.parquet")

    # The province sends its registry to BISP as a signed, encrypted package.
    keys = tmp_path / "keys"
    for agency in ("bisp", "pspa-punjab"):
        exchange.keygen(agency, keys / agency)
    exchange.pack(provincial, sender_private=keys / "pspa-punjab" / "pspa-punjab.key.pem",
                  recipient_public_identity=keys / "bisp" / "bisp.identity.json",
                  dataset="pser-extract", purpose="flood response dedup", out=tmp_path / "pser.madadpkg",
                  audit_log=tmp_path / "audit.jsonl")
    received, manifest = exchange.unpack(tmp_path / "pser.madadpkg",
                                         recipient_private=keys / "bisp" / "bisp.key.pem",
                                         sender_public_identity=keys / "pspa-punjab" / "pspa-punjab.identity.json",
                                         audit_log=tmp_path / "audit.jsonl")
    assert manifest["rows"] == len(received) == len(provincial)
    pd.testing.assert_frame_equal(received.reset_index(drop=True), provincial.reset_index(drop=True), check_dtype=False)
    received.to_parquet(tmp_path / "pser.parquet")

    # A declared disaster in every Punjab district; BISP pays federal records, Punjab tops up.
    pd.DataFrame({"district_id": sorted(pb), "severity": "affected"}).to_csv(tmp_path / "declared.csv", index=False)
    scn = scenario.parse("""
name: punjab-declared
title: Punjab declared districts
registry:
  path: nser.parquet
  provincial:
    - {province: PB, path: pser.parquet, links: links.csv}
hazards:
  - {kind: riverine-flood, admin_table: declared.csv}
policy:
  programmes:
    - {name: BISP relief, owner: federal, expansion: all_affected, transfer: {by_tier_pkr: {affected: 25000}}}
    - {name: Punjab relief, owner: provincial, expansion: vertical, beneficiaries_of: [prov_uct],
       provinces: [PB], transfer: {by_tier_pkr: {affected: 10000}}}
dedup: {rule: priority, order: [federal, provincial]}
cost_sharing: {rule: ownership}
""", source="inline")
    res = plans.run(scn, base=tmp_path)
    out = tmp_path / "run"
    publish.write_run(res, out)
    d = res.plan["dedup"]
    assert d["registry_duplicates_households"] == len(links)
    assert d["registry_duplicates_savings_pkr"] == 10000 * len(links)
    t = res.plan["totals"]
    assert t["federal_pkr"] + t["provincial_pkr"] == t["amount_pkr"]
    # Every Punjab household is paid once: federal records by BISP, the rest by Punjab.
    pb_paid = res.households[(res.households.province_code == "PB") & (res.households.status == "paid")]
    assert pb_paid.household_id.is_unique
    unlinked_provincial = len(provincial) - len(links)
    assert (pb_paid.source == "provincial").sum() == unlinked_provincial

    # No raw CNIC anywhere in the run folder, the packages or the audit log.
    for path in [*out.rglob("*"), tmp_path / "pser.madadpkg", tmp_path / "audit.jsonl", tmp_path / "links.csv"]:
        if path.is_file():
            blob = path.read_bytes()
            for cnic in federal_people.cnic.head(200):
                assert cnic.encode() not in blob and cnic.replace("-", "").encode() not in blob, path
