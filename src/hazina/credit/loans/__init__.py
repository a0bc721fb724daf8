"""Micro-loans: products, decisions, disbursement, schedules, repayment, accrual, provisioning."""
