"""Column encodings shared by the stores: unsigned values in signed 64-bit columns.

Both SQLite and PostgreSQL have signed 64-bit integers. `user_data_64` (unsigned 64-bit) is
stored as its two's-complement signed value; `user_data_128` is stored as an integer when it
fits and otherwise as 16 big-endian bytes, so the common small values stay fast integers.
"""

from __future__ import annotations

_two_63 = 1 << 63
_two_64 = 1 << 64


def encode_u64(value: int) -> int:
    return value - _two_64 if value >= _two_63 else value


def decode_u64(value: int) -> int:
    return value + _two_64 if value < 0 else value


def encode_u128(value: int) -> int | bytes:
    return value if value < _two_63 else value.to_bytes(16, "big")


def decode_u128(value: int | bytes) -> int:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return value


def fits_signed_64(value: int) -> bool:
    return value < _two_63
