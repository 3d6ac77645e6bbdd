"""Words and numbers on the page: the labels of both languages and the formats.

The labels are data, ``labels/en.json`` and ``labels/ur.json`` beside this module, with the
same keys in both (a test checks it); :func:`text` looks one up. Money is int64 PKR and
numbers keep Western digits in both languages; in Urdu, rupees are ``روپے`` and the short
forms use lakh, crore and arab (:mod:`simulator.publish.urdu` states the conventions), and
place names, scenario titles and programme names are Urdu where a table or the scenario
gives them. Nothing here imports Streamlit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from simulator.publish import urdu

# ---------------------------------------------------------------------------------------------
# Labels: one table per language, the same keys in each
# ---------------------------------------------------------------------------------------------

LANGUAGES = {"en": "English", "ur": "اردو"}
RTL = frozenset({"ur"})
LABEL_DIR = Path(__file__).resolve().parent / "labels"


def load_labels(folder: Path = LABEL_DIR) -> dict[str, dict[str, str]]:
    """The label tables of :data:`LANGUAGES`, read from ``labels/<lang>.json``."""
    return {lang: json.loads((folder / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


#: Label tables: language -> key -> template (``str.format`` fields in braces).
LABELS: dict[str, dict[str, str]] = load_labels()


def text(lang: str, key: str, **values: Any) -> str:
    """The label ``key`` in ``lang`` (``en`` or ``ur``), formatted with ``values``.

    Raises KeyError for an unknown key, so a missing translation fails the tests.
    """
    table = LABELS[lang if lang in LABELS else "en"]
    template = table[key]
    return template.format(**values) if values else template


# ---------------------------------------------------------------------------------------------
# Formats: money is int64 PKR, numbers keep Latin digits in both languages
# ---------------------------------------------------------------------------------------------

HIDDEN = "–"


def fmt_count(value: int | None) -> str:
    """A count with thousands separators: ``33,827`` (``–`` when hidden); the same in Urdu."""
    return HIDDEN if value is None else f"{int(value):,}"


def fmt_count_short(value: int | None, lang: str = "en") -> str:
    """A headline count: exact in English (``2,462,741``); in Urdu in lakh and crore
    (``24.6 لاکھ``, :func:`simulator.publish.urdu.count_ur`)."""
    if lang == "ur":
        return urdu.count_ur(value, hidden=HIDDEN)
    return fmt_count(value)


def fmt_pkr(value: int | None, lang: str = "en") -> str:
    """Rupees with thousands separators: ``PKR 58,700,000``; Urdu ``58,700,000 روپے``
    (``–`` when hidden)."""
    if lang == "ur":
        return urdu.pkr_exact_ur(value, hidden=HIDDEN)
    return HIDDEN if value is None else f"PKR {int(value):,}"


def _three_figures(x: float) -> str:
    """``11.6``, ``1.25``, ``828``: three significant figures, no trailing zeros."""
    if x == 0:
        return "0"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if digits else f"{x:,.0f}"


def fmt_pkr_short(value: int | None, lang: str = "en") -> str:
    """Rupees in words: ``PKR 11.6 billion``, ``PKR 58.7 million``; Urdu in lakh, crore and
    arab: ``11.6 ارب روپے``, ``5.87 کروڑ روپے`` (:func:`simulator.publish.urdu.pkr_ur`)."""
    if value is None:
        return HIDDEN
    if lang == "ur":
        return urdu.pkr_ur(value)
    value = int(value)
    for size, key in ((1_000_000_000, "billion"), (1_000_000, "million")):
        if abs(value) >= size:
            return text(lang, f"pkr_{key}", n=_three_figures(value / size))
    return text(lang, "pkr_plain", n=f"{value:,}")


def fmt_delta(value: int, money: bool, lang: str = "en") -> str | None:
    """A signed difference for st.metric, or None when there is none (Urdu: ``+5,000 روپے``,
    the signed number kept left-to-right)."""
    if value == 0:
        return None
    sign = "+" if value > 0 else "-"
    if lang == "ur":
        number = urdu.isolate(f"{sign}{abs(int(value)):,}")
        return f"{number} {urdu.RUPEES}" if money else number
    return f"{sign}{'PKR ' if money else ''}{abs(int(value)):,}"


UNIT_TEXT = {"m": "m", "mm": "mm", "degC": "°C", "g": "g", "m/s": "m/s", "index": ""}
#: Units in Urdu: the words Urdu weather and engineering reports use.
UNIT_TEXT_UR = {"m": "میٹر", "mm": "ملی میٹر", "degC": "°C", "g": "g", "m/s": "میٹر فی سیکنڈ",
                "index": "", "km": "کلومیٹر"}


def unit_text(units: str, lang: str = "en") -> str:
    """The units as the reader writes them (``m``; Urdu ``میٹر``)."""
    table = UNIT_TEXT_UR if lang == "ur" else UNIT_TEXT
    return table.get(units, UNIT_TEXT.get(units, units))


def fmt_value(value: float, units: str, lang: str = "en") -> str:
    """A hazard value with its units: ``0.5 m``, ``45 °C``, ``-1.5`` (an index); Urdu
    ``0.5 میٹر``."""
    unit = unit_text(units, lang)
    number = f"{value:g}"
    if lang == "ur" and value < 0:
        number = urdu.isolate(number)
    return f"{number} {unit}".strip()


# ---------------------------------------------------------------------------------------------
# Names from data: places, scenarios, programmes, the registry (Urdu where known)
# ---------------------------------------------------------------------------------------------


def province_name(lang: str, code: str | None, name: str | None = None) -> str:
    """A province or territory by its code (``SD``): ``Sindh``, Urdu ``سندھ``; ``name`` (else
    the code) when the Urdu table has none or in English."""
    if lang == "ur":
        found = urdu.province_ur(code)
        if found:
            return found
    if name:
        return name
    from hazards.tables import PROVINCES

    return PROVINCES.get(str(code), str(code or ""))


def district_name(lang: str, district_id: str | None, name: str | None = None) -> str:
    """A district by its id (``sd_dadu``): ``name`` in English, Urdu ``دادو`` from
    ``data/names_ur.csv`` (``name``, else the id, when the table has none)."""
    if lang == "ur":
        found = urdu.name_ur(district_id)
        if found:
            return found
    return name or str(district_id or "")


def scenario_title(lang: str, scn: Any) -> str:
    """A scenario's title (a :class:`simulator.scenario.Scenario` or its raw dict): its
    ``title_ur`` in Urdu when it has one."""
    get = scn.get if isinstance(scn, Mapping) else lambda k, d=None: getattr(scn, k, d)
    if lang == "ur" and get("title_ur"):
        return get("title_ur")
    return get("title") or get("name") or ""


def scenario_description(lang: str, scn: Any) -> str:
    """A scenario's description (``description_ur`` in Urdu when it has one)."""
    get = scn.get if isinstance(scn, Mapping) else lambda k, d=None: getattr(scn, k, d)
    if lang == "ur" and get("description_ur"):
        return get("description_ur")
    return get("description") or ""


def hazard_name(lang: str, spec: Any) -> str:
    """A scenario's hazard by its label (``river-flood``); in Urdu by its kind (``دریائی سیلاب``)
    when the label is the kind's or a plain English name, the label otherwise."""
    label = getattr(spec, "label", None) or getattr(spec, "name", None) or getattr(spec, "kind", "") or ""
    kind = getattr(spec, "kind", None)
    if lang != "en" and kind and f"kind_{kind}" in LABELS[lang]:
        return text(lang, f"kind_{kind}")
    return str(label)


#: A campsite's name or id: ``camp_<province>_<k>`` (``_r<round>_<k>`` when re-sited), or the
#: delivery plan's ``Campsite <province> <k> (<n> campsites)``.
_CAMPSITE = re.compile(r"(?:camp_|Campsite )(?P<province>[A-Z]+)[_ ](?:r(?P<round>\d+)[_ ])?(?P<k>\d+)"
                       r"(?: \((?P<n>\d+) campsites\))?")
#: A site of the illustrative table: ``<kind's words> <place> <k> (illustrative)``.
_NUMBERED = re.compile(r".*?(?: (?P<k>\d+))?(?P<illustrative> \(illustrative\))?")


def site_name(lang: str, site: Mapping[str, Any]) -> str:
    """A delivery site's or campsite's name in ``lang``. In Urdu, a campsite and a site of a
    known kind (:data:`simulator.plans.sites` kinds, ``sk_<kind>`` labels) are named from their
    parts, as the English names are made: the kind, the place (the province of a regional
    office or campsite, else the district), the site's number and "illustrative" for the
    illustrative table's; a site of a kind without a label keeps the name it was given (a
    user's own table)."""
    name = str(site.get("name") or site.get("site_id") or site.get("campsite_id") or "")
    if lang != "ur":
        return name
    camp = _CAMPSITE.fullmatch(name) or _CAMPSITE.fullmatch(str(site.get("campsite_id") or ""))
    if camp:
        out = f"{text(lang, 'sk_campsite')} {province_name(lang, camp['province'])} {camp['k']}"
        if camp["round"]:
            out += " " + text(lang, "site_round", n=camp["round"])
        return out + (" " + text(lang, "site_campsites", n=camp["n"]) if camp["n"] else "")
    kind = str(site.get("kind") or "")
    if "sk_" + kind not in LABELS["en"]:
        return name
    if kind in ("bisp_headquarters", "bisp_regional_office"):
        place = province_name(lang, site.get("province_code"))
        if kind == "bisp_headquarters":
            place = district_name(lang, site.get("district_id")) or place
    else:
        place = district_name(lang, site.get("district_id"))
    parts = _NUMBERED.fullmatch(name)
    out = " ".join(x for x in (text(lang, "sk_" + kind), place, parts["k"] if parts else None) if x)
    return out + (" " + text(lang, "site_illustrative") if parts and parts["illustrative"] else "")


def programme_name(lang: str, programme: Any) -> str:
    """A programme's name (a scenario's :class:`simulator.scenario.Programme` or a plan's
    programme dict): its ``name_ur`` in Urdu when it has one, else the name it was given."""
    get = programme.get if isinstance(programme, Mapping) else lambda k, d=None: getattr(programme, k, d)
    if lang == "ur" and get("name_ur"):
        return get("name_ur")
    return get("name") or ""


def programme_names_ur(scn: Any) -> dict[str, str]:
    """English programme name -> Urdu name, of a scenario's programmes that have one."""
    progs = scn.policy.programmes if hasattr(scn, "policy") else scn.get("policy", {}).get("programmes", [])
    out = {}
    for p in progs:
        name, name_ur = (p.name, p.name_ur) if hasattr(p, "name") else (p.get("name"), p.get("name_ur"))
        if name_ur:
            out[name] = name_ur
    return out


def rule_name(lang: str, rule: str) -> str:
    """A cost-sharing rule in words (``fixed`` -> ``fixed shares``), the rule itself when unknown."""
    table = LABELS[lang if lang in LABELS else "en"]
    return table.get("rule_" + rule, rule) if rule else ""


#: Words of a policy change (:class:`simulator.plans.policy.Change`) by the end of its field.
_CHANGE_WORDS = {
    ("pmt_max",): "chg_pmt_max",
    ("threshold",): "chg_affected_from",
    ("tiers", "affected"): "chg_affected_from",
    ("tiers", "severely_affected"): "chg_severe_from",
    ("tiers", "displaced"): "chg_displaced_from",
    ("cost_sharing", "federal_share"): "chg_federal_share",
    ("cost_sharing", "rule"): "chg_cost_rule",
    ("cost_sharing", "key"): "cs_key",
    ("budget", "federal_pkr"): "chg_federal_budget",
    ("policy", "poverty_line_pmt"): "chg_poverty_line",
    ("transfer", "by_tier_pkr", "affected"): "chg_transfer_affected",
    ("transfer", "by_tier_pkr", "severely_affected"): "chg_transfer_severe",
    ("transfer", "by_tier_pkr", "displaced"): "chg_transfer_displaced",
}


def _change_value(lang: str, field: str, value: Any) -> str:
    if value is None:
        return text(lang, "chg_none")
    if isinstance(value, bool):
        return text(lang, "chg_yes" if value else "chg_no")
    if isinstance(value, int | float) and (field.endswith("_pkr") or "_pkr." in field):
        return fmt_pkr(int(value), lang)
    if isinstance(value, float) and field.endswith("share"):
        return f"{value:.0%}" if round(value * 100, 6) == round(value * 100) else f"{value:.2%}"
    if field.endswith("cost_sharing.rule"):
        return rule_name(lang, str(value))
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def changes_text(lang: str, changes: Sequence[Mapping[str, Any]], scn: Any = None) -> str:
    """The policy's changes from the library file, in one line: the plan's own English text
    (``change["text"]``), or in Urdu from each change's field and values, programmes by their
    ``name_ur`` (``scn``'s); a field with no Urdu words keeps the English text."""
    if lang == "en":
        return "; ".join(c["text"] for c in changes)
    names = programme_names_ur(scn) if scn is not None else {}
    out = []
    for c in changes:
        field = c.get("field", "")
        parts = field.split(".")
        owner = ""
        if len(parts) > 1 and parts[0] == "policy" and parts[1].startswith("programmes["):
            owner = c.get("label", "").split(":", 1)[0]
            owner = names.get(owner, owner)
            parts = parts[2:]
        elif parts[0].startswith("hazards["):
            parts = parts[1:]
        key = next((k for words, k in _CHANGE_WORDS.items() if tuple(parts[-len(words):]) == words), None)
        if key is None:
            out.append(c.get("text", field))
            continue
        what = text(lang, key)
        out.append(text(lang, "chg_line", what=f"{owner}: {what}" if owner else what,
                        active=_change_value(lang, field, c.get("active")),
                        library=_change_value(lang, field, c.get("library"))))
    return "؛ ".join(out)


def boundary_attribution(lang: str) -> str:
    """The shipped boundaries' credit (ODbL asks for it wherever they are drawn): the English
    of :data:`hazards.tables.BOUNDARY_ATTRIBUTION`, or in Urdu around the same credit
    ("© OpenStreetMap contributors (ODbL)" stays verbatim, as the licence wants it)."""
    from hazards.tables import BOUNDARY_ATTRIBUTION

    if lang == "en":
        return BOUNDARY_ATTRIBUTION
    credit, _, via = BOUNDARY_ATTRIBUTION.removeprefix("Boundaries ").partition(", via ")
    return text(lang, "map_boundaries_credit", credit=credit, via=via)


_SYNTHETIC = re.compile(r"^synthetic registry \(([\d,]+) households, seed (\d+)\)$")


def registry_source_text(lang: str, source: str) -> str:
    """Where the households come from, as the plan records it: a file's name, or
    ``synthetic registry (20,000 households, seed 7)`` (in words in Urdu)."""
    m = _SYNTHETIC.match(source or "")
    if m and lang != "en":
        return text(lang, "registry_source_synthetic", n=m.group(1), seed=m.group(2))
    return source



# ---------------------------------------------------------------------------------------------
# Comparison of plans held in memory
# ---------------------------------------------------------------------------------------------

#: Rows of the comparison: (label key, where in the plan, money?).
COMPARE_ROWS = (
    ("f_affected_households", ("totals", "affected_households"), False),
    ("f_affected_people", ("totals", "affected_people"), False),
    ("f_eligible_households", ("totals", "eligible_households"), False),
    ("f_paid_households", ("totals", "paid_households"), False),
    ("f_amount_pkr", ("totals", "amount_pkr"), True),
    ("f_federal_pkr", ("totals", "federal_pkr"), True),
    ("f_provincial_pkr", ("totals", "provincial_pkr"), True),
    ("f_dedup_savings_pkr", ("totals", "dedup_savings_pkr"), True),
    ("f_over_budget_households", ("totals", "over_budget_households"), False),
    ("f_budget_shortfall_pkr", ("totals", "budget_shortfall_pkr"), True),
    ("f_affected_poor_unpaid_households", ("totals", "affected_poor_unpaid_households"), False),
)


def compare_table(plans: Sequence[dict], labels: Sequence[str], lang: str) -> pd.DataFrame:
    """National figures of two to four plans side by side, with each one's difference from the
    first (exact integers; money as ``PKR 1,234``)."""
    rows = []
    first = plans[0]
    for key, (section, name), money in COMPARE_ROWS:
        fmt = (lambda v: fmt_pkr(v, lang)) if money else fmt_count
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fmt(p[section][name])
        for label, p in zip(labels[1:], plans[1:], strict=True):
            diff = int(p[section][name]) - int(first[section][name])
            row[text(lang, "c_diff", label=label)] = "0" if diff == 0 else (
                ("+" if diff > 0 else "-") + fmt(abs(diff)))
        rows.append(row)
    policy = {
        "c_programmes": lambda p: "، ".join(programme_name(lang, prog) for prog in p.get("programmes", []))
        if lang == "ur" else ", ".join(prog["name"] for prog in p.get("programmes", [])),
        "c_cost_rule": lambda p: rule_name(lang, p.get("cost_sharing", {}).get("rule", "")),
    }
    for key, fn in policy.items():
        row = {text(lang, "c_figure"): text(lang, key)}
        for label, p in zip(labels, plans, strict=True):
            row[label] = fn(p)
        for label, p in zip(labels[1:], plans[1:], strict=True):
            row[text(lang, "c_diff", label=label)] = "" if fn(p) == fn(first) else text(lang, "c_changed")
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Tables for display (hidden cells shown as "–")
# ---------------------------------------------------------------------------------------------

TABLE_FIGURES = ("affected_households", "affected_people", "paid_households", "amount_pkr",
                 "federal_pkr", "provincial_pkr")


def place_cell(lang: str, key: str, rec: Mapping[str, Any]) -> Any:
    """The cell ``key`` of a plan row, with places named in ``lang``: ``province`` and
    ``district`` by their codes, ``district_id`` as the district's name, ``tehsil_id`` as the
    tehsil's census name (no Urdu table of tehsils exists yet: it stays in Latin letters)."""
    value = rec.get(key, "")
    if key == "province":
        return province_name(lang, rec.get("province_code"), value)
    if key == "district":
        return district_name(lang, rec.get("district_id"), value)
    if key == "district_id" and lang == "ur":
        return district_name(lang, value, rec.get("district") or value)
    if key == "tehsil_id" and isinstance(value, str) and "__" in value:
        return rec.get("tehsil") or value.split("__", 1)[1].replace("_", " ").title()
    return value


def display_table(records: Sequence[Mapping[str, Any]], keys: Sequence[str], lang: str,
                  figures: Sequence[str] = TABLE_FIGURES) -> pd.DataFrame:
    """Rows of a plan level as text cells: counts ``1,234``, money ``PKR 1,234``, hidden ``–``."""
    out = []
    for rec in records:
        row = {text(lang, "col_" + k): place_cell(lang, k, rec) for k in keys}
        for f in figures:
            v = rec.get(f)
            row[text(lang, "f_" + f)] = fmt_pkr(v, lang) if f.endswith("_pkr") else fmt_count(v)
        out.append(row)
    columns = [text(lang, "col_" + k) for k in keys] + [text(lang, "f_" + f) for f in figures]
    return pd.DataFrame(out, columns=columns)


def small_cells_shown(frame: pd.DataFrame, k: int) -> list[tuple[int, str, int]]:
    """(row, column, value) of every household-count cell of a display table in 1..k-1 (a
    disclosure check for tests: a minister's tables must return [])."""
    found = []
    for col in frame.columns:
        for i, v in enumerate(frame[col].tolist()):
            if isinstance(v, str) and v.replace(",", "").isdigit():
                n = int(v.replace(",", ""))
                if 0 < n < k:
                    found.append((i, str(col), n))
    return found
