"""Prompt templates, one Chinese template per file, rendered with named values."""

from pathlib import Path
from string import Template

PROMPT_DIR = Path(__file__).resolve().parent


def prompt_names() -> list[str]:
    """The names of the templates in this folder."""
    return sorted(p.stem for p in PROMPT_DIR.glob("*.txt"))


def render_prompt(name: str, **values: str) -> str:
    """Fill template `name` with `values`; a missing value raises KeyError naming it."""
    path = PROMPT_DIR / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"没有名为 {name} 的提示词模板（已有：{', '.join(prompt_names())}）")
    return Template(path.read_text(encoding="utf-8")).substitute(values)
