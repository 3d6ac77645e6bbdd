"""The payout engine: overlay -> tiers -> targeting -> payouts -> dedup -> budget -> financing.

Arrays in, arrays out: no files, no plans, no timing (``evaluate(..., on_stage=...)`` reports
each stage's end to a caller that wants to time them). Money is int64 PKR.
"""

from simulator.engine.evaluation import (
    EXPANSIONS,
    PAYER,
    STAGES,
    EngineResult,
    evaluate,
    household_columns,
    needs_tehsils,
)

__all__ = ["EXPANSIONS", "PAYER", "STAGES", "EngineResult", "evaluate", "household_columns", "needs_tehsils"]
