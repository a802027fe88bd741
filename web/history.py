"""The chat's saved conversations (a side panel: reopen, start anew, delete) and suggested next questions as buttons.

A logged-in user's conversations are filed under the login name; without logins, under an id the
browser keeps (gr.BrowserState), so a reload reopens the conversation where it stood.
"""

import secrets
import uuid
from dataclasses import replace
from pathlib import Path

import gradio as gr

from assistant import Answer, AssistantService, Reply
from assistant.conversations import ConversationNotFound
from web.page_links import PageLinks, page_secret
from web.render import render_answer

SUGGESTION_BUTTONS = 3
def build_history(service: AssistantService) -> dict:
    """The side panel's components and the browser-kept state (inside an open column)."""
    with gr.Accordion("我的对话", open=True, elem_id="history-panel"):
        chosen = gr.Dropdown(label="历史对话（选择即可接着问）", choices=[], value=None, elem_id="history")
        with gr.Row():
            new = gr.Button("新对话", size="sm", min_width=80, elem_id="history-new")
            remove = gr.Button("删除此对话", size="sm", variant="stop", min_width=80, elem_id="history-remove")
    kept = gr.BrowserState({"browser": "", "conversation": None, "saved": 0}, storage_key="policyqa-chat",
                           secret=page_secret(service.settings.data_dir))
    return {"history": chosen, "history_new": new, "history_remove": remove, "kept": kept}


def build_suggestions() -> list:
    """Buttons for the suggested next questions, hidden until an answer offers some."""
    with gr.Row(elem_id="suggestions"):
        return [gr.Button("", visible=False, size="sm", elem_id=f"suggestion-{i}", elem_classes="suggestion") for i in range(SUGGESTION_BUTTONS)]


def owner_of(kept: dict, request: gr.Request | None) -> tuple[str, dict]:
    """Whose conversations these are: the logged-in user, else this browser (given an id on first use)."""
    kept = dict(kept or {})
    user = getattr(request, "username", None)
    if user:
        return f"user:{user}", kept
    if not kept.get("browser"):
        kept["browser"] = uuid.uuid4().hex
    return f"browser:{kept['browser']}", kept


def history_choices(service: AssistantService, owner: str) -> list[tuple[str, str]]:
    """The owner's conversations as dropdown choices: title, time and turns."""
    return [
        (f"{c['title']}（{c['updated_at'][:16].replace('T', ' ')}，{c['turn_count']} 轮）", c["id"])
        for c in service.conversations().list_for(owner)
    ]


def suggestion_updates(suggestions) -> list:
    """The suggestion buttons showing these questions (the rest hidden)."""
    shown = list(suggestions)[:SUGGESTION_BUTTONS]
    return [gr.Button(shown[i], visible=True) if i < len(shown) else gr.Button("", visible=False) for i in range(SUGGESTION_BUTTONS)]


def reopened(service: AssistantService, owner: str, conversation_id: str | None) -> tuple[list, list, list]:
    """A saved conversation as the chat shows it: its messages, its (question, Reply) turns, its last suggestions."""
    if not conversation_id:
        return [], [], []
    try:
        saved = service.conversations().get(owner, conversation_id)["turns"]
    except ConversationNotFound:
        return [], [], []
    messages, turns = [], []
    for index, turn in enumerate(saved):
        answer = Answer.from_dict(turn["answer"])
        messages += [
            {"role": "user", "content": turn["question"]},
            {"role": "assistant", "content": render_answer(answer, index, cited_texts_of(service, answer), PageLinks.of(service.settings.data_dir).url)},
        ]
        turns.append((turn["question"], Reply(answer)))
    return messages, turns, list(turns[-1][1].answer.suggestions) if turns else []


def cited_texts_of(service: AssistantService, answer: Answer) -> dict[str, str]:
    """The stored texts of the documents an answer cites (those still stored)."""
    texts = {}
    for citation in answer.citations + answer.related:
        try:
            texts.setdefault(citation.doc_id, service.document_text(citation.doc_id))
        except (OSError, KeyError):
            continue
    return texts


def conversation_turns(turns: list) -> list[dict]:
    """The conversation's (question, outcome) turns as {"role", "content"} turns for the service (follow-ups read them)."""
    history = []
    for question, outcome in turns:
        said = outcome.answer if isinstance(outcome, Reply) else outcome
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": getattr(said, "text", said)}]
    return history


def saved_turn(service: AssistantService, done: list, kept: dict, doc_ids, day, request: gr.Request | None) -> tuple:
    """Save the newest answered turn (with its suggestions) to the conversation; the state, list and buttons after it.

    `day` is the date picked (None: today).
    """
    owner, kept = owner_of(kept, request)
    if len(done) <= kept.get("saved", 0) or not isinstance(done[-1][1], Reply):
        return kept, gr.skip(), *suggestion_updates([])
    question, outcome = done[-1]
    answer = replace(
        outcome.answer,
        suggestions=service.suggest(outcome.answer, doc_ids or None, history=conversation_turns(done[:-1]), as_of=day),
    )
    try:
        kept["conversation"] = service.conversations().record(owner, kept.get("conversation"), question, answer.to_dict())
    except ConversationNotFound:  # removed meanwhile (another tab): the turn starts a new one
        kept["conversation"] = service.conversations().record(owner, None, question, answer.to_dict())
    kept["saved"] = len(done)
    listing = gr.Dropdown(choices=history_choices(service, owner), value=kept["conversation"])
    return kept, listing, *suggestion_updates(answer.suggestions)


def wire_history(service: AssistantService, parts: dict, blocks: gr.Blocks) -> None:
    """Reopen the browser's conversation on load, switch between saved ones, start anew, delete one."""
    chat_outputs = [parts["chatbot"], parts["turns"], parts["kept"], parts["history"], *parts["suggestions"]]

    def shown(kept, conversation_id, request: gr.Request):
        owner, kept = owner_of(kept, request)
        messages, turns, suggestions = reopened(service, owner, conversation_id)
        kept.update(conversation=conversation_id if turns else None, saved=len(turns))
        listing = gr.Dropdown(choices=history_choices(service, owner), value=kept["conversation"])
        return messages, turns, kept, listing, *suggestion_updates(suggestions)

    def restored(kept, request: gr.Request):
        """The saved conversation on opening, then the question box and send button opened: a question
        asked earlier, its answer shown before the conversation arrived, would be wiped by it."""
        return *shown(kept, (kept or {}).get("conversation"), request), gr.Textbox(interactive=True), gr.Button(interactive=True)

    def started(kept, request: gr.Request):
        return shown(kept, None, request)

    opening = [*chat_outputs, parts["question"], parts["send"]]
    blocks.load(restored, [parts["kept"]], opening, api_visibility="private")
    parts["history"].input(shown, [parts["kept"], parts["history"]], chat_outputs, api_visibility="private")
    parts["history_new"].click(started, [parts["kept"]], chat_outputs, api_visibility="private")

    def removed(kept, request: gr.Request):
        owner, kept = owner_of(kept, request)
        if kept.get("conversation"):
            try:
                service.conversations().remove(owner, kept["conversation"])
            except ConversationNotFound:
                pass
        return started(kept, request)

    parts["history_remove"].click(removed, [parts["kept"]], chat_outputs, api_visibility="private")
    parts["clear"].click(started, [parts["kept"]], chat_outputs, api_visibility="private")  # what follows is a new conversation
