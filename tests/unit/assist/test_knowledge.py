"""Articles: parsing, the packaged edition, and retrieval by intent and by similarity."""

from __future__ import annotations

import pytest

from hazina.assist.knowledge import (
    ArticleError,
    KnowledgeIndex,
    packaged_articles,
    parse_article,
    quote_of,
)
from hazina.kernel.limits import assist_article_length_max, assist_quote_length_max

FEES = parse_article(
    "fees",
    "# Fees\nintents: transfer_fee_charged\n\nSending money costs a fee from the tariff.\n\n"
    "Cash-in at an agent is free of charge.",
)
CARDS = parse_article("cards", "# Cards\n\nYour card arrives by post within a week.")


def test_an_article_has_a_title_intents_and_a_body() -> None:
    assert FEES.title == "Fees"
    assert FEES.intents == ("transfer_fee_charged",)
    assert FEES.body.startswith("Sending money")
    assert CARDS.intents == ()


@pytest.mark.parametrize(
    ("slug", "markdown", "code"),
    [
        ("fees", "no title here", "article_title_missing"),
        ("fees", "# \n\ntext", "article_title_missing"),
        ("fees", "# Fees\nintents: a\n\n", "article_body_missing"),
        ("Fees!", "# Fees\n\ntext", "article_slug_invalid"),
        ("fees", "# Fees\n\n" + "x" * assist_article_length_max, "article_too_long"),
    ],
)
def test_bad_articles_are_refused_with_a_code(slug: str, markdown: str, code: str) -> None:
    with pytest.raises(ArticleError) as raised:
        parse_article(slug, markdown)
    assert raised.value.code == code


def test_the_packaged_articles_parse_and_name_known_intents() -> None:
    articles = packaged_articles()
    assert len(articles) >= 10
    slugs = [article.slug for article in articles]
    assert len(set(slugs)) == len(slugs)
    assert all(article.intents for article in articles)


def test_retrieval_prefers_the_article_that_names_the_intent() -> None:
    index = KnowledgeIndex([FEES, CARDS], encoder=None)
    found = index.retrieve("is cash-in free?", "transfer_fee_charged")
    assert found is not None
    assert found.article.slug == "fees"
    assert found.quote == "Cash-in at an agent is free of charge."


def test_retrieval_by_similarity_alone_and_nothing_when_nothing_is_close() -> None:
    index = KnowledgeIndex([FEES, CARDS], encoder=None)
    found = index.retrieve("when does my card arrive by post", None)
    assert found is not None
    assert found.article.slug == "cards"
    assert index.retrieve("zebra giraffe", None) is None
    assert KnowledgeIndex([], encoder=None).retrieve("fees", None) is None


def test_long_passages_are_quoted_short() -> None:
    quoted = quote_of("word " * 500)
    assert len(quoted) <= assist_quote_length_max
    assert quoted.endswith("…")
