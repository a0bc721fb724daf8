"""The knowledge base: markdown articles, split into passages, retrieved by similarity.

An article is markdown whose first line is `# Title`; a line `intents: a, b` after it names
the intents it answers. Retrieval compares the question with every passage (a paragraph,
read with its article's title): by sentence embedding when an encoder is given, by TF-IDF
cosine otherwise. When the intent model's intent is one an article names, the passage comes
from that article; otherwise the closest passage anywhere wins, if it is close enough.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

from hazina.assist.model import Encoder
from hazina.kernel.invariant import invariant
from hazina.kernel.limits import (
    assist_article_length_max,
    assist_articles_max,
    assist_quote_length_max,
)

_slug_pattern: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_intents_line: Final = re.compile(r"^intents:\s*(.*)$", re.IGNORECASE)
_similarity_min: Final = {"embedding": 0.35, "tfidf": 0.12}


class ArticleError(ValueError):
    """An article that cannot be stored as written; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    intents: tuple[str, ...]
    body: str  # the markdown after the title and intents lines
    markdown: str  # the whole text as written
    version: int = 1
    updated_by: str = "package"
    updated_at_ns: int = 0


@dataclass(frozen=True, slots=True)
class Passage:
    slug: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Retrieved:
    article: Article
    quote: str  # the passage, shortened to the quote limit
    similarity: float


def check_slug(slug: str) -> str:
    if _slug_pattern.fullmatch(slug) is None:
        raise ArticleError(
            "article_slug_invalid", "a slug is lower-case letters, digits and hyphens"
        )
    return slug


def parse_article(slug: str, markdown: str) -> Article:
    """Read an article's markdown; `ArticleError` when it has no title or no text."""
    check_slug(slug)
    if len(markdown) > assist_article_length_max:
        raise ArticleError(
            "article_too_long", f"an article has at most {assist_article_length_max} characters"
        )
    lines = markdown.replace("\r\n", "\n").replace("\x00", "").strip().split("\n")
    if not lines or not lines[0].startswith("# ") or not lines[0][2:].strip():
        raise ArticleError("article_title_missing", "an article starts with a '# Title' line")
    title = lines[0][2:].strip()
    rest = lines[1:]
    intents: tuple[str, ...] = ()
    for index, line in enumerate(rest[:3]):
        found = _intents_line.match(line.strip())
        if found:
            intents = tuple(name.strip() for name in found.group(1).split(",") if name.strip())
            rest = rest[:index] + rest[index + 1 :]
            break
    body = "\n".join(rest).strip()
    if not body:
        raise ArticleError("article_body_missing", "an article needs some text below its title")
    return Article(slug, title, intents, body, markdown)


def packaged_articles() -> list[Article]:
    """The articles shipped in the package, the knowledge base's first edition."""
    folder = resources.files("hazina.assist") / "articles"
    articles = [
        parse_article(entry.name.removesuffix(".md"), entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".md")
    ]
    invariant(0 < len(articles) <= assist_articles_max, "the packaged articles fit the limit")
    return sorted(articles, key=lambda article: article.slug)


def passages_of(article: Article) -> list[Passage]:
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", article.body)]
    return [Passage(article.slug, article.title, text) for text in paragraphs if text]


def quote_of(text: str) -> str:
    if len(text) <= assist_quote_length_max:
        return text
    cut = text[: assist_quote_length_max - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


class KnowledgeIndex:
    """Passages of a fixed set of articles, ready to be searched. Rebuilt when they change."""

    def __init__(self, articles: Sequence[Article], encoder: Encoder | None) -> None:
        invariant(len(articles) <= assist_articles_max, "the knowledge base is bounded")
        self.articles = {article.slug: article for article in articles}
        self._passages = [passage for article in articles for passage in passages_of(article)]
        self._encoder = encoder
        self._by_intent: dict[str, str] = {}
        for article in articles:
            for intent in article.intents:
                self._by_intent.setdefault(intent, article.slug)
        texts = [f"{passage.title}. {passage.text}" for passage in self._passages]
        self._vectorizer: Any = None
        self._matrix: Any = None
        if not texts:
            return
        if encoder is None:
            self._vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
            self._matrix = self._vectorizer.fit_transform(texts)
        else:
            self._matrix = encoder.encode(texts)

    @property
    def mode(self) -> str:
        return "tfidf" if self._encoder is None else "embedding"

    def article_for(self, intent: str) -> Article | None:
        slug = self._by_intent.get(intent)
        return None if slug is None else self.articles[slug]

    def _similarities(self, question: str) -> npt.NDArray[np.float64]:
        if self._encoder is None:
            query = self._vectorizer.transform([question])
            return np.asarray((self._matrix @ query.T).toarray()).ravel().astype(np.float64)
        vector = self._encoder.encode([question])[0]
        return np.asarray(self._matrix @ vector, dtype=np.float64)

    def retrieve(self, question: str, intent: str | None) -> Retrieved | None:
        """The passage that best answers `question`, from the intent's article when one names
        it; None when nothing is close enough."""
        if not self._passages:
            return None
        similarities = self._similarities(question)
        invariant(len(similarities) == len(self._passages), "one similarity per passage")
        named = None if intent is None else self._by_intent.get(intent)
        if named is not None:
            candidates = [i for i, p in enumerate(self._passages) if p.slug == named]
        else:
            candidates = [
                i
                for i in range(len(self._passages))
                if similarities[i] >= _similarity_min[self.mode]
            ]
        if not candidates:
            return None
        best = max(candidates, key=lambda i: similarities[i])
        passage = self._passages[best]
        return Retrieved(
            self.articles[passage.slug], quote_of(passage.text), float(similarities[best])
        )
