"""The fence around the embedding model and the vector store: only this package imports
sentence-transformers, torch or chromadb; the rest of the domain calls these interfaces."""

from p13n.domain.vectors.embedder import Embedder, MiniLMEmbedder
from p13n.domain.vectors.index import (
    ChromaVectorIndex,
    DimensionMismatch,
    InMemoryVectorIndex,
    VectorIndex,
)

__all__ = [
    "Embedder",
    "MiniLMEmbedder",
    "VectorIndex",
    "ChromaVectorIndex",
    "InMemoryVectorIndex",
    "DimensionMismatch",
]
