"""Risk control: online features, fraud models, rules, decisions, AML monitoring and cases."""
