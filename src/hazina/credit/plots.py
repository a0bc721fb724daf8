"""Calibration plots (PNG, matplotlib's Agg backend): predicted against observed default rate
by decile, one line per model, the diagonal for perfect calibration."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from hazina.credit.evaluation import FamilyEvaluation
from hazina.kernel.invariant import invariant


def save_calibration_plot(evaluations: list[FamilyEvaluation], path: Path) -> None:
    invariant(len(evaluations) > 0, "something to plot")
    figure, axes = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    ceiling = 0.0
    for evaluation in evaluations:
        predicted = [row.predicted_default_rate for row in evaluation.calibration]
        observed = [row.observed_default_rate for row in evaluation.calibration]
        ceiling = max(ceiling, *predicted, *observed)
        axes.plot(predicted, observed, marker="o", label=evaluation.family)
    axes.plot([0.0, ceiling], [0.0, ceiling], linestyle="--", color="grey", label="perfect")
    axes.set_xlabel("predicted probability of default (decile mean)")
    axes.set_ylabel("observed default rate")
    axes.set_title(f"{evaluations[0].dataset}: hold-out calibration")
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
    invariant(path.exists(), "the plot was written")
