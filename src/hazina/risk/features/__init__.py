"""Online fraud features: payment events in, a fixed, named feature vector out, O(1) per event."""

from __future__ import annotations

from hazina.risk.features.engine import FeatureEngine, feature_names
from hazina.risk.features.events import FeatureConfig, Key, PaymentEvent, Role

__all__ = ["FeatureConfig", "FeatureEngine", "Key", "PaymentEvent", "Role", "feature_names"]
