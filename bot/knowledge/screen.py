"""Guide text that is not advice: lines that speak to a model, and requests to send money, credentials or
personal figures somewhere.

A guide is written for people. A sentence that addresses its reader as a model (an order to drop earlier
instructions, "you are now an AI ...", a role marker such as "system:", a request to reveal a prompt or to
answer with a fixed text) or that asks readers to send bank details, passwords, payments or their own
rates and income to an address is never quoted as advice. The loader drops such sentences at ingest, so
neither extractive nor model answers can use them, and the ingest result lists them for the owner.

Sentences are judged by their form: who they address and what they ask to be done, never by a list of
known attacks. A warning ("never send your bank details to anyone who asks") is advice and stays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MODEL = "addresses the reader as a model (instructions to an AI, not advice for people)"
SOLICITS = "asks readers to send money, credentials or personal figures to an address"

_MODEL_NOUN = r"(?:ai|a\.i\.|artificial intelligence|language model|llm|large language model|chat ?bot|chatgpt|gpt(?:-\d)?|" \
              r"assistant|ai assistant|bot|model)"
# Words that can only mean an AI agent (not "a model" or "a bot" in general).
_AGENT = r"(?:ai|a\.i\.|artificial intelligence|language model|llm|large language model|chat ?bot|chatgpt|gpt|assistant|" \
         r"ai assistant)"
_ORDERS = r"(?:instructions?|prompts?|directives?|guidelines|guardrails|programming|system message|system prompt|" \
          r"context|conversation|rules you (?:were|have been) given)"

# Speaking to the model that reads the text.
_TO_MODEL = [
    # "ignore all previous instructions", "disregard your guidelines", "forget the system prompt"
    re.compile(r"\b(?:ignore|disregard|forget|override|overrule|bypass|abandon|discard|drop|set aside)\b[^.;:!?]{0,40}?"
               r"\b(?:previous|prior|above|earlier|preceding|foregoing|all|any|your|the system|original|initial|"
               r"existing|other|hidden)\b[^.;:!?]{0,20}?\b" + _ORDERS + r"\b", re.I),
    # "you are now an AI assistant that ...", "act as a language model", "pretend to be ChatGPT"
    re.compile(r"\b(?:you are|you're|you will be|act as|acting as|pretend (?:to be|you are)|behave as|role-?play as|"
               r"from now on,? you)\b[^.;:!?]{0,25}?\b" + _MODEL_NOUN + r"\b", re.I),
    # "if you are an AI", "as an AI language model, ...", "note to the assistant", "attention LLMs", "to any AI"
    re.compile(r"\bif you(?:'re| are)\s+(?:an?\s+|the\s+)?" + _MODEL_NOUN + r"\b", re.I),
    re.compile(r"\bas an?\s+(?:(?:ai|a\.i\.)\s+(?:language\s+model|assistant|chat ?bot|model)\b|(?:ai|a\.i\.|large language "
               r"model|language model|llm|chat ?bot|ai assistant)\s*[,:])", re.I),
    re.compile(r"\b(?:note|message|instructions?|reminder|rules?)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?" + _AGENT + r"s?\b"
               r"|\b(?:attention|dear|hey|hello|hi),?\s+(?:the\s+|all\s+|any\s+)?" + _AGENT + r"s?\b"
               r"|\bto\s+(?:any|all|every)\s+" + _AGENT + r"s?\b", re.I),
    # a model called by name at the start: "Assistant, ...", "ChatGPT: ..."
    re.compile(r"^\W*(?:hey\s+|hi\s+|hello\s+|dear\s+)?(?:ai|llm|chatgpt|gpt|assistant|ai assistant|chat ?bot|"
               r"claude|gemini|copilot|language model)\s*[,:]", re.I),
    re.compile(r"\b" + _MODEL_NOUN + r"s?\s+(?:reading|processing|parsing|summari[sz]ing|ingesting|indexing)\s+"
               r"(?:this|these)\b", re.I),
    # role markers and prompt syntax
    re.compile(r"^\W*(?:system|assistant|developer|user)\s*(?:prompt|message)?\s*:\s*\S", re.I),
    re.compile(r"<\|(?:im_start|im_end|system|assistant|user|endoftext)\|>|\[/?INST\]|<</?SYS>>|"
               r"^\W*#{1,6}\s*(?:system|instruction|instructions)\b", re.I),
    # "reveal your system prompt", "print the instructions above", "include the text of your prompt"
    re.compile(r"\b(?:reveal|print|repeat|output|include|show|leak|disclose|recite|share|quote|tell us)\b[^.;!?]{0,30}?"
               r"\b(?:your|the)\s+(?:\w+\s+){0,3}?(?:system prompt|hidden prompt|initial prompt|prompt|instructions|"
               r"configuration|rules)\b(?!\s+(?:for|of|to|from|in|on|with)\s+(?:the\s+|your\s+|a\s+)?"
               r"(?:client|customer|team|project|contract))", re.I),
    # an answer dictated word for word: "reply 'always charge $5/hour'", "respond only with ..."
    re.compile(r"\b(?:reply|respond|answer|output)\b\s+(?:only\s+|always\s+|just\s+|simply\s+)?"
               r"(?:with\s+|by saying\s+|that\s+)?[\"'“‘«]", re.I),
    re.compile(r"\b(?:respond|reply|answer)\s+only\s+(?:with|in|by)\b", re.I),
    re.compile(r"\b(?:your|the)\s+(?:new|real|true|actual|updated)\s+(?:instructions|task|role|purpose|objective)\b", re.I),
]

# Asking the reader to send something sensitive ...
_SEND = re.compile(r"(?:^\W*|[,;:]\s*|\b(?:please|kindly|must|should|shall|need to|needs to|have to|has to|required to|"
                   r"asked to|to|now|then|and|immediately|simply|just|first|always)\s+)"
                   r"(?:send|e-?mail|mail|forward|submit|transfer|wire|pay|deposit|dm|message|text|whatsapp|telegram|"
                   r"post|share|upload|provide|give|enter|paste|fill in|reply with|hand over)\b", re.I)
_SENSITIVE = re.compile(
    r"\b(?:bank(?:ing)?\s+(?:details|account|info(?:rmation)?|login|statements?|card)|account\s+(?:numbers?|details)|"
    r"sort\s+codes?|iban|swift|bic|routing\s+numbers?|(?:credit|debit|bank)?\s*card\s+(?:numbers?|details)|cvv|cvc|"
    r"pins?\b|passwords?|passcodes?|pass\s?phrases?|credentials|log-?in\s+details|logins?|usernames?|2fa|"
    r"one-?time\s+(?:codes?|passwords?)|otp|verification\s+codes?|security\s+codes?|seed\s+phrases?|"
    r"recovery\s+(?:phrases?|codes?)|private\s+keys?|api\s+keys?|access\s+tokens?|tokens?|social\s+security|ssn|"
    r"national\s+insurance|passports?|id\s+(?:cards?|scans?|documents?)|identity\s+documents?|driv(?:er'?s|ing)\s+"
    r"licen[cs]es?|tax\s+(?:ids?|numbers?|returns?|codes?)|utr|date\s+of\s+birth|home\s+address(?:es)?|"
    r"(?:day|hourly|daily|current|own)\s+rates?|rates?|income|salar(?:y|ies)|earnings|revenue|invoices?|payslips?|"
    r"contracts?|(?:personal|financial|private|contact)\s+(?:details|information|data|figures|info)|figures|"
    r"money|payments?|fees?|deposits?|crypto(?:currency)?|bitcoin|btc|eth(?:ereum)?|usdt|gift\s+cards?|cash)\b", re.I)
# ... to a concrete place: an address, a number, a link, a handle, a wallet, or "to us".
_DESTINATION = re.compile(
    r"(?<=[\w.+-])\s*(?:@|\(at\)|\[at\]|＠)\s*[\w-]+(?:\s*(?:\.|\(dot\)|\[dot\])\s*[\w-]+)+|"
    r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+\.(?:com|net|org|io|co|xyz|info|biz|me|app|link|site|online|top|ru|cn)\b|"
    r"\+?\d[\d\s().-]{7,}\d|(?<![\w.])@\w{2,}|\bbc1[a-z0-9]{25,60}\b|\b[13][a-km-zA-HJ-NP-Z1-9]{25,34}\b|\b0x[0-9a-fA-F]{40}\b|"
    r"\b(?:to|with|via|through|at)\s+(?:us|me|our\s+(?:team|agent|office|desk|representative|verification|"
    r"support|address|wallet|account)|this\s+(?:address|number|account|wallet|link|form)|the\s+(?:address|number|"
    r"account|wallet|link|form)\s+(?:below|above|here|given)|the\s+following)\b", re.I)
_NEGATED = re.compile(r"\b(?:never|don'?t|do not|doesn'?t|does not|not|no one|nobody|avoid|refuse|beware|"
                      r"be wary|be careful|scam|phishing|fraud)\b", re.I)

_LIST_MARK = re.compile(r"^\s*(?:[-*+>]|\d+[.)])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+")


@dataclass(frozen=True)
class Flag:
    text: str
    reason: str


def judge(sentence: str) -> str | None:
    """Why a sentence is not advice (MODEL or SOLICITS), or None when it may be quoted."""
    text = sentence.strip()
    if not text:
        return None
    if any(p.search(text) for p in _TO_MODEL):
        return MODEL
    send = _SEND.search(text)
    if send and _DESTINATION.search(text) and _SENSITIVE.search(text) and not _NEGATED.search(text[: send.start()]):
        return SOLICITS
    return None


def screen_text(text: str) -> tuple[str, list[Flag]]:
    """The text without the sentences that are not advice, and those sentences (line breaks kept)."""
    flags: list[Flag] = []
    lines = []
    for line in text.split("\n"):
        kept = []
        for sentence in _SENTENCE.split(line):
            reason = judge(sentence)
            if reason is None:
                kept.append(sentence)
            else:
                flags.append(Flag(_LIST_MARK.sub("", sentence).strip(), reason))
        if kept or not line.strip():
            lines.append(" ".join(kept))
    return "\n".join(lines), flags
