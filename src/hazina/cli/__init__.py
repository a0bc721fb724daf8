"""The `hazina` command line (typer)."""
