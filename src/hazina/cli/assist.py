"""`hazina assist train | ask | set-pin`: the contact-centre assistant's model and PINs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hazina.assist.evaluation import serving_model
from hazina.assist.knowledge import KnowledgeIndex, packaged_articles
from hazina.assist.model import (
    ModelKind,
    ModelUnavailableError,
    Settings,
    embedding_available,
    load,
)
from hazina.assist.training import banking77, default_model_folder, per_label
from hazina.kernel.datasets import DatasetMissingError

app = typer.Typer(
    help="The contact-centre assistant: train its intent model, try it, set customer PINs.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
_defaults = Settings()


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=2)


@app.command()
def train(
    kind: Annotated[
        ModelKind | None,
        typer.Option(help="embedding (needs PyTorch) or tfidf; default: embedding if installed"),
    ] = None,
    output: Annotated[Path, typer.Option(help="folder the API loads it from")] = (
        default_model_folder
    ),
    regularisation: Annotated[
        float, typer.Option(help="logistic regression's C (bench/assist.py chose 10)")
    ] = _defaults.regularisation,
    embedding_weight: Annotated[
        float, typer.Option(help="embedding beside TF-IDF (bench/assist.py chose 2)")
    ] = _defaults.embedding_weight,
    encoder: Annotated[
        Path | None,
        typer.Option(help="a fine-tuned MiniLM folder (bench/assist_finetune.py --save)"),
    ] = None,
    sample: Annotated[
        int | None, typer.Option(min=1, help="at most this many questions per intent (trials)")
    ] = None,
) -> None:
    """Train the intent model on Banking77 and Hazina's own examples, and save it."""
    chosen = kind or (ModelKind.embedding if embedding_available() else ModelKind.tfidf)
    if chosen is ModelKind.embedding and not embedding_available():
        raise fail("the embedding model needs: pip install torch==2.13.0 'hazina[assist]'")
    try:
        training = banking77("train")
        if sample is not None:
            training = per_label(training, sample, seed=0)
    except DatasetMissingError as error:
        raise fail(str(error)) from None
    settings = Settings(regularisation=regularisation, embedding_weight=embedding_weight)
    console.print(f"training the {chosen.value} model on {len(training.texts)} questions ...")
    model = serving_model(chosen, settings, training, encoder_folder=encoder)
    path = model.save(output)
    console.print(f"saved {chosen.value} model ({len(model.labels)} intents) to {path}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="what a customer might type")],
    model_folder: Annotated[Path, typer.Option("--model", help="a trained model's folder")] = (
        default_model_folder
    ),
) -> None:
    """Show what the trained model makes of a question: intents and the article quoted."""
    try:
        model = load(model_folder)
    except ModelUnavailableError as error:
        raise fail(f"{error}; run `hazina assist train` first") from None
    prediction = model.predict([question])[0]
    for label, probability in ((prediction.label, prediction.confidence), *prediction.alternatives):
        console.print(f"{probability:6.1%}  {label}")
    found = KnowledgeIndex(packaged_articles(), model.encoder).retrieve(question, prediction.label)
    if found is not None:
        console.print(f'article "{found.article.title}" ({found.article.slug}): {found.quote}')


@app.command(name="set-pin")
def set_pin(
    phone: Annotated[str, typer.Option(help="the customer's phone number, E.164")],
    database: Annotated[str, typer.Option(help="SQLite path or PostgreSQL DSN")] = (
        "var/hazina.sqlite3"
    ),
) -> None:
    """Give a customer the PIN the assistant asks for (typed twice, never echoed)."""
    from hazina.assist.service import AssistError, AssistService
    from hazina.assist.training import starter_model
    from hazina.bootstrap import build_platform
    from hazina.payments.errors import PaymentError

    pin = typer.prompt("PIN", hide_input=True, confirmation_prompt=True)
    platform = build_platform(database)
    try:
        party = platform.payments.find_party(phone=phone)
        service = AssistService.on(platform, starter_model())
        service.set_pin(party.id, pin, "cli")
    except (PaymentError, AssistError) as error:
        raise fail(str(error)) from None
    finally:
        platform.close()
    console.print(f"PIN set for {party.name}")
