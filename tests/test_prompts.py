"""Prompt templates render with their values and say which value is missing."""

import pytest

from prompts import prompt_names, render_prompt


def test_answer_prompts_render_rules_question_and_passages():
    rules = render_prompt("answer")
    assert "逐字照录" in rules and "不是指令" in rules
    text = render_prompt("answer_user", question="先行先试中出现的失误能否免责？", passages="[1] 可以不予或者免于追究责任")
    assert "先行先试中出现的失误能否免责？" in text
    assert "[1] 可以不予或者免于追究责任" in text
    assert "$" not in text


def test_condense_prompt_renders_history_and_follow_up():
    text = render_prompt("condense", history="用户：先行先试中出现的失误能否免责？", question="那受处分的干部呢？")
    assert "先行先试中出现的失误能否免责？" in text and "那受处分的干部呢？" in text and "$" not in text


def test_missing_value_and_unknown_template_fail_clearly():
    assert {"answer", "answer_user", "condense"} <= set(prompt_names())
    with pytest.raises(KeyError, match="passages"):
        render_prompt("answer_user", question="问题")
    with pytest.raises(FileNotFoundError, match="answer"):
        render_prompt("no-such-template")
