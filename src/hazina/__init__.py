"""Hazina: an open digital-finance platform."""

__version__ = "0.1.0"
