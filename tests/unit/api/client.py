"""FastAPI's `TestClient`, imported so that its httpx deprecation warning is not an error.

Starlette 1.x warns at import that its test client prefers the `httpx2` package; the locked
environment has `httpx`, which works the same for these tests. Only that one warning is let
through, and only for this import: every other warning still fails the test run.
"""

from __future__ import annotations

import warnings

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient` is deprecated",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]
