"""The registry schema: column names, limits, the validation report and the validated registry.

Every other registry module builds on these names: :mod:`~simulator.registry.read` checks a
file's columns with :func:`check_columns`, :mod:`~simulator.registry.validation` fills a
:class:`ValidationReport` and returns a :class:`Registry`, :mod:`~simulator.registry.synthetic`
produces frames with :data:`COLUMNS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from hazards.errors import RegistryError

#: Columns a registry file must have.
REQUIRED = ["household_id", "lon", "lat", "district_id", "hh_size", "pmt_score"]
#: Boolean flags (enrolment in programmes and vulnerability categories).
FLAGS = [
    "enrolled_kafaalat",
    "enrolled_prov_uct",
    "enrolled_prov_cct",
    "female_headed",
    "disability",
]
#: Columns a registry file may have; absent ones get stated defaults.
OPTIONAL = ["province_code", "tehsil_id", *FLAGS, "housing", "children_under5", "weight"]
#: The columns of a validated registry, in order (also the columns written to files).
COLUMNS = [
    "household_id", "lon", "lat", "province_code", "district_id", "tehsil_id",
    "hh_size", "pmt_score", *FLAGS, "housing", "children_under5", "weight",
]
#: Housing categories, in code order (0 kacha, 1 pakka).
HOUSING = ["kacha", "pakka"]
#: Largest plausible household [persons].
MAX_HH_SIZE = 50
#: Column names that suggest a raw national identity number; such files are refused.
CNIC_COLUMN_NAMES = {"cnic", "cnic_no", "cnic_number", "nic", "national_id", "b_form"}
#: A value shaped like a CNIC (13 digits, optionally 5-7-1 with dashes).
CNIC_PATTERN = r"^\d{5}-?\d{7}-?\d$"


@dataclass
class ValidationReport:
    """What validation found in one registry file.

    Attributes
    ----------
    source
        Where the rows came from (a path, or a label).
    rows_read, rows_valid, rows_quarantined
        Row counts [rows]; ``rows_valid + rows_quarantined == rows_read`` for one file.
    reasons
        Rows flagged per reason code [rows]; a row may carry several codes.
    notes
        Sentences on defaults applied (e.g. an absent optional column).
    """

    source: str
    rows_read: int
    rows_valid: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The report as indented text lines (counts with thousands separators)."""
        lines = [
            f"{self.source}: {self.rows_read:,} rows read, {self.rows_valid:,} valid, "
            f"{self.rows_quarantined:,} quarantined"
        ]
        lines += [f"  {reason}: {n:,}" for reason, n in sorted(self.reasons.items())]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The report as a JSON-ready dict (reasons sorted by code)."""
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_quarantined": self.rows_quarantined,
            "reasons": dict(sorted(self.reasons.items())),
            "notes": self.notes,
        }


@dataclass
class Registry:
    """Validated households, the quarantined rows and the validation report."""

    households: pd.DataFrame
    quarantine: pd.DataFrame
    report: ValidationReport


def check_columns(frame: pd.DataFrame, source: str) -> None:
    """Refuse a frame that carries a raw CNIC column or lacks a required column.

    Parameters
    ----------
    frame
        Raw registry rows.
    source
        Where they came from, for the message.

    Raises
    ------
    RegistryError
        A column named like a CNIC (:data:`CNIC_COLUMN_NAMES`), or a column of
        :data:`REQUIRED` missing.
    """
    lowered = {c.lower() for c in frame.columns}
    cnic = sorted(lowered & CNIC_COLUMN_NAMES)
    if cnic:
        raise RegistryError(
            f"{source}: column {cnic[0]!r} looks like a raw CNIC. Madad never stores raw CNICs: "
            "replace it with a pseudonymous household_id (a keyed hash held by the data owner) "
            "and remove the column."
        )
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise RegistryError(
            f"{source}: required columns {missing} are missing. A registry needs "
            f"{REQUIRED}; optional: {OPTIONAL}."
        )
