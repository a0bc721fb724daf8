"""The double-entry ledger: accounts, transfers, two-phase transfers, linked chains.

Modelled on TigerBeetle's semantics. See `docs.md` beside this file.
"""
