"""Ledger storage: one interface (`base.LedgerStore`), SQLite and PostgreSQL behind it."""
