"""Payment instruction files per partner and reconciliation of return files (madad payments)."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from hazards.errors import ExportError
from simulator.cli.payments import payments_app
from simulator.plans import payments as P
from simulator.publish import payments as W

KEY = bytes(range(32))


@pytest.fixture
def households() -> pd.DataFrame:
    """Six households: h3 is not paid, h4 has no site (unassigned)."""
    return pd.DataFrame({
        "household_id": ["h1", "h2", "h3", "h4", "h5", "h6"],
        "province_code": ["SD", "SD", "PB", "PB", "SD", "PB"],
        "district_id": ["sd_a", "sd_a", "pb_b", "pb_b", "sd_c", "pb_b"],
        "amount_pkr": np.array([25_001, 25_000, 0, 30_000, 10_000, 20_000], np.int64),
        "weight": np.ones(6, np.int32),
        "site_id": ["s1", "s2", "s1", None, "s1", "=cmd|calc"],
        "travel_km": np.float32([1, 2, 3, np.nan, 4, 5]),
    })


@pytest.fixture
def sites() -> pd.DataFrame:
    """s1: tehsil office (HBL by default); s2: bank branch (Bank Alfalah by default), a name a
    spreadsheet would run as a formula; '=cmd|calc': a campsite given to Bank Alfalah."""
    return pd.DataFrame([
        {"site_id": "s1", "kind": "bisp_tehsil_office", "operator": "federal", "province_code": "SD",
         "district_id": "sd_a", "name": "Tehsil office A"},
        {"site_id": "s2", "kind": "bank_branch", "operator": "federal", "province_code": "SD",
         "district_id": "sd_a", "name": "=HYPERLINK(\"x\")"},
        {"site_id": "=cmd|calc", "kind": "campsite", "operator": "federal", "province_code": "PB",
         "district_id": "pb_b", "name": "camp", "partner": "bank_alfalah"},
    ])


INSTALMENTS = [{"instalment": 1, "day": 0, "share": 0.5, "amount_pkr": 0},
               {"instalment": 2, "day": 30, "share": 0.5, "amount_pkr": 0}]


def test_split_lands_in_partner_file_with_its_columns(households, sites):
    files = P.instructions(households, sites, INSTALMENTS, KEY)
    assert sorted(files) == [("bank_alfalah", 1), ("bank_alfalah", 2), ("hbl", 1), ("hbl", 2)]
    hbl1, hbl2 = files[("hbl", 1)], files[("hbl", 2)]
    # h1: 25,001 in 5,000 bp + 5,000 bp: instalment 1 = floor(25,001 * 0.5) = 12,500; the last
    # instalment takes the remainder 25,001 - 12,500 = 12,501 (engine.payouts.instalment_split)
    p1 = P.pseudonyms(["h1"], "hbl", KEY)[0]
    assert hbl1.loc[hbl1.pseudonym == p1, "amount_pkr"].tolist() == [12_500]
    assert hbl2.loc[hbl2.pseudonym == p1, "amount_pkr"].tolist() == [12_501]
    # HBL: h1 and h5 at s1 (h3 at s1 is not paid): 12,500 + 5,000 = 17,500; 12,501 + 5,000
    assert hbl1.amount_pkr.sum() == 17_500 and hbl2.amount_pkr.sum() == 17_501
    # Bank Alfalah: h2 (s2, 12,500 each) and h6 (campsite given to bank_alfalah, 10,000 each)
    assert files[("bank_alfalah", 1)].amount_pkr.sum() == 22_500
    assert "household_id" not in hbl1.columns
    hbl = P.load_schema("hbl")
    alfalah = P.load_schema("bank_alfalah")
    out = P.to_partner_columns(hbl1, hbl)
    assert list(out.columns) == ["BENEFICIARY_REF", "INSTALMENT_NO", "AMOUNT_PKR", "PAYMENT_POINT",
                                 "DISTRICT", "PROVINCE", "PAY_FROM_DAY"]
    assert list(P.to_partner_columns(files[("bank_alfalah", 1)], alfalah).columns) == [
        "Ref", "Branch", "BranchName", "Amount", "Tranche", "ValueDay"]


def test_totals_reconcile_exactly(households, sites):
    pay = P.payments(households, sites, INSTALMENTS, KEY)
    table = P.summary(pay)
    # instalment 1: 12,500 + 12,500 + 15,000 + 5,000 + 10,000 = 55,000; instalment 2 adds the
    # remainder of h1's odd rupee: 55,001. h4 (30,000, no site) is unassigned: 15,000 each.
    per = table.groupby("instalment").amount_pkr.sum()
    assert per.tolist() == [55_000, 55_001]
    lost = table[table.partner_id == "unassigned"]
    assert lost.amount_pkr.tolist() == [15_000, 15_000] and lost.households.tolist() == [1, 1]
    assert (pay.instalments.scheduled_pkr + pay.instalments.unassigned_pkr == per.to_numpy()).all()


def test_pseudonyms_stable_and_separate():
    a = P.pseudonyms(["h1", "h2"], "hbl", KEY)
    assert list(a) == list(P.pseudonyms(["h1", "h2"], "hbl", KEY))
    assert a[0] != a[1]
    assert not set(a) & set(P.pseudonyms(["h1", "h2"], "bank_alfalah", KEY))
    assert not set(a) & set(P.pseudonyms(["h1", "h2"], "hbl", bytes(32)))
    import hashlib
    import hmac
    # 96 bits: the first 24 hex digits of the HMAC, grouped six by six
    full = hmac.new(KEY, b"hbl\x1fh1", hashlib.sha256).hexdigest()
    assert a[0] == "-".join(full[i:i + 6] for i in range(0, 24, 6))


def test_partner_of_and_errors(sites):
    assert list(P.partner_of(sites)) == ["hbl", "bank_alfalah", "bank_alfalah"]
    with pytest.raises(ExportError, match=r"site 's9': partner 'nbp' is not one of"):
        P.partner_of(pd.DataFrame([{"site_id": "s9", "kind": "campsite", "partner": "nbp"}]))
    with pytest.raises(ExportError, match=r"site 's8': kind 'nser_registration_centre' is served by no partner"):
        P.partner_of(pd.DataFrame([{"site_id": "s8", "kind": "nser_registration_centre"}]))


def test_weighted_rows_expand_into_households_with_exact_amounts(households, sites):
    # h1: 25,001 PKR for 3 households: 8,334 + 8,334 + 8,333; h3 (unpaid) is left out
    heavy = households.assign(weight=np.int32(3))
    expanded = P.expand_weighted(heavy)
    h1 = expanded[expanded.household_id.str.startswith("h1~")]
    assert h1.household_id.tolist() == ["h1~1", "h1~2", "h1~3"]
    assert h1.amount_pkr.tolist() == [8_334, 8_334, 8_333]
    assert len(expanded) == 3 * 5 and (expanded.weight == 1).all()
    assert expanded.amount_pkr.sum() == heavy.amount_pkr.sum()
    pay = P.payments(heavy, sites, INSTALMENTS, KEY)
    assert pay.rows.amount_pkr.sum() + pay.unassigned.amount_pkr.sum() == heavy.amount_pkr.sum()
    with pytest.raises(ExportError, match="row 1 has weight 0"):
        P.expand_weighted(households.assign(weight=np.int32(0)))


def test_unknown_site_refused(households, sites):
    with pytest.raises(ExportError, match=r"row 1 \('h1'\) is sent to site 'zz'"):
        P.payments(households.assign(site_id=["zz", *households.site_id[1:]]), sites, INSTALMENTS, KEY)


def test_days_follow_site_capacity(households, sites):
    # s1 pays 1 household a day: h1 on day 0, h5 on day 1; instalment 2 starts on day 30
    pay = P.payments(households, sites.assign(payments_per_day=[1, 10, 10]), INSTALMENTS, KEY)
    s1 = pay.rows[pay.rows.site_id == "s1"]
    assert s1[["household_id", "instalment", "day"]].values.tolist() == [
        ["h1", 1, 0], ["h5", 1, 1], ["h1", 2, 30], ["h5", 2, 31]]


def _export(tmp_path, households, sites):
    paths = W.export(households, sites, INSTALMENTS, tmp_path / "pay")
    return tmp_path / "pay", paths


def test_export_files_safe(tmp_path, households, sites):
    folder, paths = _export(tmp_path, households, sites)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["bank_alfalah_instalment1.csv", "bank_alfalah_instalment2.csv", "hbl_instalment1.csv",
                     "hbl_instalment2.csv", "manifest.json", "payments.key", "summary.csv", "summary.json"]
    assert stat.S_IMODE(os.stat(folder / "payments.key").st_mode) == 0o600
    for name in names:
        if name.endswith(".csv"):
            text = (folder / name).read_text()
            for hid in households.household_id:  # pseudonyms are hex: no "h" in them
                assert hid not in text
    alfalah = (folder / "bank_alfalah_instalment1.csv").read_text()
    assert alfalah.splitlines()[0] == "Ref;Branch;BranchName;Amount;Tranche;ValueDay"
    assert "'=cmd|calc" in alfalah and "'=HYPERLINK" in alfalah
    assert "\n=" not in alfalah and ";=" not in alfalah
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "payments.key" not in manifest["outputs"] and manifest["key_file"] == "payments.key"
    # a re-export keeps the key, so the pseudonyms stay the same
    before = (folder / "hbl_instalment1.csv").read_text()
    W.export(households, sites, INSTALMENTS, folder)
    assert (folder / "hbl_instalment1.csv").read_text() == before
    # a folder holding other files is refused
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="notes.txt, which madad payments export does not write"):
        W.export(households, sites, INSTALMENTS, folder)


def _run_folder(tmp_path, households, sites):
    run = tmp_path / "run"
    run.mkdir()
    households.to_parquet(run / "households.parquet", index=False)
    plan = {"schema_version": "test", "totals": {}, "instalments": INSTALMENTS,
            "delivery": {"sites": sites.astype(object).where(sites.notna(), None).to_dict("records")}}
    (run / "plan.json").write_text(json.dumps(plan))
    return run


def test_round_trip_reconciles_by_site_district_province(tmp_path, households, sites):
    run = _run_folder(tmp_path, households, sites)
    W.export_run(run, tmp_path / "pay")
    W.simulate_return_files(tmp_path / "pay", tmp_path / "ret", failure_rate=0.3, missing_rate=0.3, seed=1)
    returns = sorted((tmp_path / "ret").glob("*_returns.csv"))
    assert len(returns) == 4
    rec, paths = W.reconcile_run(run, tmp_path / "pay", returns, tmp_path / "rec")
    st = rec.households
    assert set(st.status) <= set(P.STATUSES) and "unassigned" in set(st.status)
    assert len(rec.quarantine) == 0
    for table in (rec.national, rec.provinces, rec.districts, rec.sites):
        assert (table.paid_pkr + table.failed_pkr + table.unpaid_pkr == table.scheduled_pkr).all()
    total = rec.national[rec.national.instalment == 0].iloc[0]
    # scheduled: 12,500 (h1) + 12,500 (h2) + 5,000 (h5) + 10,000 (h6) = 40,000, then 40,001
    assert total.scheduled_pkr == 40_000 + 40_001 and total.unassigned_pkr == 30_000
    assert rec.sites.groupby("instalment").scheduled_pkr.sum().tolist() == [40_000, 40_001]
    assert rec.provinces.groupby("instalment").scheduled_pkr.sum().tolist() == [40_000, 40_001]
    # the status table matches the return files row by row
    assert (st.status == "failed").sum() == rec.failures.households.sum()
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == [
        "households_status.parquet", "manifest.json", "reconciliation.json", "reconciliation.xlsx"]
    sheets = pd.read_excel(tmp_path / "rec" / "reconciliation.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "provinces", "districts", "sites", "failures", "quarantine"]
    assert "'=cmd|calc" in set(sheets["sites"].site_id)
    saved = pd.read_parquet(tmp_path / "rec" / "households_status.parquet")
    assert list(saved.columns[:5]) == ["household_id", "instalment", "status", "reason", "amount_pkr"]


def test_tampered_returns_quarantined(tmp_path, households, sites):
    run = _run_folder(tmp_path, households, sites)
    W.export_run(run, tmp_path / "pay")
    W.simulate_return_files(tmp_path / "pay", tmp_path / "ret", failure_rate=0.0, missing_rate=0.0, seed=0)
    path = tmp_path / "ret" / "hbl_instalment1_returns.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(frame) == 2
    extra = pd.DataFrame([
        {**frame.iloc[0].to_dict()},  # duplicate row
        {**frame.iloc[0].to_dict(), "BENEFICIARY_REF": "000000-000000-000000-000000"},  # unknown
        {**frame.iloc[0].to_dict(), "INSTALMENT_NO": "3"},  # wrong instalment
        {**frame.iloc[0].to_dict(), "STATUS": "MAYBE"},  # unknown status (also a duplicate)
    ])
    frame.loc[1, "AMOUNT_PAID_PKR"] = "99"  # wrong amount
    pd.concat([frame, extra]).to_csv(path, index=False)
    rec, _ = W.reconcile_run(run, tmp_path / "pay", sorted((tmp_path / "ret").glob("*.csv")), tmp_path / "rec")
    q = rec.quarantine.set_index("line").reason.to_dict()
    assert q == {3: "amount_mismatch", 4: "duplicate_row", 5: "unknown_pseudonym", 6: "wrong_instalment",
                 7: "duplicate_row;unknown_status"}
    hbl1 = rec.households[(rec.households.partner_id == "hbl") & (rec.households.instalment == 1)]
    # the first row counts (paid); the row with the wrong amount leaves its household unpaid
    assert sorted(hbl1.status) == ["paid", "unpaid"]
    for table in (rec.national, rec.provinces, rec.districts, rec.sites):
        assert (table.paid_pkr + table.failed_pkr + table.unpaid_pkr == table.scheduled_pkr).all()
    body = json.loads((tmp_path / "rec" / "reconciliation.json").read_text())
    assert body["quarantine"]["rows"] == 5 and body["quarantine"]["by_reason"]["duplicate_row"] == 2


def test_malformed_return_file_named(tmp_path, households, sites):
    run = _run_folder(tmp_path, households, sites)
    W.export_run(run, tmp_path / "pay")
    bad = tmp_path / "hbl_instalment1_returns.csv"
    bad.write_text("BENEFICIARY_REF,INSTALMENT_NO,STATUS,REASON_CODE,AMOUNT_PAID_PKR,PAID_ON\n"
                   "abc,1,PAID,,12.5,2025-01-01\n")
    with pytest.raises(ExportError, match=r"line 2, column 'AMOUNT_PAID_PKR': '12.5' is not a whole number"):
        W.reconcile_run(run, tmp_path / "pay", [bad], tmp_path / "rec")
    bad.write_text("BENEFICIARY_REF,STATUS\nabc,PAID\n")
    with pytest.raises(ExportError, match=r"no column \['INSTALMENT_NO'"):
        W.reconcile_run(run, tmp_path / "pay", [bad], tmp_path / "rec")
    with pytest.raises(ExportError, match="not the key"):
        (tmp_path / "other.key").write_bytes(os.urandom(32))
        os.chmod(tmp_path / "other.key", 0o600)
        W.reconcile_run(run, tmp_path / "pay", [bad], tmp_path / "rec", key_file=tmp_path / "other.key")


def test_cli_end_to_end(tmp_path, households, sites):
    run = _run_folder(tmp_path, households, sites)
    app = typer.Typer()
    app.add_typer(payments_app, name="payments")
    runner = CliRunner()
    res = runner.invoke(app, ["payments", "export", str(run), "--out", str(tmp_path / "pay")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["payments", "simulate-returns", str(tmp_path / "pay"), "--out", str(tmp_path / "ret"),
                              "--failure-rate", "0.2", "--seed", "3"])
    assert res.exit_code == 0, res.output
    files = [str(p) for p in sorted((tmp_path / "ret").glob("*.csv"))]
    res = runner.invoke(app, ["payments", "reconcile", str(run), str(tmp_path / "pay"), *files,
                              "--out", str(tmp_path / "rec")])
    assert res.exit_code == 0, res.output
    assert "scheduled PKR 80,001 = paid" in res.output
    res = runner.invoke(app, ["payments", "export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "error:" in res.output


def test_site_without_households_needs_no_partner(households, sites):
    extra = pd.concat([sites, pd.DataFrame([{"site_id": "r1", "kind": "nser_registration_centre"}])])
    files = P.instructions(households, extra, INSTALMENTS, KEY)
    assert sorted(files) == [("bank_alfalah", 1), ("bank_alfalah", 2), ("hbl", 1), ("hbl", 2)]


def test_shipped_partner_tables():
    table = P.partners()
    assert {"hbl", "bank_alfalah", "bop", "mobilink_mfb", "telenor_mfb", "hbl_mfb"} <= set(table.partner_id)
    assert table.illustrative.all()
    for pid in table.partner_id:  # every schema loads and maps onto the closed reason list
        schema = P.load_schema(pid)
        assert set(schema["return"]["reason_codes"].values()) <= set(P.FAILURE_REASONS)
    assert list(P.failure_reasons().reason) == list(P.FAILURE_REASONS)
