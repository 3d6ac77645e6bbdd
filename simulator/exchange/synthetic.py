"""A synthetic pair of registries with known true links, and scoring of a linkage against them.

:func:`synthetic_registries` draws people with Pakistani names (``data/linkage_names.csv``),
copies a share of them into a second registry with the errors of :class:`Corruption`, and
returns both with the truth; :func:`evaluate` gives precision, recall and F1 of
:func:`~simulator.exchange.matching.link`'s output (see ``benchmarks/linkage.py``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hazards import tables as data
from hazards.errors import DataFileError, LinkageError
from simulator.exchange.names import _read_table, _variants

__all__ = ["Corruption", "SyntheticLinkageSet", "evaluate", "synthetic_registries"]

#: Commonness of names: the r-th name of its kind in data/linkage_names.csv is drawn with weight
#: 1 / r ** NAME_ZIPF (assumption).
NAME_ZIPF = 0.8
#: Shares of male heads named "Muhammad <name>", of names with a family name, of women named
#: "<name> Bibi" / "<name> Begum", of women recorded with their husband's name, of persons who
#: are a sibling of an earlier one (same father, district, family name; hard non-matches).
#: All assumptions chosen to look like registry data, not measured.
P_MUHAMMAD = 0.35
P_FAMILY_NAME = 0.55
P_BIBI = 0.20
P_BEGUM = 0.10
P_HUSBAND = 0.70
P_SIBLING = 0.15
#: Birth years of heads of household (uniform; assumption).
BIRTH_YEARS = (1945, 2005)


@dataclass(frozen=True)
class Corruption:
    """How the second registry's copy of a shared person differs (each independently).

    Every rate is an assumption for the benchmark, not a measured registry error rate.
    """

    #: Chance that a word with spelling variants is written in another one (in each registry).
    variant: float = 0.35
    #: Chance of one typo (insert, delete, substitute or transpose) in the name.
    name_typo: float = 0.15
    #: Chance of one typo in the father's/husband's name.
    father_typo: float = 0.10
    #: Chance that day and month of birth are swapped (when the day is 12 or less).
    swap_day_month: float = 0.05
    #: Chance that the father's/husband's name is missing.
    missing_father: float = 0.05
    #: Chance that the birth year is off by one.
    year_off: float = 0.02
    #: Chance that only the birth year is known and the date is written as 1 January.
    first_of_january: float = 0.02


@dataclass
class SyntheticLinkageSet:
    """Two synthetic registries and the true links between them."""

    left: pd.DataFrame
    right: pd.DataFrame
    truth: pd.DataFrame  # left_id, right_id


@functools.cache
def _names() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    table = _read_table("linkage_names.csv", ["kind", "name"])
    out = {}
    for kind in ("male", "female", "family"):
        names = table.name[table.kind == kind].str.strip().str.lower().to_numpy(dtype=object)
        if len(names) == 0:
            raise DataFileError(f"data/linkage_names.csv: no names of kind {kind!r}.")
        weights = 1.0 / np.arange(1, len(names) + 1) ** NAME_ZIPF
        out[kind] = (names, weights / weights.sum())
    return out


@functools.cache
def _spellings() -> dict[str, list[str]]:
    """Canonical word -> the ways it is written (from the variant table)."""
    t = _variants().table
    ways: dict[str, set[str]] = {}
    for kind, variant, canonical in t[["kind", "variant", "canonical"]].itertuples(index=False):
        if kind in ("token", "phrase"):
            ways.setdefault(canonical, {canonical}).add(variant)
    return {k: sorted(v) for k, v in ways.items()}


@functools.cache
def _endings() -> list[tuple[str, list[str]]]:
    """Canonical word ending -> other ways to write it (suffix, attached or phrase forms)."""
    t = _variants().table
    ways: dict[str, set[str]] = {}
    for kind, variant, canonical in t[["kind", "variant", "canonical"]].itertuples(index=False):
        if kind == "suffix":
            ways.setdefault(canonical, set()).add(variant)
        elif kind in ("attach", "phrase") and canonical in set(t.canonical[t.kind == "attach"]):
            ways.setdefault(canonical, set()).add(" " + variant)
    return sorted(((k, sorted(v)) for k, v in ways.items()), key=lambda p: -len(p[0]))


def _spell(word: str, rng: np.random.Generator) -> str:
    options = set(_spellings().get(word, [word]))
    for ending, forms in _endings():
        if len(word) > len(ending) and word.endswith(ending):
            options |= {word[: -len(ending)] + f for f in forms}
            break
    options.add(word)
    ordered = sorted(options)
    return ordered[int(rng.integers(len(ordered)))]


def _render(canonical: str, rng: np.random.Generator, p_variant: float, upper: bool) -> str:
    words = [_spell(w, rng) if rng.random() < p_variant else w for w in canonical.split()]
    text = " ".join(words)
    return text.upper() if upper else text.title()


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(text: str, rng: np.random.Generator) -> str:
    """One insertion, deletion, substitution or transposition inside a random word."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 3]
    if not candidates:
        return text
    i = candidates[int(rng.integers(len(candidates)))]
    w = words[i]
    kind = int(rng.integers(4))
    p = int(rng.integers(1, len(w) - 1))  # keep the first letter and the last
    letter = _LETTERS[int(rng.integers(26))]
    if w.isupper():
        letter = letter.upper()
    if kind == 0:
        w = w[:p] + letter + w[p:]
    elif kind == 1:
        w = w[:p] + w[p + 1:]
    elif kind == 2:
        w = w[:p] + (letter if letter.lower() != w[p].lower() else ("b" if w[p] in "aA" else "a")) + w[p + 1:]
    else:
        w = w[:p] + w[p + 1] + w[p] + w[p + 2:]
    words[i] = w
    return " ".join(words)


def _draw(kind: str, rng: np.random.Generator) -> str:
    names, weights = _names()[kind]
    return str(names[rng.choice(len(names), p=weights)])


def _male_name(rng: np.random.Generator, family: str | None, given: str | None = None) -> str:
    parts = ["muhammad"] if rng.random() < P_MUHAMMAD else []
    parts.append(given or _draw("male", rng))
    if family:
        parts.append(family)
    return " ".join(dict.fromkeys(parts))


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Canonical records of ``n`` synthetic people (names in canonical spelling)."""
    table = data.districts()
    share = table.households_2023.to_numpy(float)
    district = table.district_id.to_numpy()[rng.choice(len(table), size=n, p=share / share.sum())]
    rows = []
    start = np.datetime64(f"{BIRTH_YEARS[0]}-01-01")
    span = (np.datetime64(f"{BIRTH_YEARS[1]}-12-31") - start).astype(int)
    for i in range(n):
        sibling = i > 0 and rng.random() < P_SIBLING
        female = rng.random() < 0.5
        if sibling:
            j = int(rng.integers(i))
            family, father, dist = rows[j]["family"], rows[j]["father"], rows[j]["district_id"]
            apart = int(rng.integers(300, 10 * 365)) * (1 if rng.random() < 0.5 else -1)
            born = rows[j]["born"] + np.timedelta64(apart, "D")
            married = False
        else:
            family = _draw("family", rng) if rng.random() < P_FAMILY_NAME else None
            father = _male_name(rng, family)
            dist = district[i]
            born = start + np.timedelta64(int(rng.integers(span)), "D")
            married = female and rng.random() < P_HUSBAND
        avoid = rows[j]["given"] if sibling else None
        given = _draw("female" if female else "male", rng)
        while given == avoid:
            given = _draw("female" if female else "male", rng)
        if female:
            parts = [given]
            u = rng.random()
            if u < P_BIBI:
                parts.append("bibi")
            elif u < P_BIBI + P_BEGUM:
                parts.append("begum")
            elif family and rng.random() < 0.5:
                parts.append(family)
            name = " ".join(parts)
            recorded_father = _male_name(rng, family) if married else father
        else:
            name = _male_name(rng, family, given)
            recorded_father = father
        rows.append({"name": name, "given": given, "father": father,
                     "father_name": recorded_father,
                     "family": family, "district_id": dist, "born": born})
    return pd.DataFrame(rows)


def _registry(
    people: pd.DataFrame, ids: list[str], rng: np.random.Generator, corruption: Corruption,
    *, corrupt: bool, upper_share: float,
) -> pd.DataFrame:
    names, fathers, dobs = [], [], []
    for person in people.itertuples(index=False):
        upper = rng.random() < upper_share
        name = _render(person.name, rng, corruption.variant, upper)
        father = _render(person.father_name, rng, corruption.variant, upper)
        born = pd.Timestamp(person.born)
        y, m, d = born.year, born.month, born.day
        if corrupt:
            if rng.random() < corruption.name_typo:
                name = _typo(name, rng)
            if rng.random() < corruption.father_typo:
                father = _typo(father, rng)
            if rng.random() < corruption.missing_father:
                father = None
            if d <= 12 and d != m and rng.random() < corruption.swap_day_month:
                m, d = d, m
            if rng.random() < corruption.year_off:
                y += 1 if rng.random() < 0.5 else -1
            if rng.random() < corruption.first_of_january:
                m, d = 1, 1
        names.append(name)
        fathers.append(father)
        dobs.append(f"{y:04d}-{m:02d}-{d:02d}")
    return pd.DataFrame(
        {
            "household_id": pd.array(ids, dtype="string"),
            "name": pd.array(names, dtype="string"),
            "father_name": pd.array(fathers, dtype="string"),
            "dob": pd.array(dobs, dtype="string"),
            "district_id": pd.array(people.district_id.to_numpy(), dtype="string"),
        }
    )


def synthetic_registries(
    n_left: int = 3_000,
    n_right: int = 3_000,
    *,
    overlap: float = 0.5,
    seed: int = 0,
    corruption: Corruption | None = None,
    parties: tuple[str, str] = ("nser", "pser"),
) -> SyntheticLinkageSet:
    """Two registries of synthetic people sharing ``overlap * min(n_left, n_right)`` of them.

    Method: people get a district (drawn on 2023 census household shares), a sex, a given name
    and, for some, "Muhammad", a family name, "Bibi" or "Begum" (``data/linkage_names.csv``,
    drawn with Zipf weights), a father's name or, for most women, a husband's name, and a date of
    birth. Some are siblings of an earlier person (same father, family name and district, born
    300 days to 10 years apart, another given name): hard
    non-matches. Each registry writes each name in its own spelling
    (variants of ``data/linkage_variants.csv``, title or upper case). The right registry's copy
    of a shared person is also corrupted as :class:`Corruption` says (typos, swapped day/month,
    missing father's name, birth year off by one, date written as 1 January). Ids are ``<party>-<7 digits>`` in shuffled
    order, so they tell nothing about who is shared.

    Returns
    -------
    SyntheticLinkageSet
        ``left``, ``right`` (columns as :func:`encode` reads them) and ``truth`` (``left_id``,
        ``right_id`` of every shared person).
    """
    if not 0 <= overlap <= 1:
        raise LinkageError(f"overlap must be between 0 and 1, got {overlap}.")
    corruption = corruption or Corruption()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    shared = round(overlap * min(n_left, n_right))
    people = _people(n_left + n_right - shared, rng)
    left_people = people.iloc[:n_left]
    right_people = pd.concat([people.iloc[:shared], people.iloc[n_left:]], ignore_index=True)
    left_slot = rng.permutation(n_left)
    right_slot = rng.permutation(n_right)
    left_ids = [f"{parties[0]}-{s:07d}" for s in left_slot]
    right_ids = [f"{parties[1]}-{s:07d}" for s in right_slot]
    left = _registry(left_people, left_ids, rng, corruption, corrupt=False, upper_share=0.0)
    right = _registry(right_people, right_ids, rng, corruption, corrupt=True, upper_share=0.5)
    truth = pd.DataFrame(
        {"left_id": left.household_id[:shared].to_numpy(),
         "right_id": right.household_id[:shared].to_numpy()}
    )
    left = left.iloc[np.argsort(left_slot)].reset_index(drop=True)
    right = right.iloc[np.argsort(right_slot)].reset_index(drop=True)
    return SyntheticLinkageSet(left, right, truth.astype("string"))


def evaluate(pairs: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float | int]:
    """Precision, recall and F1 of linked ``pairs`` against the ``truth`` (both with
    ``left_id`` and ``right_id``)."""
    found = pairs[["left_id", "right_id"]].astype(str).merge(
        truth[["left_id", "right_id"]].astype(str), how="inner"
    )
    tp = len(found)
    precision = tp / len(pairs) if len(pairs) else 1.0
    recall = tp / len(truth) if len(truth) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_links": len(truth), "links": len(pairs), "true_positives": tp,
        "precision": precision, "recall": recall, "f1": f1,
    }
