"""AML monitoring: the transaction graph, scenario detectors, graph features, a learned model,
the AMLSim evaluation, cases and goAML suspicious-transaction reports (docs/aml.md).

    graph.py       TransactionGraph (numpy columns, CSR indexes) built from arrays or a stream
    settings.py    ScenarioSettings: every scenario's thresholds
    scenarios.py   structuring, rapid pass-through, fan-in, fan-out, cycles, dormant-then-active
    cycles.py      the bounded cycle search
    features.py    per-account graph features
    model.py       LightGBM on the features; cross-validated scores over accounts
    amlsim.py      loading the AMLSim samples; per-typology precision, recall and F1
    case_model.py  the case lifecycle and evidence (pure)
    cases.py       CaseService: cases in the platform database
    goaml.py       STR export in the UNODC goAML XML format
"""
