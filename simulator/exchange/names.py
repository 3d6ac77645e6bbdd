"""Name normalisation for record linkage: Urdu names written in Latin letters, in one spelling.

:func:`normalise_name` lower-cases, drops accents and punctuation, collapses spaces and maps
the spelling variants of ``data/linkage_variants.csv`` (Muhammad/Mohammad/Md, Bibi/Bi Bi,
Ahmad/Ahmed, -ullah/-ulla, ...) to one form. :func:`_soundex` and :func:`_block_word` give the
phonetic block key of a name (:mod:`simulator.exchange.encoding`, blocking pass 2).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd

from hazards import tables as data
from hazards.errors import DataFileError

__all__ = ["normalise_name"]

_VARIANT_KINDS = ("token", "phrase", "suffix", "attach", "common")


def _read_table(name: str, required: list[str]) -> pd.DataFrame:
    path = data.data_dir() / name
    if not path.exists():
        raise DataFileError(
            f"{path}: missing. It ships with the repository; restore it with "
            f"`git checkout -- data/{name}`."
        )
    table = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    absent = [c for c in required if c not in table.columns]
    if absent:
        raise DataFileError(f"{path}: columns {absent} are missing; expected {required}.")
    return table


@dataclass(frozen=True)
class _Variants:
    tokens: dict[str, str]
    phrases: re.Pattern[str] | None
    phrase_map: dict[str, str]
    suffixes: list[tuple[str, str]]
    attach: dict[str, str]
    common: frozenset[str]
    digest: str
    table: pd.DataFrame = field(repr=False)


@functools.cache
def _variants() -> _Variants:
    """The spelling-variant table ``data/linkage_variants.csv``, compiled."""
    table = _read_table("linkage_variants.csv", ["kind", "variant", "canonical"])
    table = table.apply(lambda c: c.str.strip().str.lower())
    unknown = sorted(set(table.kind) - set(_VARIANT_KINDS))
    if unknown:
        raise DataFileError(
            f"data/linkage_variants.csv: unknown kind(s) {unknown}; use one of {_VARIANT_KINDS}."
        )
    by = {kind: table[table.kind == kind] for kind in _VARIANT_KINDS}
    phrases = sorted(zip(by["phrase"].variant, by["phrase"].canonical, strict=True),
                     key=lambda p: -len(p[0]))
    digest = hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()[:16]
    return _Variants(
        tokens=dict(zip(by["token"].variant, by["token"].canonical, strict=True)),
        phrases=re.compile("|".join(rf"\b{re.escape(v)}\b" for v, _ in phrases))
        if phrases else None,
        phrase_map=dict(phrases),
        suffixes=sorted(zip(by["suffix"].variant, by["suffix"].canonical, strict=True),
                        key=lambda p: -len(p[0])),
        attach=dict(zip(by["attach"].variant, by["attach"].canonical, strict=True)),
        common=frozenset(by["common"].canonical),
        digest=digest,
        table=table,
    )


_NOT_LETTER = re.compile(r"[^\w ]|[\d_]")
_APOSTROPHES = re.compile(r"['\u2019`]")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=1 << 16)
def normalise_name(text: str | None) -> str:
    """A name in the canonical form that is encoded.

    Lower-case; accents dropped; apostrophes removed; other punctuation, digits and hyphens become
    spaces; runs of spaces collapse; then the variants of ``data/linkage_variants.csv`` apply:
    phrases (``bi bi`` -> ``bibi``), whole words (``mohd`` -> ``muhammad``), word endings
    (``abdulla`` -> ``abdullah``) and words joined to the one before (``rehmat ullah`` ->
    ``rehmatullah``).

    >>> normalise_name("Mohd. Rehmat-Ulla  KHAAN")
    'muhammad rehmatullah khan'
    """
    if text is None or (isinstance(text, float) and text != text) or text is pd.NA:
        return ""
    v = _variants()
    text = str(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", text.lower())
    text = _SPACES.sub(" ", _NOT_LETTER.sub(" ", text)).strip()
    if v.phrases is not None:
        text = v.phrases.sub(lambda match: v.phrase_map[match.group(0)], text)
    words: list[str] = []
    for word in text.split(" "):
        if not word:
            continue
        if word in v.attach and words:
            words[-1] += v.attach[word]
            continue
        word = v.tokens.get(word, word)
        for ending, canonical in v.suffixes:
            if len(word) > len(ending) and word.endswith(ending):
                word = word[: -len(ending)] + canonical
                break
        words.append(word)
    return " ".join(words)


_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


def _soundex(word: str) -> str:
    """American Soundex of a word (letter + three digits); empty for an empty word."""
    if not word:
        return ""
    codes = word.translate(_SOUNDEX)
    out = [word[0]]
    last = codes[0]
    for ch, code in zip(word[1:], codes[1:], strict=True):
        if code.isdigit() and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
    return ("".join(out) + "000")[:4]


def _block_word(canonical: str) -> str:
    """The first word of a normalised name that is not a common one (else its first word)."""
    words = canonical.split()
    common = _variants().common
    for word in words:
        if word not in common:
            return word
    return words[0] if words else ""

