"""Madad: shock-responsive disaster planning and payout simulator for Pakistan."""

__version__ = "0.1.0"
