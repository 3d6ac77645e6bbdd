"""Madad: shock-responsive disaster planning and payout simulator for Pakistan.

The folders follow the data flow, and each imports only from those before it (``hazards``,
the package below this one, comes first; ``tests/test_layers.py`` checks the order):

``scenario``   the scenario model: hazards, registry, policy, dedup, cost-sharing, budgets
``registry/``  households in: schema, reading, validation with quarantine, generation, merge,
               boundaries
``engine/``    overlay -> tiers -> targeting -> payouts -> dedup -> budget -> financing
               (arrays in, arrays out; int64 PKR; no files, no clocks)
``plans/``     the one orchestrator and the complete plan: figures, assumptions, agencies,
               the policy record, NSER update costing, comparisons
``publish/``   the run folder, Excel, the PDF brief, GeoPackage/GeoJSON, payout lists,
               disclosure control
``exchange/``  pseudonyms, record linkage, signed and encrypted packages, the audit log
``cli/``       ``madad ...``;  ``app/``: the Streamlit app's pages and support (``app.py``)
"""

__version__ = "0.1.0"
