"""One typed Settings object from config.yaml plus the environment, built with pydantic-settings.

Built once in an entry point (`load_settings`) and passed down. Nothing here runs at import.
Secrets come only from the environment (or a `.env` file) and are held as `SecretStr`.

Where a value comes from, highest first:
1. `load_settings(data_dir=..., overrides=...)` (the `--data-dir` flag, tests);
2. the environment: `MLBOT_<SECTION>__<KEY>`, `MLBOT_DATA_DIR`, `OPENAI_BASE_URL`, the secrets;
3. `.env` files, the same names: the one beside the config file wins over the one in the working
   directory (a fixed order, whatever the process);
4. the config file (config.yaml);
5. the defaults below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from bot.errors import ConfigError
from bot.yamlfile import config_error, read_mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_SECRET_KEY = re.compile(r"(^|_)(token|api_?key|secret|password|passwd)$", re.I)
_SECRET_VALUE = re.compile(r"^(sk-[A-Za-z0-9_-]{16,}|[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,})$")
ENV_PREFIX = "MLBOT_"
_ENV_NOT_SETTINGS = ("MLBOT_CONFIG", "MLBOT_DATA_DIR")  # read by load_settings itself


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Paths(_Section):
    knowledge: Path = Path("knowledge")
    skills: Path = Path("skills")
    rate_cards: Path = Path("knowledge/rates")
    data_dir: Path = Path("data")


class Logging(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(5_000_000, gt=0)
    backups: int = Field(3, ge=0)


class Embeddings(_Section):
    provider: Literal["local", "openai"] = "local"
    model: str = "all-MiniLM-L6-v2"
    runtime: Literal["onnx", "sentence-transformers"] = "onnx"
    openai_model: str = "text-embedding-3-small"
    batch_size: int = Field(16, ge=1, le=2048)
    threads: int = Field(1, ge=1, le=64)


class VectorStore(_Section):
    mode: Literal["persistent", "http"] = "persistent"
    host: str = "localhost"
    port: int = Field(8000, ge=1, le=65535)
    collection: str = Field("guides", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


class Ingest(_Section):
    extensions: list[str] = [".md", ".markdown", ".rst", ".txt", ".html", ".htm", ".pdf"]
    chunk_chars: int = Field(1100, ge=200, le=8000)
    chunk_overlap: int = Field(150, ge=0, le=2000)
    max_file_mb: float = Field(5, gt=0)
    max_chunks_per_file: int = Field(1500, ge=1)
    batch_size: int = Field(64, ge=1)


class Retrieval(_Section):
    top_k: int = Field(5, ge=1, le=20)
    candidates: int = Field(40, ge=5, le=500)
    rrf_k: int = Field(20, ge=1)
    heading_weight: float = Field(0.5, ge=0, le=5)
    asked_weight: float = Field(0.0, ge=0, le=5)
    asked_lexical: bool = False
    topic_boost: float = Field(0.05, ge=0, le=1)
    identifier_weight: float = Field(1.0, ge=0, le=5)
    overview_weight: float = Field(1.0, ge=0, le=1)
    sentence_weight: float = Field(0.0, ge=0, le=10)
    rerank_depth: int = Field(3, ge=1, le=20)
    detail_boost: float = Field(0.0, ge=0, le=2)
    detail_classes: list[str] = Field(default_factory=lambda: ["seniority", "specialty", "platform", "client"])


class DeclineWeights(_Section):
    dense: float = Field(1.0, ge=-10, le=10)
    sentence: float = Field(0.0, ge=-10, le=10)
    lexical: float = Field(0.6, ge=-10, le=10)
    route: float = Field(0.0, ge=-10, le=10)
    unknown: float = Field(-0.3, ge=-10, le=10)
    asked: float = Field(0.0, ge=-10, le=10)


class Decline(_Section):
    weights: DeclineWeights = DeclineWeights()
    threshold: float = Field(0.55, ge=-10, le=10)
    follow_up_threshold: float = Field(0.5, ge=-10, le=10)
    remit_margin: float = Field(0.03, ge=-1, le=1)
    follow_up_remit_margin: float = Field(0.2, ge=-1, le=1)
    follow_up_subject_words: int = Field(2, ge=0, le=20)
    min_remit_route: float = Field(0.2, ge=-1, le=1)
    clause_words: int = Field(3, ge=1, le=50)
    own_subject_words: int = Field(3, ge=1, le=50)
    own_subject_threshold: float = Field(-10.0, ge=-10, le=10)


class Answer(_Section):
    mode: Literal["extractive", "llm"] = "extractive"
    max_chars: int = Field(1900, ge=200, le=4000)
    max_sentences: int = Field(7, ge=1, le=20)
    question_max_chars: int = Field(1000, ge=20)


class Compose(_Section):
    """Extractive answer weights (bot/knowledge/compose.py), calibrated by evals/calibrate_compose.py."""

    sem: float = Field(0.0, ge=0, le=5)
    lex: float = Field(0.3, ge=0, le=5)
    prior: float = Field(1.0, ge=0, le=5)
    lead: float = Field(0.1, ge=0, le=5)
    lead_share: float = Field(0.7, ge=0, le=1)
    support: float = Field(0.6, ge=0, le=1)
    other: float = Field(0.9, ge=0, le=1)
    other_gain: float = Field(0.0, ge=0, le=2)
    other_max: int = Field(1, ge=0, le=20)
    same_guide: float = Field(0.9, ge=0, le=1)
    same_guide_max: int = Field(1, ge=0, le=20)
    duplicate: float = Field(0.92, ge=0, le=1)
    duplicate_words: float = Field(0.7, ge=0, le=1)
    max_list_chars: int = Field(700, ge=100, le=3000)
    chunks: int = Field(4, ge=1, le=20)
    whole_sections: int = Field(0, ge=0, le=20)


class Sentences(_Section):
    """Sentence vectors of the ask path (bot/knowledge/sentences.py)."""

    store: bool = True
    fill: bool = True
    fill_batch: int = Field(32, ge=1, le=4096)
    fill_threads: int = Field(1, ge=1, le=16)
    memory: int = Field(20000, ge=0)


class LLM(_Section):
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(700, ge=16, le=8000)
    timeout_seconds: float = Field(30, gt=0, le=600)
    retries: int = Field(1, ge=0, le=5)
    daily_calls_per_user: int = Field(50, ge=0)


class Conversations(_Section):
    max_turns: int = Field(6, ge=1, le=50)
    context_weight: float = Field(0.5, ge=0, le=5)
    previous_guide_boost: float = Field(0.3, ge=0, le=5)
    new_subject_share: float = Field(0.5, ge=0, le=2)
    changed_detail_share: float = Field(0.0, ge=0, le=1)
    private_ttl_seconds: int = Field(3600, ge=1)
    ttl_days: int = Field(30, ge=1)


class LeakChecks(_Section):
    """Leakage thresholds (scope.leakage), calibrated by evals/calibrate_leaks.py. Skill: 0 = base rate,
    1 = perfect (2*AUC-1, rescaled balanced accuracy, R2) of one column alone on held-out rows."""

    alone_skill: float = Field(0.98, gt=0, le=1)
    near_copy_corr: float = Field(0.99, gt=0, le=1)
    product_corr: float = Field(0.995, gt=0, le=1)
    product_columns: int = Field(20, ge=2, le=200)
    pure_share: float = Field(0.9, gt=0.5, le=1)
    pure_min_rows: int = Field(10, ge=1)
    pure_coverage: float = Field(0.1, gt=0, le=1)
    pure_ratio: float = Field(5.0, ge=1)
    dominance_skill: float = Field(0.9, gt=0, le=1)
    dominance_ratio: float = Field(1.5, ge=1)
    dominance_explained: float = Field(0.02, gt=0)
    id_skill: float = Field(0.2, gt=0, le=1)
    id_z: float = Field(4.0, gt=0)
    sample_rows: int = Field(50_000, ge=1000)


class StructureChecks(_Section):
    """When time order matters for validation (scope.structure), calibrated by evals/calibrate_leaks.py."""

    time_skill: float = Field(0.05, ge=0, le=1)
    time_z: float = Field(6.0, gt=0)
    duplicate_share: float = Field(0.005, gt=0, le=1)
    copy_key_share: float = Field(0.77, gt=0, le=1)


class FrameChecks(_Section):
    """Project-frame detection (scope.frames, bot/scoping/frames.py), calibrated by evals/calibrate_frames.py."""

    rare_positive_share: float = Field(0.02, gt=0, lt=0.5)
    min_timestamps: int = Field(20, ge=3)
    wide_min_periods: int = Field(12, ge=2)
    regular_share: float = Field(0.7, gt=0, le=1)
    series_coverage: float = Field(0.3, gt=0, le=1)
    min_entities: int = Field(20, ge=2)
    min_per_entity: float = Field(2.0, ge=1)
    pair_unique: float = Field(0.9, gt=0, le=1)
    rating_levels: int = Field(11, ge=2)
    experiment_arms: int = Field(4, ge=2)


class TextModels(_Section):
    """The text frame's TF-IDF + linear models (scope.text, bot/scoping/text.py), measured by evals/calibrate_text.py."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_max_median_chars: int = Field(100, ge=0)   # character n-grams only on columns shorter than this (median)
    token_pattern: str = r"(?u)\b\w+\b"
    min_df: int = Field(2, ge=1)
    classify_c: list[float] = Field([10.0, 2.0], min_length=1, max_length=4)
    regress_c: list[float] = Field([1.0, 0.2], min_length=1, max_length=4)
    ordinal_c: float = Field(1.0, gt=0)             # tfidf_ordinal (ordered classes): ridge alpha = 1 / C

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _ngram_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= v[0] <= v[1] <= 6:
            raise ValueError("an n-gram range is [low, high] with 1 <= low <= high <= 6")
        return v

    @field_validator("classify_c", "regress_c")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if any(c <= 0 for c in v):
            raise ValueError("every C must be positive")
        return v


class Scope(_Section):
    budget_seconds: float = Field(20, gt=0, le=3600)
    hard_timeout_seconds: float = Field(180, gt=0, le=7200)
    memory_limit_mb: int = Field(6144, ge=256)
    max_file_mb: float = Field(512, gt=0)
    max_decompressed_mb: float = Field(512, gt=0)
    max_compression_ratio: float = Field(100, gt=1)
    max_rows: int = Field(5_000_000, ge=1)
    max_columns: int = Field(10_000, ge=2)
    max_cell_chars: int = Field(200, ge=10)
    min_rows: int = Field(10, ge=2)
    class_max_distinct: int = Field(20, ge=2)
    zero_target_share: float = Field(0.4, gt=0, le=1)
    cv_folds: int = Field(5, ge=2, le=20)
    random_state: int = 0
    selection_sample_rows: int = Field(20_000, ge=500)
    keep_reports_days: int = Field(90, ge=1)
    engine: Literal["local", "celery"] = "local"   # celery: jobs go to `mlbot worker` processes through Redis
    broker_url: str = "redis://127.0.0.1:6379/0"
    remote_max_file_mb: float = Field(100, gt=0)   # upload cap when the bytes travel through Redis
    upload_ttl_seconds: float = Field(120, gt=0)   # an upload not picked up by then is gone from Redis
    queue_limit: int = Field(16, ge=1)             # scopes waiting in the shared queue before "busy"
    queue_wait_seconds: float = Field(60, gt=0)    # a scope not started by a worker by then is "busy"
    worker_lost_seconds: float = Field(10, ge=2)   # a worker silent this long is gone: its job runs again
    leakage: LeakChecks = LeakChecks()
    structure: StructureChecks = StructureChecks()
    frames: FrameChecks = FrameChecks()
    text: TextModels = TextModels()


class StoreSettings(_Section):
    url: str | None = None      # None: a SQLite file in the data dir; postgresql://... for several machines
    pool_size: int = Field(5, ge=1, le=100)


class EstimateDefaults(_Section):
    hours_per_day: float = Field(7.5, gt=0, le=24)


class FX(_Section):
    date: str
    source: str
    per_eur: dict[str, float]

    @field_validator("per_eur")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if x <= 0]
        if bad:
            raise ValueError(f"rates must be positive (check {', '.join(bad)})")
        return {k.upper(): x for k, x in v.items()}


class Rates(_Section):
    default_region: str = "uk"
    default_seniority: Literal["junior", "mid", "senior", "lead"] = "senior"
    stale_after_months: int = Field(18, ge=1)
    fx: FX | None = None


class Quote(_Section):
    contingency: float = Field(0.15, ge=0, le=1)
    deposit: float = Field(0.30, ge=0, le=0.9)


class Plan(_Section):
    buffer_share: float = Field(0.5, ge=0, le=2)
    review_days: int = Field(0, ge=0, le=20)
    holidays: list[date] = []


class Discord(_Section):
    dev_guild_id: int | None = None
    owner_ids: list[int] = []
    sharded: bool = False
    shard_count: int | None = Field(None, ge=1)   # with shard_ids: this process runs only those shards
    shard_ids: list[int] | None = None            # (several bot processes split the shards between them)
    max_upload_mb: float = Field(10, gt=0, le=500)
    ask_cooldown_seconds: float = Field(5, ge=0)
    scope_cooldown_seconds: float = Field(30, ge=0)
    scope_workers: int = Field(1, ge=1, le=8)
    scope_queue: int = Field(4, ge=0, le=100)
    thread_answers: bool = False
    message_content: bool = False
    core_threads: int = Field(2, ge=1, le=32)


class Settings(BaseSettings):
    """Every setting of the bot. `config_dir` anchors relative paths; secrets are masked in repr.

    `Settings(...)` is built from its arguments and the defaults only; `load_settings()` adds the
    environment, the `.env` files and the config file.
    """

    model_config = SettingsConfigDict(
        extra="forbid", validate_assignment=True, env_prefix=ENV_PREFIX, env_nested_delimiter="__",
        env_parse_none_str="null", dotenv_filtering="only_existing",
    )

    paths: Paths = Paths()
    logging: Logging = Logging()
    embeddings: Embeddings = Embeddings()
    vectorstore: VectorStore = VectorStore()
    ingest: Ingest = Ingest()
    retrieval: Retrieval = Retrieval()
    decline: Decline = Decline()
    answer: Answer = Answer()
    compose: Compose = Compose()
    sentences: Sentences = Sentences()
    llm: LLM = LLM()
    conversations: Conversations = Conversations()
    scope: Scope = Scope()
    store: StoreSettings = StoreSettings()
    estimate_defaults: EstimateDefaults = EstimateDefaults()
    rates: Rates = Rates()
    quote: Quote = Quote()
    plan: Plan = Plan()
    discord: Discord = Discord()

    discord_token: SecretStr | None = Field(None, validation_alias="DISCORD_TOKEN", exclude=True)
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY", exclude=True)
    _config_file: Path | None = PrivateAttr(None)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **_: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # load_settings() names the files and the environment to read

    # Resolved paths (absolute) --------------------------------------------------------
    @property
    def config_file(self) -> Path | None:
        return self._config_file

    @property
    def config_dir(self) -> Path:
        return self._config_file.parent if self._config_file else Path.cwd()

    def resolve(self, p: Path) -> Path:
        p = Path(os.path.expanduser(str(p)))
        return p if p.is_absolute() else (self.config_dir / p).resolve()

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.paths.data_dir)

    @property
    def knowledge_dir(self) -> Path:
        return self.resolve(self.paths.knowledge)

    @property
    def skills_dir(self) -> Path:
        return self.resolve(self.paths.skills)

    @property
    def rate_cards_dir(self) -> Path:
        return self.resolve(self.paths.rate_cards)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "mlbot.log"

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None


# Loading ----------------------------------------------------------------------------


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if env.get("MLBOT_CONFIG"):
        return Path(env["MLBOT_CONFIG"])
    for candidate in (PROJECT_ROOT / "config.yaml", Path.cwd() / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def dotenv_files(config: Path | None) -> list[Path]:
    """The `.env` files read, lowest priority first: the working directory's, then the config folder's."""
    files = [Path.cwd() / ".env"]
    if config is not None:
        files.append(config.parent / ".env")
    return list(dict.fromkeys(f.resolve() for f in files))


def load_settings(
    config: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    data_dir: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Read config.yaml, the `.env` files and the environment (`env`, default os.environ); validate.

    `data_dir` (from --data-dir) wins over MLBOT_DATA_DIR, which wins over the file; relative
    values from the command line or environment resolve against the working directory.
    `overrides` are dotted keys ("ingest.batch_size") that win over everything but `data_dir`.
    Raises ConfigError naming the file, line or key and what is allowed.
    """
    env = os.environ if env is None else env
    path = Path(config) if config else default_config_path(env)
    if path is not None:
        path = path.expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist.", hint="Pass --config PATH or set MLBOT_CONFIG.")
    given: dict[str, Any] = {}
    for dotted, value in (overrides or {}).items():
        _set_path(given, tuple(dotted.split(".")), value)
    if data_dir:
        _set_path(given, ("paths", "data_dir"), str(Path(data_dir).expanduser().resolve()))
    sources: list[PydanticBaseSettingsSource] = [
        InitSettingsSource(Settings, given),
        _Environment(Settings, env),
        _DotEnv(Settings, env_file=dotenv_files(path)),
    ]
    if path is not None:
        sources.append(_ConfigFile(Settings, path))
    try:
        settings = Settings(_build_sources=(tuple(sources), {}))
    except ValidationError as exc:
        raise config_error(exc, str(path) if path else "settings", Settings) from None
    settings._config_file = path
    return settings


class _Names:
    """What the two environment sources add to pydantic-settings' own: MLBOT_DATA_DIR and
    OPENAI_BASE_URL, and a clear error for an MLBOT_ name that is not a setting."""

    env_vars: Mapping[str, str | None]

    def __call__(self) -> dict[str, Any]:
        _check_names(self.env_vars)
        data = super().__call__()  # type: ignore[misc]
        if self.env_vars.get("openai_base_url"):
            _set_path(data, ("llm", "base_url"), self.env_vars["openai_base_url"])
        if self.env_vars.get("mlbot_data_dir"):
            _set_path(data, ("paths", "data_dir"), str(Path(self.env_vars["mlbot_data_dir"]).expanduser().resolve()))
        return data


class _Environment(_Names, EnvSettingsSource):
    """The process environment, or the mapping given to load_settings (tests)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class _DotEnv(_Names, DotEnvSettingsSource):
    """`.env` files (later files win), read like the environment."""


class _ConfigFile(YamlConfigSettingsSource):
    """config.yaml: errors name the file and line; a secret in it is refused."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = read_mapping(Path(file_path), "config file", "sections (paths, llm, scope, ...)")
        _refuse_secrets(data, Path(file_path))
        return data


def _check_names(env_vars: Mapping[str, str | None]) -> None:
    prefix = ENV_PREFIX.lower()
    sections = [k for k, f in Settings.model_fields.items() if not f.exclude]
    for name in sorted(env_vars):
        if not name.startswith(prefix) or name.upper() in _ENV_NOT_SETTINGS:
            continue
        parts = name[len(prefix):].split("__")
        if len(parts) < 2 or not all(parts):
            raise ConfigError(f"environment variable {name.upper()} is not a setting: use MLBOT_<SECTION>__<KEY>, "
                              "e.g. MLBOT_ANSWER__MODE=llm.")
        if parts[0] not in sections:
            raise ConfigError(f"environment variable {name.upper()} is not a setting: unknown section "
                              f"'{parts[0]}' (sections: {', '.join(sections)}).")


def _refuse_secrets(raw: Any, path: Path | None, prefix: str = "") -> None:
    if isinstance(raw, dict):
        for key, value in raw.items():
            dotted = f"{prefix}{key}"
            looks_secret = isinstance(value, str) and bool(_SECRET_VALUE.match(value.strip()))
            if (_SECRET_KEY.search(str(key)) and value not in (None, "", [])) or looks_secret:
                raise ConfigError(
                    f"{path or 'config'}: '{dotted}' looks like a secret; secrets are not read from config files.",
                    hint="Remove it and set DISCORD_TOKEN or OPENAI_API_KEY in the environment (or a .env file).",
                )
            _refuse_secrets(value, path, dotted + ".")


def _set_path(raw: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = raw
    for key in keys[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            node[key] = nxt
        node = nxt
    node[keys[-1]] = value
