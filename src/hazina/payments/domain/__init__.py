"""Pure payments domain: no clock, no randomness, no disk, no framework."""
