"""Conversation: what a question means given the turns before it.

Every turn is one of four kinds:

- `standalone`: it stands on its own (no earlier turn, an explicit switch such as "unrelated", or a
  question with its own subject). It starts fresh: its slots are its own.
- `slot`: it only changes details of the last standalone question ("and in germany?", "what about
  toptal?", "for a senior?"). The standalone question is that question with the changed slots put in
  place of the old ones; never words appended, never built from an already rewritten question.
- `context`: a new question about the same situation ("who decides that?", "and if the rows are
  grouped?"). It keeps its own words and the situation's slots; its meaning is carried by the earlier
  questions it refers to (`context`), which retrieval blends into the question's vector.
- `elaborate`: "why?", "explain", "tell me more": the previous answer is elaborated from its
  sections, without the sentences already shown.

Being short is not being a follow-up: a short line with its own subject ("whats 12 x 9") stands alone.
The state a later turn needs (root question, slots, context, the answer's sections and shown
sentences) is kept in each turn's `meta`. Acknowledgements ("ok", "fine.", "thanks") are taken off a
line before it is read. With a model configured, the model writes the
standalone question of a follow-up; the offline rewrite is its fallback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge.lexical import stem, words
from bot.knowledge.slots import SPECIALTY, Vocabulary

log = logging.getLogger(__name__)

_SWITCH = re.compile(r"\b(unrelated|different (question|topic|thing|q)|new (question|topic)|another (question|thing)|"
                     r"separate (question|thing)|change of (topic|subject)|on another note|switching (topics?|gears)|"
                     r"back to|also,? unrelated|nvm|never ?mind|forget (about )?(that|it)|scrap that|moving on)\b|\b(one more( question| thing| q)?|quick (question|q))\s*[:,-]", re.I)
_FOLLOW_START = re.compile(r"^\W*(and|but|or|also|so|then|what about|how about|what if|and if|if so|same|ok and|"
                           r"okay and|ok so|okay so|ok what|okay what|what else|instead|in that case)\b", re.I)
# A correction of the question before ("sorry i meant junior", "no sorry 160k, senior", "no i meant in the
# us"): the details it names replace those of that question, whatever else it says about them.
_CORRECTION = re.compile(r"^\W*((no|nope|nah|sorry|oops|wait|actually)\W+)*(i meant|i mean|meant|correction)\b|"
                         r"^\W*(no|nope|nah)\W+(sorry|wait|oops)\b|^\W*(sorry|oops|wait)\W+(no|not)\b", re.I)
_FOLLOW_END = re.compile(r"\b(too|as well|also|either)\W*$", re.I)
_ELABORATE = re.compile(r"^\W*(why|how come|explain|elaborate|tell me more|more detail|more on that|go on|"
                        r"what do you mean|say more|expand|and\??$|really\??$|how so|"
                        r"(give me |got |have you got |any |can you give (me )?)?(an |some )?examples?|for example|"
                        r"e\.?g\.?|for instance|such as|tl;?dr|summari[sz]e( that| it)?|in short|"
                        r"(in )?plain english|in simple terms|simpler|more simply|eli5|what does that mean|"
                        r"((can|could) you )?(make it |keep it )?(shorter|briefer|more concise)|shorten (it|that)|"
                        r"(the )?short version|in (one|a few|two) (sentences?|lines?))\b", re.I)
_RESHAPE = re.compile(r"^\W*((can|could) you |pls |please )?(make it |keep it |give me |got |any |an |some |a )*"
                      r"(shorter|briefer|simpler|more concise|more simply|short version|the short version|tl;?dr|"
                      r"summari[sz]e( that| it)?|in plain english|plain english|in simple terms|eli5|examples?|"
                      r"for example|for instance)\b(\W+(pls|please|plz|thx|thanks))?", re.I)
_ANAPHORA = re.compile(r"\b(it|its|it's|that|this|those|these|they|them|their|there|then|such|same|instead|"
                       r"either|thing|one)\b", re.I)
# A comparison that names none of what it compares ("which is better for ML work?", "the latter?") picks
# between what was said before; one that names its options ("fixed price or hourly?") stands alone.
_PICK = re.compile(r"\b(which|what)\b(\W+\w+){0,3}?\W+(better|best|cheaper|cheapest|worse|worst|safer|safest|"
                   r"easier|higher|highest|lower|lowest|bigger|smaller|more expensive|preferable|more common|"
                   r"recommended)\b|\b(former|latter|both of them|the other one|the (first|second) one|"
                   r"which of (them|the two|those|these))\b", re.I)
_OPTIONS = re.compile(r"\b(or|vs\.?|versus)\b", re.I)
_DEFINITE = re.compile(r"\bthe\s+([a-z][a-z-]{2,})", re.I)
# Words that carry no subject of their own in a follow-up ("ok and what about ... instead then?").
_FILLER = frozenset(words("ok okay alright fine cool thanks thx lol hmm well yeah yes yep nah also instead "
                          "then though tho still case question one ones say back btw again even actually "
                          "anything else same just mean kind sort different versus vs they're it's we're im "
                          "i'm ive i've youre "
                          # a correction of the question before ("no i meant in the us", "sorry, hourly not daily")
                          "no not sorry meant wait oops rather correction "
                          # the nouns a detail is named with ("what about for LLM work?", "and senior roles?")
                          "work works stuff thing things gig gigs job jobs role roles project projects "
                          "level levels grade know tell "
                          # emphasis ("paris specifically?", "senior level in particular")
                          "specifically exactly particularly particular precisely especially mainly roughly "
                          # hedges and people nouns ("netherlands maybe", "same for nlp folks")
                          "maybe perhaps probably possibly folks people guys ppl devs client clients "
                          # the size a client type is named with ("and if the client is a big corporate?")
                          "big bigger large larger small smaller tiny huge massive"))
# What a follow-up of the `context` kind carries into its text: the situation, not the details.
CARRIED = ("place", "client", "seniority", "platform")
_PHRASE = {"place": "in {}", "platform": "on {}", "seniority": "at {} level", "specialty": "for {} work",
           "engagement": "on a {} basis", "ir35": "{}", "client": "for a {} client", "duration": "on a {} contract"}

_AN = re.compile(r"(^|\s)a ([aeiou])", re.I)
_THE_PLACES = frozenset(["united kingdom", "united states", "netherlands", "european union", "uae"])

# Acknowledgements and interjections at either end of a line carry no question ("fine. what should my
# SOW include?", "who owns it though"): they are taken off before the line is read.
_CHATTER_START = re.compile(r"^\W*((ok(ay)?|fine|cool|great|thanks|thank you|thx|ty|lol|haha|hmm+|alright|right|"
                            r"sure|yeah|yep|got it|nice|perfect|understood|noted)\b[\s.,!:;-]*)+", re.I)
_CHATTER_END = re.compile(r"[\s,]+(though|tho|lol|btw|then|thanks|thx|pls|please)\W*$", re.I)

# Lines that are social, not questions: thanks, a greeting, or asking what the bot does. They get a short
# reply of their own and never the previous answer again ("thanks!" after a day-rate answer).
_THANKS = frozenset(["ok", "okay", "k", "cool", "great", "perfect", "awesome", "nice", "got", "it",
                     "brilliant", "cheers", "thx", "ty", "tysm", "thanks", "thank", "you", "so", "much",
                     "very", "a", "lot", "lots", "many", "appreciate", "appreciated", "helpful", "that",
                     "helps", "helped", "was", "is", "super", "man", "mate", "bot", "again", "all", "good",
                     "makes", "sense", "noted", "understood", "lol", "haha"])
_GREETING = frozenset(["hi", "hello", "hey", "heya", "hiya", "yo", "howdy", "sup", "good", "morning",
                       "afternoon", "evening", "there", "all", "everyone", "guys", "folks", "bot", "how",
                       "are", "you", "doing", "whats", "what's", "up"])
_GREETS = frozenset(["hi", "hello", "hey", "heya", "hiya", "yo", "howdy", "sup", "morning", "afternoon",
                     "evening"])
_HELP = re.compile(r"^\W*((hi|hey|hello|ok|okay|so)\W+)?(help|/help|commands|what commands( are there| do you have)?|"
                   r"what (can|do) you do|what are you( for)?|who are you|what can i ask( you)?|"
                   r"how (do|can) i use (you|this|this bot|the bot|it)|what do you know( about)?|"
                   # what the bot is: the help text says it ("who made you?", "are you chatgpt?")
                   r"who (made|built|created|wrote|programmed|trained) (you|this bot|this)|"
                   r"what (ai |llm |language )?(model|llm|ai)( are you| do you use| is this| is behind (you|this))"
                   r"( running on| using| based on)?|are you (a bot|a human|an ai|human|real|chat ?gpt|gpt|an llm))\W*$",
                   re.I)


# A line that asks something: a question mark, or a question word or request first (after "and", "so", ...).
# It reads the line as corrected (Parts.read): "whats", "wat" and "hw" are "what's", "what" and "how" by then.
_ASKS = re.compile(r"\?|^\W*((and|but|so|ok|okay|also|then|well|hmm|right)\W+)*(what|which|how|why|when|"
                   r"where|who|whose|can|could|should|would|will|do|does|did|is|are|was|were|am|any|tips|help|tell|"
                   r"explain|give|show|list|recommend|suggest|compare)\b", re.I)


def asks(line: str) -> bool:
    """Does the line ask something ("and which crm should they use?"), rather than say something about
    the situation ("the client only cares about catching churners")?"""
    return bool(_ASKS.search(line))


def points_back(line: str) -> bool:
    """Does the line refer to something said before ("does that change anything?", "and if it's inside?",
    "which is better for ML work?")?"""
    return bool(_ANAPHORA.search(line)) or _picks(line)


def names_said(line: str, previous: dict[str, Any] | None) -> bool:
    """Does the line name with "the" something the previous answer's sections are about ("what should i
    ask for in the contract?" after an answer from "What to check in a UK freelance contract")?"""
    heads = {str(section).split(" > ")[-1] for _, section in (previous or {}).get("sources") or []}
    said = set(words(" ".join(heads)))
    return any(stem(m.group(1).lower()) in said for m in _DEFINITE.finditer(line))


def _picks(line: str) -> bool:
    return bool(_PICK.search(line)) and not _OPTIONS.search(line)


def social(line: str) -> str | None:
    """"thanks" (or an acknowledgement), "greeting" or "help" for a line that is only that, else None."""
    if _HELP.match(line):
        return "help"
    tokens = re.findall(r"[a-z']+", line.lower())
    if not tokens or len(tokens) > 8 or re.search(r"\d", line):
        return None
    if set(tokens) <= _THANKS:  # thanks, or an acknowledgement ("ok", "got it, makes sense")
        return "thanks"
    if set(tokens) <= _GREETING and set(tokens) & _GREETS:
        return "greeting"
    return None


Rewrite = Callable[[str, str], str | None]  # (follow-up, the question it follows) -> standalone question


@dataclass
class Turn:
    kind: str  # standalone | slot | context | elaborate
    question: str
    standalone: str
    root: str  # the standalone question this turn builds on (its own text when it stands alone)
    slots: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)  # slots this turn changed
    context: list[str] = field(default_factory=list)  # earlier questions whose meaning this one carries
    previous: dict[str, Any] = field(default_factory=dict)  # the meta of the turn it follows
    rewritten: bool = False
    by_model: bool = False
    own_words: int = 0  # a follow-up's content words of its own (not slots, fillers, nor the earlier question's)
    earlier: list[str] = field(default_factory=list)  # a standalone turn's previous question (no switch between)
    subject: list[str] = field(default_factory=list)  # a `context` follow-up's own content words
    refers: bool = False  # a `context` follow-up that points back ("it", "that", "the contract" said before)
    cited: set[str] = field(default_factory=set)  # the guides the conversation's answers cited so far

    @property
    def search_text(self) -> str:
        """The words retrieval matches: a `context` turn's own words and those of the question it refers
        to ("how do I spot it?" after "what is data leakage?"); a model's rewrite stands alone."""
        if self.kind == "context" and self.context and not self.by_model:
            # a line that only points back ("how long should it last?" after "what should it exclude?"
            # after an NDA question) reads every question it refers to; others the one just before
            return " ".join([self.standalone, *(self.context if self.refers else self.context[:1])])
        if self.kind == "slot" and self.context and self.previous.get("kind") == "context" and not self.by_model:
            # a detail changed on a follow-up ("and in germany?" after "what should it contain?" after a DPA
            # question) keeps the subject that follow-up carried
            return " ".join([self.standalone, self.context[0]])
        return self.standalone

    @property
    def before(self) -> str:
        """The standalone question of the turn this one follows."""
        return str(self.previous.get("standalone") or self.previous.get("root") or "")

    @property
    def follow_up(self) -> bool:
        return self.kind != "standalone"

    def meta(self) -> dict[str, Any]:
        """What later turns need of this one (the answer's part is added by the caller)."""
        return {"kind": self.kind, "standalone": self.standalone, "root": self.root, "slots": self.slots,
                "changed": self.changed, "context": self.context, "rewritten": self.rewritten,
                "by_model": self.by_model, "own_words": self.own_words, "earlier": self.earlier}


def last_state(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The meta of the latest turn a follow-up can build on: declines outside the remit are skipped."""
    for turn in reversed(history):
        meta = dict(turn.get("meta") or {})
        if meta.get("decline_reason") == "remit":
            continue
        meta.setdefault("root", turn.get("standalone") or turn.get("question") or "")
        meta.setdefault("standalone", turn.get("standalone") or meta["root"])
        meta.setdefault("kind", "standalone")
        return meta
    return None


def without_chatter(text: str) -> str:
    """The line without acknowledgements at its start and tags at its end (never emptied)."""
    body = _CHATTER_END.sub("", _CHATTER_START.sub("", text)).strip()
    return body if body and (words(body) or not words(text)) else text


def interpret(question: str, history: list[dict[str, Any]], vocab: Vocabulary,
              known: Callable[[str], bool] | None = None) -> Turn:
    """The kind of turn and its standalone question (offline). `known` says whether the guides use a
    (stemmed) word: a line whose one word of its own they never use names a subject of its own ("how do
    i fix my wifi" after a fixed-price question, "explain the offside rule" after a results question),
    so it is not read in the context of the one before."""
    original, question = question, without_chatter(question)
    own_slots = vocab.slots(question)
    state = last_state(history)
    fresh = Turn("standalone", question, question, question, own_slots)

    def guides_use(ws: list[str]) -> bool:
        return known is None or all(known(w) for w in ws)

    def mostly_used(ws: list[str]) -> bool:  # more than half its words (numbers aside) are the guides' words
        ws = [w for w in ws if not w.isdigit()]
        return known is not None and bool(ws) and 2 * sum(bool(known(w)) for w in ws) > len(ws)

    if state is None or _SWITCH.search(question):
        return fresh
    fresh.earlier = [str(state.get("standalone") or state.get("root") or "")][:1]
    root = str(state.get("root") or "")
    root_words = set(words(" ".join([root, *(state.get("context") or [])])))
    mentions = vocab.find(question)
    slot_words = set(words(" ".join(m.surface for m in mentions)))
    content = words(question)
    new_words = [w for w in content if w not in slot_words and w not in _FILLER and w not in root_words]
    slots = {**(state.get("slots") or {}), **own_slots}
    changed = {k: v for k, v in own_slots.items() if (state.get("slots") or {}).get(k) != v}
    # A slot change or an elaboration of a `context` turn keeps that turn's context.
    base = dict(slots=slots, changed=changed, context=list(state.get("context") or []),
                previous=state)
    # "which metric then?" refers back, chatter or not; so does "the contract" the last answer spoke of
    # ... but a line naming "the <word>" the answer used whose other words no guide uses ("whats the curve
    # of a banana" after a learning-curve answer) is about something else.
    anaphora = points_back(original) or (names_said(original, state) and guides_use(new_words))
    # "why?", "why is that?" elaborate; "why not accuracy?" asks about a subject of its own, in context.
    why = _ELABORATE.match(question)
    asks_why = why is not None
    subject = [w for w in new_words if w not in set(words(why.group(0)))] if why else new_words
    # A request to reshape the answer whose first clause is only that ("shorter pls, need to paste it in
    # slack", "example? like what wording would make it clear") elaborates, whatever it says it is for.
    first = re.split(r"[,;:?!]|\s[-–]\s", question, maxsplit=1)[0]
    shape = _RESHAPE.match(first)
    reshape = shape is not None and all(w in _FILLER or w in words(shape.group(0)) for w in words(first))
    if (asks_why and (not subject or (anaphora and len(subject) <= 2)) or reshape) and not changed:
        return Turn("elaborate", question, substitute(root, slots, vocab), root, **base,
                    rewritten=True, own_words=len(new_words))
    if mentions and (not new_words or (changed and _CORRECTION.match(original))):
        back = _earlier_root(history, changed, root)  # "and if it's fixed price again?" goes back to it
        if back is not None:
            root = str(back["root"])
            base.update(slots={**(back.get("slots") or {}), **own_slots}, context=list(back.get("context") or []))
        return Turn("slot", question, substitute(root, base["slots"], vocab), root, **base, rewritten=True)
    if _FOLLOW_START.match(original) or _FOLLOW_START.match(question) or _FOLLOW_END.search(original) \
            or (anaphora and len(new_words) <= 3) or (asks_why and len(subject) <= 2 and guides_use(subject)) \
            or (len(new_words) <= 1 and not mentions and guides_use(new_words)) \
            or (not asks(original) and mostly_used(new_words)):  # "the client only cares about recall": the situation
        picks = _picks(original)  # "which is better?" after "upwork fees?", "and toptal?": both options
        carried = {k: v for k, v in slots.items() if k in own_slots or (k in CARRIED and not picks)}
        standalone = substitute(question, carried, vocab, replace=False)
        # ... and, when the turn it follows stood on its own, the question before that one.
        context = [substitute(root, slots, vocab), *list(state.get("context") or state.get("earlier") or [])][:2]
        if picks:  # the options are the questions before, not the last detail alone
            context = list(dict.fromkeys([*_asked(history, 2), *context]))[:2]
        return Turn("context", question, standalone, question, carried, changed, context, state,
                    rewritten=standalone != question, own_words=len(new_words), subject=new_words, refers=anaphora)
    return fresh


def _asked(history: list[dict[str, Any]], n: int) -> list[str]:
    """The last `n` different questions the conversation asked (as answered: standalone), latest first;
    declines outside the remit and social lines aside."""
    out: list[str] = []
    for turn in reversed(history):
        meta = turn.get("meta") or {}
        text = str(meta.get("standalone") or turn.get("standalone") or "")
        if meta.get("decline_reason") != "remit" and text and text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def _earlier_root(history: list[dict[str, Any]], changed: dict[str, str], current: str) -> dict[str, Any] | None:
    """An earlier question asked with one of the values a slot change brings back, if any."""
    for turn in reversed(history):
        meta = turn.get("meta") or {}
        if meta.get("decline_reason") == "remit" or meta.get("kind") not in ("standalone", "context"):
            continue
        if meta.get("root") and meta["root"] != current and any(
                (meta.get("slots") or {}).get(k) == v for k, v in changed.items()):
            return meta
    return None


def with_model(turn: Turn, rewrite: Rewrite | None) -> Turn:
    """The model's standalone question for a follow-up, the offline one when the model fails."""
    if rewrite is None or not turn.follow_up:
        return turn
    try:
        text = rewrite(turn.question, turn.before)
    except Exception as exc:  # noqa: BLE001 - the offline rewrite still works
        log.warning("follow-up rewrite failed class=%s", exc.__class__.__name__)
        return turn
    if text:
        turn.standalone, turn.rewritten, turn.by_model = text, True, True
    return turn


def substitute(text: str, slots: dict[str, str], vocab: Vocabulary, *, replace: bool = True) -> str:
    """`text` with each slot's words replaced by the slot's current value (or put in when missing)."""
    mentions = vocab.find(text)
    out, inserts = text, []
    by_class: dict[str, Any] = {}
    for m in mentions:
        by_class.setdefault(m.cls, m)
    for cls, value in slots.items():
        surface = value  # the canonical value: "german" and "Deutschland" both put in "germany"
        if cls == "specialty" and value in SPECIALTY:
            surface = SPECIALTY[value][0]  # as the guides write it: "time series", "computer vision"
        m = by_class.get(cls)
        if m is None:
            phrase = "for a {}" if cls == "client" and value.endswith("client") else _PHRASE.get(cls, "{}")
            inserts.append(_AN.sub(r"\1an \2", phrase.format(surface)))  # "for an enterprise client"
        elif m.value != value and replace:
            start = m.start
            if cls == "place" and out[:start].lower().endswith("the ") and value not in _THE_PLACES:
                start -= 4  # "in the uk" -> "in germany"
            out = out[:start] + surface + out[m.end:]
            by_class = {c: (x if x.start < m.start else _shift(x, len(surface) - (m.end - start)))
                        for c, x in by_class.items()}
    if not inserts:
        return out
    body = out.rstrip()
    end = ""
    while body and body[-1] in "?!.":
        end, body = body[-1] + end, body[:-1]
    return f"{body} {' '.join(inserts)}{end or ''}".strip()


def _shift(m, by: int):
    from dataclasses import replace

    return replace(m, start=m.start + by, end=m.end + by)
