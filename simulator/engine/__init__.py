"""The payout engine: overlay -> tiers -> targeting -> payouts -> dedup -> budget -> financing.

Arrays in, arrays out: no files, no plans, no timing. Money is int64 PKR.
"""

from simulator.engine.evaluation import EXPANSIONS, PAYER, EngineResult, evaluate, household_columns

__all__ = ["EXPANSIONS", "PAYER", "EngineResult", "evaluate", "household_columns"]
