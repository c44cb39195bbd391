"""One search from start to end: spec → plan → ledger (created or resumed) → tracking → backend →
summary. The only layer that knows the order of these steps; it never names a backend."""
