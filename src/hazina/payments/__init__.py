"""Payments: wallets, parties, tariffs, transaction types and merchant QR codes."""
