"""Plans: the one orchestrator, the plan's figures, assumptions, agencies, the policy record,
comparisons and the joint NSER update costing.

>>> from simulator import plans, scenario
>>> res = plans.run(scenario.load("scenarios/indus-flood-demo.yaml"), households=20_000)  # doctest: +SKIP
>>> res.plan["totals"]["amount_pkr"]  # doctest: +SKIP
"""

from simulator.plans.orchestrator import (
    RunResult,
    assemble,
    build_hazard,
    build_hazards,
    compute,
    load_registry,
    rasters,
    result_table,
    run,
)

__all__ = ["RunResult", "assemble", "build_hazard", "build_hazards", "compute", "load_registry", "rasters",
           "result_table", "run"]
