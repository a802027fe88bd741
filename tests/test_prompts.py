"""Prompt templates render with their values and say which value is missing."""

import pytest

from prompts import prompt_names, render_prompt


def test_answer_prompt_renders_question_and_passages():
    text = render_prompt("answer", question="先行先试中出现的失误能否免责？", passages="[1] 可以不予或者免于追究责任")
    assert "先行先试中出现的失误能否免责？" in text
    assert "[1] 可以不予或者免于追究责任" in text
    assert "$" not in text


def test_missing_value_and_unknown_template_fail_clearly():
    assert "answer" in prompt_names()
    with pytest.raises(KeyError, match="passages"):
        render_prompt("answer", question="问题")
    with pytest.raises(FileNotFoundError, match="answer"):
        render_prompt("no-such-template")
