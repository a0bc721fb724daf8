"""Shared kernel: money, ids, clock, invariants and named limits. Imports no framework."""
