"""Retail CBDC: two-tier issuance and distribution, holding limits, escrow, offline tokens."""
