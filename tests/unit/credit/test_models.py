"""Both model families behind one interface, on a synthetic table with a known structure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest

from hazina.credit import blend, boosting, scorecard
from hazina.credit.data import CreditDataset, load_table, take_rows
from hazina.credit.evaluation import evaluate_family, holdout_split
from hazina.credit.families import UnknownFamilyError, fit
from hazina.credit.metrics import credit_metrics
from hazina.credit.model import decide
from hazina.credit.scale import base_score, points_per_log_odds, score_from_probability
from hazina.kernel.limits import credit_reasons_max
from tests.unit.credit.synthetic import write_applicants


@pytest.fixture(scope="module")
def applicants(tmp_path_factory: pytest.TempPathFactory) -> CreditDataset:
    path = write_applicants(tmp_path_factory.mktemp("credit") / "applicants.csv", rows=3_000)
    return load_table(path, "status", drop=["applicant_id"], special_codes=[-9])


@pytest.mark.parametrize("family", ["scorecard", "boosting", "blend"])
def test_each_family_ranks_holdout_applicants_and_gives_reasons(
    applicants: CreditDataset, family: str
) -> None:
    split = holdout_split(applicants.target, seed=0)
    model = fit(family, take_rows(applicants, split.development))
    holdout = take_rows(applicants, split.holdout)
    probability = model.probability_of_default(holdout.features)
    metrics = credit_metrics(holdout.target, probability)
    assert metrics.roc_auc > 0.75, metrics
    assert abs(float(probability.mean()) - applicants.default_rate) < 0.05
    decisions = decide(model, holdout.features.iloc[:50])
    assert len(decisions) == 50
    for decision in decisions:
        assert 300 <= decision.score <= 850
        assert len(decision.reasons) <= credit_reasons_max
        costs = [reason.points_lost for reason in decision.reasons]
        assert costs == sorted(costs, reverse=True)
        assert all(cost > 0 for cost in costs)
    # The riskiest applicant is told why: at least one reason.
    riskiest = int(np.argmax(probability))
    assert decide(model, holdout.features.iloc[[riskiest]])[0].reasons


def test_scorecard_points_add_up_to_the_score(applicants: CreditDataset) -> None:
    model = scorecard.fit(applicants)
    sample = applicants.features.iloc[:200]
    intercept_points = -points_per_log_odds * float(model.regression.intercept_[0])
    raw = base_score + intercept_points + model.points(sample).sum(axis=1)
    raw -= points_per_log_odds * np.log(50.0)
    expected = np.clip(np.rint(raw), 300, 850)
    scores = score_from_probability(model.probability_of_default(sample))
    assert np.abs(scores - expected).max() <= 1


def test_scorecard_reason_for_a_high_utilisation_applicant_is_utilisation(
    applicants: CreditDataset,
) -> None:
    model = scorecard.fit(applicants)
    applicant = applicants.features.iloc[[0]].copy()
    applicant["utilisation"] = 1.19
    applicant["late_payments"] = 0.0
    applicant["income"] = 20_000.0
    applicant["region"] = applicant["region"].cat.set_categories(["east", "north", "south"])
    applicant.loc[applicant.index[0], "region"] = "north"
    reasons = model.reasons(applicant, credit_reasons_max)[0]
    assert reasons[0].code == "UTILISATION"


def test_boosting_constrains_features_the_way_the_data_points(applicants: CreditDataset) -> None:
    model = boosting.fit(applicants)
    directions = dict(zip(model.feature_names, model.directions, strict=True))
    assert directions["utilisation"] == 1
    assert directions["late_payments"] == 1
    assert directions["income"] == -1
    assert directions["region"] == 0  # categorical: no order to constrain
    # Monotone in utilisation: raising it never lowers the probability of default.
    rows = applicants.features.iloc[:100].copy()
    before = model.probability_of_default(rows)
    rows["utilisation"] = rows["utilisation"] + 0.3
    assert np.all(model.probability_of_default(rows) >= before - 1e-12)


def test_blend_log_odds_and_points_lost_are_the_mean_of_its_two_models(
    applicants: CreditDataset,
) -> None:
    model = blend.fit(applicants)
    sample = applicants.features.iloc[:300]
    card = model.card.probability_of_default(sample)
    booster = model.booster.probability_of_default(sample)
    expected = 1.0 / (1.0 + np.exp(-(blend.log_odds(card) + blend.log_odds(booster)) / 2.0))
    blended = model.probability_of_default(sample)
    assert np.allclose(blended, expected)
    # Between its parts, applicant by applicant.
    assert np.all(blended >= np.minimum(card, booster) - 1e-12)
    assert np.all(blended <= np.maximum(card, booster) + 1e-12)
    lost = model.points_lost(sample)
    assert np.allclose(
        lost, (model.card.points_lost(sample) + model.booster.points_lost(sample)) / 2.0
    )
    top = model.reasons(sample.iloc[[0]], credit_reasons_max)[0]
    assert top
    assert top[0].points_lost == pytest.approx(float(lost[0].max()))
    described = {row["feature"]: row for row in model.describe()}
    assert set(described["utilisation"]) >= {"coefficient", "information_value", "monotone"}


def test_unknown_family_is_refused(applicants: CreditDataset) -> None:
    with pytest.raises(UnknownFamilyError):
        fit("neural", applicants)


def test_evaluation_reports_folds_holdout_and_calibration(applicants: CreditDataset) -> None:
    evaluation = evaluate_family(applicants, "scorecard", folds=3, seed=1)
    assert len(evaluation.folds) == 3
    assert evaluation.holdout.applicants == 600
    assert sum(row.applicants for row in evaluation.calibration) == 600
    mean_auc, spread = evaluation.fold_mean("roc_auc")
    assert mean_auc > 0.7
    assert spread >= 0.0
    assert evaluation.to_json()["family"] == "scorecard"


def test_rows_moved_to_the_holdout_never_train(tmp_path: Path) -> None:
    target = np.array([0, 1] * 50, dtype=np.int8)
    split = holdout_split(target, seed=3)
    assert len(split.holdout) == 20
    assert target[split.holdout].sum() == 10  # stratified
    assert not set(split.holdout.tolist()) & set(split.development.tolist())


def test_a_u_shaped_feature_is_left_unconstrained() -> None:
    generator = np.random.default_rng(2)
    lines = generator.integers(0, 20, 20_000).astype(np.float64)
    rising = generator.normal(size=20_000)
    # Few and many open credit lines are both risky; `rising` only raises risk.
    log_odds = -2.0 + 0.03 * (lines - 10.0) ** 2 - 0.5 + 0.2 * (lines - 10.0) + 0.8 * rising
    target = (generator.random(20_000) < 1.0 / (1.0 + np.exp(-log_odds))).astype(np.int8)
    frame = pd.DataFrame({"open_lines": lines, "rising": rising})
    assert boosting.monotone_directions(frame, target) == [0, 1]


def test_a_column_with_no_value_is_left_out_of_the_scorecard(applicants: CreditDataset) -> None:
    features = applicants.features.copy()
    features["bill_interval_cv"] = np.nan  # nobody has paid two bills
    features["code_only"] = -9.0  # only the special code
    empty = CreditDataset(
        applicants.name,
        applicants.path,
        features,
        applicants.target,
        applicants.special_codes,
    )
    model = scorecard.fit(empty)
    assert "bill_interval_cv" not in model.binned_names
    assert "code_only" not in model.binned_names
    assert model.feature_names[-2:] == ("bill_interval_cv", "code_only")
    points = model.points(features.iloc[:50])
    assert np.all(points[:, -2:] == 0.0)
    assert credit_metrics(empty.target, model.probability_of_default(features)).roc_auc > 0.75
