"""The household registry: schema, reading, validation with quarantine, a synthetic generator, merging.

Schema (one row per household; a raw CNIC is never a column)

=====================  ========  ==========================================================
column                 type      meaning
=====================  ========  ==========================================================
``household_id``       string    pseudonymous household id (e.g. a keyed hash); never a CNIC
``lon``, ``lat``       float64   location, EPSG:4326 degrees
``province_code``      category  PB, SD, KP, BA or IS; derived from the district if absent
``district_id``        category  2023 census district code, e.g. ``sd_dadu`` (data/districts.csv)
``tehsil_id``          category  tehsil code where known, else missing (optional)
``hh_size``            int16     persons in the household, 1 to 50
``pmt_score``          float32   proxy means test score, 0 (poorest) to 100
``enrolled_kafaalat``  bool      BISP Kafaalat beneficiary
``enrolled_prov_uct``  bool      in the province's unconditional cash programme
``enrolled_prov_cct``  bool      in the province's conditional cash programme
``female_headed``      bool      household headed by a woman
``disability``         bool      a member with a disability
``housing``            category  ``kacha`` (mud/unfired brick) or ``pakka`` (fired brick/concrete)
``children_under5``    int16     children under five in the household (optional, default 0)
``weight``             int32     households this row stands for (optional, default 1): 1 in a
                                 real registry; in a synthetic sample, NSER households per row
=====================  ========  ==========================================================

Files: GeoParquet (a WKB ``geometry`` point column plus ``lon``/``lat``; plain Parquet with
``lon``/``lat`` is accepted too) and CSV with a header row; or a partitioned dataset, a folder
of GeoParquet parts by province (``DIR/province_code=SD/part-00000.parquet``) with a
``_dataset.json`` listing them, read and validated as one registry.

The flow, one module each:

===============  ================================================================================
``schema``       columns, limits, :class:`ValidationReport`, :class:`Registry`, CNIC column names
``read``         :func:`read_raw`, :func:`load` (read then validate), :func:`write` (GeoParquet/CSV)
``partitioned``  :func:`write_partitioned`, :func:`is_dataset`, :func:`parts`, :func:`read_dataset`:
                 folders of GeoParquet parts by province, written one chunk at a time
``validation``   :func:`validate`: named vectorized checks, the quarantine and the report;
                 :func:`province_of_districts`: each district's province
``synthetic``    :func:`generate`, :func:`generate_chunks`: the synthetic registry and its parameters
``merging``      :func:`read_links`, :func:`merge`: federal and provincial registries together
``boundaries``   district polygons for maps and code checks
===============  ================================================================================

Every public name is re-exported here, so ``from simulator import registry`` and
``registry.load(...)`` keep working.
"""

from simulator.registry.merging import SOURCES, merge, read_links
from simulator.registry.partitioned import (
    ROWS_PER_PART,
    is_dataset,
    parts,
    read_dataset,
    write_partitioned,
)
from simulator.registry.read import load, read_raw, write
from simulator.registry.schema import (
    CNIC_COLUMN_NAMES,
    COLUMNS,
    FLAGS,
    HOUSING,
    MAX_HH_SIZE,
    OPTIONAL,
    REQUIRED,
    Registry,
    ValidationReport,
)
from simulator.registry.synthetic import (
    HOUSEHOLDS_PER_VILLAGE,
    KAFAALAT_PMT_CUTOFF,
    KAFAALAT_TAKEUP,
    KM_PER_DEG,
    P_DISABILITY,
    P_FEMALE_HEADED,
    P_UNDER_FIVE,
    PMT_CONCENTRATION,
    PMT_MEAN,
    PMT_SHIFT,
    URBAN_DENSITY,
    district_counts,
    generate,
    generate_chunks,
)
from simulator.registry.validation import province_of_districts, validate

__all__ = [
    "CNIC_COLUMN_NAMES",
    "COLUMNS",
    "FLAGS",
    "HOUSEHOLDS_PER_VILLAGE",
    "HOUSING",
    "KAFAALAT_PMT_CUTOFF",
    "KAFAALAT_TAKEUP",
    "KM_PER_DEG",
    "MAX_HH_SIZE",
    "OPTIONAL",
    "PMT_CONCENTRATION",
    "PMT_MEAN",
    "PMT_SHIFT",
    "P_DISABILITY",
    "P_FEMALE_HEADED",
    "P_UNDER_FIVE",
    "REQUIRED",
    "ROWS_PER_PART",
    "SOURCES",
    "URBAN_DENSITY",
    "Registry",
    "ValidationReport",
    "district_counts",
    "generate",
    "generate_chunks",
    "is_dataset",
    "load",
    "merge",
    "parts",
    "province_of_districts",
    "read_dataset",
    "read_links",
    "read_raw",
    "validate",
    "write",
    "write_partitioned",
]
