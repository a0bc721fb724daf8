"""The seeded economy simulator: a mobile-money economy calibrated to PaySim, with labelled
fraud and laundering, that writes a Parquet dataset or drives a running platform.

Modules: `calibration` (PaySim targets), `behaviour` (assumptions about people), `population`
(the parties), `typologies` (fraud and laundering episodes), `generator` (the day-by-day
simulation), `parquet` (the dataset), `driver` (replay through `PaymentsService`). Concepts and
data flow: `docs.md`. Nothing is imported here, so `import hazina.sim.driver` does not load
pyarrow.
"""
