"""The assistant's intent model on Banking77, and its reply latency on the CPU.

    python bench/assist.py                  # TF-IDF and MiniLM-embedding models (needs PyTorch)
    python bench/assist.py --kind tfidf     # the fallback alone
    python bench/assist.py --quick          # 12 questions per intent to train, 4 to test (tests)
    python bench/assist.py --save var/models/assist   # also save the best serving model

For each model kind: settings are chosen on a stratified 20% validation split of Banking77's
training set (seed 0), the model is trained on the whole training set with them and measured
once on the 3,080 test questions. Published on the same split (Casanueva et al. 2020): BERT
fine-tuned 93.66%, USE+ConveRT 93.36%; this issue's target is 94.0%. Latency: the model the
assistant serves (Banking77 and Hazina's intents) answers 300 test questions one at a time,
intent then knowledge-base passage, after 10 warm-up replies; p50/p95/p99 in milliseconds
(target p95 < 50 ms); then 150 whole replies through the service on a fresh SQLite platform
(the conversation's writes too), p95.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from hazina.assist.evaluation import (
    CachingEncoder,
    Evaluation,
    evaluate,
    grid,
    service_latency_ms,
    serving_latency_ms,
    serving_model,
)
from hazina.assist.model import MiniLmEncoder, ModelKind, Settings, embedding_available
from hazina.assist.training import banking77, per_label

published = {"BERT fine-tuned": 0.9366, "USE+ConveRT": 0.9336}
target_accuracy = 0.94
target_p95_ms = 50.0
latency_questions = 310


def run(
    kinds: list[ModelKind], quick: bool, save: Path | None, encoder_folder: Path | None
) -> list[Evaluation]:
    training, testing = banking77("train"), banking77("test")
    if quick:
        training, testing = per_label(training, 12, seed=1), per_label(testing, 4, seed=1)
    questions = banking77("test").texts[:: max(1, 3_080 // latency_questions)][:latency_questions]
    results: list[Evaluation] = []
    best = None
    for kind in kinds:
        encoder = (
            CachingEncoder(MiniLmEncoder(folder=encoder_folder))
            if kind is ModelKind.embedding
            else None
        )
        candidates = [Settings(regularisation=10.0)] if quick else grid(kind)
        evaluation, _ = evaluate(training, testing, kind, candidates, encoder)
        model = serving_model(kind, evaluation.settings, training, encoder, encoder_folder)
        latency = serving_latency_ms(model, questions)
        latency["service_p95"] = service_latency_ms(model, questions[:160])
        evaluation = replace(evaluation, latency_ms=latency)
        results.append(evaluation)
        if best is None or evaluation.test_accuracy > best[0]:
            best = (evaluation.test_accuracy, model)
    if save is not None and best is not None:
        print(f"saved {best[1].kind.value} model to {best[1].save(save)}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--kind", choices=[k.value for k in ModelKind], action="append")
    parser.add_argument("--quick", action="store_true", help="a small sample, TF-IDF only")
    parser.add_argument("--save", type=Path, default=None, help="folder for the best model")
    parser.add_argument("--output", type=Path, default=None, help="results as JSON")
    parser.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="a fine-tuned MiniLM folder (bench/assist_finetune.py --save) for the embedding kind",
    )
    arguments = parser.parse_args()
    if arguments.kind:
        kinds = [ModelKind(kind) for kind in arguments.kind]
    elif arguments.quick or not embedding_available():
        kinds = [ModelKind.tfidf]
    else:
        kinds = [ModelKind.tfidf, ModelKind.embedding]
    results = run(kinds, arguments.quick, arguments.save, arguments.encoder)
    print(
        "| model | settings (chosen on validation) | validation | test accuracy | vs 94.0% |"
        " p50 ms | p95 ms | p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for result in results:
        chosen = max(result.trials, key=lambda trial: trial.validation_accuracy)
        latency = result.latency_ms
        print(
            f"| {result.kind.value} | C={result.settings.regularisation:g}"
            + (
                f", embedding weight {result.settings.embedding_weight:g}"
                if result.kind is ModelKind.embedding
                else ""
            )
            + f" | {chosen.validation_accuracy:.2%} | {result.test_accuracy:.2%}"
            f" ({result.test_examples} questions) | {result.test_accuracy - target_accuracy:+.2%}"
            f" | {latency['p50']:.1f} | {latency['p95']:.1f} | {latency['p99']:.1f} |"
        )
    for name, value in published.items():
        print(f"published {name}: {value:.2%}")
    for result in results:
        met = "met" if result.latency_ms["p95"] < target_p95_ms else "missed"
        print(
            f"{result.kind.value}: p95 {result.latency_ms['p95']:.1f} ms vs target"
            f" {target_p95_ms:.0f} ms ({met});"
            f" trained in {result.training_s:.1f} s on {result.training_examples} questions;"
            f" a whole reply through the service (SQLite writes too): p95"
            f" {result.latency_ms['service_p95']:.1f} ms"
        )
    if arguments.output is not None:
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        payload = [{**asdict(result), "kind": result.kind.value} for result in results]
        arguments.output.write_text(json.dumps(payload, indent=2, default=str))


if __name__ == "__main__":
    main()
