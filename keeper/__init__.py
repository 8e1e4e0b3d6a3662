"""Off-chain keeper and quant library for the hedging vault.

Nothing in this package imports brownie: the keeper runs with its runtime dependencies only.
"""

__version__ = "0.1.0"
