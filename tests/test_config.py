"""Settings: validation names the key and the allowed values; secrets only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_defaults():
    s = load_settings(ROOT / "config.yaml", env={})
    assert s.answer.mode == "extractive"
    assert s.embeddings.provider == "local"
    assert s.knowledge_dir == ROOT / "knowledge"
    assert s.skills_dir == ROOT / "skills"


def test_unknown_key_names_the_key_and_what_is_allowed(tmp_path):
    cfg = write(tmp_path, "answer:\n  mood: happy\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    msg = str(err.value)
    assert "answer.mood" in msg
    assert "mode" in msg and "max_chars" in msg  # the allowed keys of that section
    assert str(cfg) in msg


def test_bad_value_names_the_key_and_allowed_values(tmp_path):
    cfg = write(tmp_path, "answer:\n  mode: magic\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    msg = str(err.value)
    assert "answer.mode" in msg and "'extractive'" in msg and "'llm'" in msg and "magic" in msg


def test_out_of_range_number_is_named(tmp_path):
    cfg = write(tmp_path, "scope:\n  cv_folds: 1\n")
    with pytest.raises(ConfigError, match=r"scope\.cv_folds"):
        load_settings(cfg, env={})


def test_invalid_yaml_names_file_and_line(tmp_path):
    cfg = write(tmp_path, "paths:\n  knowledge: knowledge\nanswer:\n  mode: [extractive\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    msg = str(err.value)
    assert str(cfg) in msg and "line" in msg and "not valid YAML" in msg


@pytest.mark.parametrize("text", [
    "discord:\n  token: abc.def.ghi\n",
    "llm:\n  api_key: sk-1234567890abcdefghijklmnop\n",
    "llm:\n  model: sk-1234567890abcdefghijklmnop\n",  # a key pasted into the wrong field
])
def test_secret_in_config_is_refused(tmp_path, text):
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    msg = str(err.value)
    assert "environment" in msg
    assert "1234567890abcdefghijklmnop" not in msg and "abc.def.ghi" not in msg


def test_max_tokens_is_not_mistaken_for_a_secret(tmp_path):
    cfg = write(tmp_path, "llm:\n  max_tokens: 500\n")
    assert load_settings(cfg, env={}).llm.max_tokens == 500


def test_secrets_come_from_env_and_are_masked(tmp_path):
    cfg = write(tmp_path, "")
    s = load_settings(cfg, env={"DISCORD_TOKEN": "canary-discord-token", "OPENAI_API_KEY": "canary-openai-key"})
    assert s.secret("discord_token") == "canary-discord-token"
    assert "canary" not in repr(s) and "canary" not in str(s.model_dump())


def test_dotenv_beside_config_fills_secrets_but_env_wins(tmp_path):
    cfg = write(tmp_path, "")
    (tmp_path / ".env").write_text("OPENAI_API_KEY=from-dotenv\nDISCORD_TOKEN=dotenv-token\n")
    s = load_settings(cfg, env={"DISCORD_TOKEN": "from-env"})
    assert s.secret("openai_api_key") == "from-dotenv"
    assert s.secret("discord_token") == "from-env"


def test_env_overrides_settings(tmp_path):
    cfg = write(tmp_path, "llm:\n  model: gpt-4o-mini\n")
    s = load_settings(cfg, env={"MLBOT_LLM__MODEL": "llama3", "MLBOT_ANSWER__MODE": "llm",
                                "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "MLBOT_SCOPE__CV_FOLDS": "3"})
    assert s.llm.model == "llama3"
    assert s.answer.mode == "llm"
    assert s.llm.base_url == "http://127.0.0.1:11434/v1"
    assert s.scope.cv_folds == 3


def test_bad_env_override_is_named(tmp_path):
    cfg = write(tmp_path, "")
    with pytest.raises(ConfigError, match="answer.mode"):
        load_settings(cfg, env={"MLBOT_ANSWER__MODE": "telepathy"})
    with pytest.raises(ConfigError, match="MLBOT_NONSENSE"):
        load_settings(cfg, env={"MLBOT_NONSENSE": "1"})


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "deploy"
    folder.mkdir()
    cfg = write(folder, "paths:\n  knowledge: guides\n  skills: ../cards\n  data_dir: state\n")
    monkeypatch.chdir(tmp_path)  # the working directory does not matter
    s = load_settings(cfg, env={})
    assert s.knowledge_dir == folder / "guides"
    assert s.skills_dir == (tmp_path / "cards").resolve()
    assert s.data_dir == folder / "state"


def test_data_dir_flag_and_env(tmp_path, monkeypatch):
    cfg = write(tmp_path, "paths:\n  data_dir: fromfile\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings(cfg, env={"MLBOT_DATA_DIR": "envdir"}).data_dir == tmp_path / "envdir"
    assert load_settings(cfg, env={"MLBOT_DATA_DIR": "envdir"}, data_dir="flagdir").data_dir == tmp_path / "flagdir"


def test_mlbot_config_env_picks_the_file(tmp_path):
    cfg = write(tmp_path, "answer:\n  max_chars: 1500\n", name="other.yaml")
    assert load_settings(env={"MLBOT_CONFIG": str(cfg)}).answer.max_chars == 1500


def test_missing_config_file_is_clear(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_dotenv_precedence_is_fixed_whatever_the_hash_seed(tmp_path):
    """Two .env files (config folder and working directory): the config folder's wins, in every process."""
    import subprocess
    import sys

    deploy, work = tmp_path / "deploy", tmp_path / "work"
    deploy.mkdir()
    work.mkdir()
    cfg = write(deploy, "")
    (deploy / ".env").write_text("MLBOT_ANSWER__MAX_CHARS=1500\n")
    (work / ".env").write_text("MLBOT_ANSWER__MAX_CHARS=1200\nMLBOT_ANSWER__MAX_SENTENCES=4\n")
    code = (f"from bot.config import load_settings; s = load_settings({str(cfg)!r}, env={{}}); "
            "print(s.answer.max_chars, s.answer.max_sentences)")
    seen = set()
    for seed in range(8):
        out = subprocess.run([sys.executable, "-c", code], cwd=work, capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        seen.add(out.stdout.strip())
    assert seen == {"1500 4"}  # the config folder's value; the working directory's fills what it lacks
