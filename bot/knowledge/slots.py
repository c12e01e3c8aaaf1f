"""Slots: the details a follow-up can change while the question stays the same.

A slot is a class (place, seniority, specialty, engagement, platform, client, duration) and a value.
The values are those of the data: seniorities and specialties are the rate cards' own values
(junior, mid, senior, lead; llm, nlp, cv, timeseries, mlops), places are the rate cards' regions and
the guides' jurisdictions. A short table of ordinary English words for them (demonyms, abbreviations,
synonyms) lets "german" find Germany; it is general vocabulary, never a question of any question set.

Which places a guide is about is read from its front matter (jurisdiction and tags); a guide whose
jurisdiction is "any" or "General ..." is about no place in particular.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.knowledge import gazetteer

CLASSES = ("place", "seniority", "specialty", "engagement", "ir35", "platform", "client", "duration")

# Places: canonical name -> (aliases, parent). Parents link a city to its country and a country to
# its region, so a guide on the DACH region is not in conflict with a question on Germany.
PLACES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "united kingdom": (("uk", "u.k.", "britain", "great britain", "british", "england", "english", "scotland",
                        "scottish", "wales", "welsh", "northern ireland", "hmrc"), None),
    "london": (("london", "city of london"), "united kingdom"),
    "united states": (("usa", "u.s.", "u.s.a.", "united states", "america", "american", "the states", "irs"), None),
    "california": (("california", "californian"), "united states"),
    "new york": (("new york", "nyc"), "united states"),
    "san francisco": (("san francisco", "bay area", "silicon valley"), "united states"),
    "texas": (("texas",), "united states"),
    "european union": (("eu", "european union", "europe", "european"), None),
    "dach": (("dach",), "european union"),
    "germany": (("germany", "german", "deutschland", "berlin", "munich", "hamburg", "frankfurt"), "dach"),
    "austria": (("austria", "austrian", "vienna"), "dach"),
    "switzerland": (("switzerland", "swiss", "zurich", "geneva"), "dach"),
    "france": (("france", "french"), "european union"),
    "paris": (("paris", "ile-de-france", "île-de-france"), "france"),
    "netherlands": (("netherlands", "dutch", "holland", "amsterdam"), "european union"),
    "spain": (("spain", "spanish", "madrid", "barcelona"), "european union"),
    "italy": (("italy", "italian"), "european union"),
    "ireland": (("ireland", "irish", "dublin"), "european union"),
    "portugal": (("portugal", "portuguese", "lisbon"), "european union"),
    "poland": (("poland", "polish"), "european union"),
    "belgium": (("belgium", "belgian"), "european union"),
    "sweden": (("sweden", "swedish"), "european union"),
    "denmark": (("denmark", "danish"), "european union"),
    "norway": (("norway", "norwegian"), None),
    "canada": (("canada", "canadian", "toronto"), None),
    "australia": (("australia", "australian", "sydney"), None),
    "new zealand": (("new zealand",), None),
    "india": (("india", "indian"), None),
    "japan": (("japan", "japanese", "tokyo"), None),
    "china": (("china", "chinese"), None),
    "singapore": (("singapore",), None),
    "brazil": (("brazil", "brazilian"), None),
    "mexico": (("mexico", "mexican"), None),
    "south africa": (("south africa",), None),
    "nigeria": (("nigeria", "nigerian"), None),
    "israel": (("israel", "israeli"), None),
    "uae": (("uae", "dubai", "emirates"), None),
    "ukraine": (("ukraine", "ukrainian"), None),
    "romania": (("romania", "romanian"), "european union"),
    "global": (("global", "worldwide", "international"), None),
}
# Short codes are places only in capitals ("US client"), since "us" and "at" are ordinary words.
CODES = {"US": "united states", "UK": "united kingdom", "EU": "european union", "DE": "germany", "CH": "switzerland",
         "FR": "france", "NL": "netherlands"}
# Lower-case "us" is the United States when it qualifies a noun that a place qualifies, or after "the"
# ("and in the us?": the pronoun never follows "the").
_THE_US = re.compile(r"\bthe us\b(?![-'’])")
_US_NOUN = re.compile(r"\bus[- ](?=((remote|tech|ml|ai|saas|big|small|large|enterprise)\s+)?"
                      r"(client|clients|company|companies|law|laws|based|market|rates?|contracts?|"
                      r"contractors?|startups?|customers?|firms?|jurisdiction|version|entity|llc|federal|"
                      r"salary|salaries|jobs?|employers?|agency|agencies)\b)")

SENIORITY = {"junior": ("junior", "juniors", "jr", "entry level", "entry-level", "graduate", "graduates", "grad",
                        "grads", "beginner", "beginners"),
             "mid": ("mid", "mid-level", "mid level", "intermediate", "midweight", "mid-weight"),
             "senior": ("senior", "seniors", "sr", "experienced", "seasoned"),
             "lead": ("lead", "principal", "staff", "head of")}
SPECIALTY = {"llm": ("llm", "llms", "rag", "genai", "gen ai", "generative ai", "large language model",
                     "large language models", "gpt", "chatbot", "chatbots"),
             "nlp": ("nlp", "natural language processing", "text mining"),
             "cv": ("computer vision", "computer-vision", "image recognition", "vision models"),
             "timeseries": ("time series", "time-series", "timeseries", "forecasting", "forecast"),
             "mlops": ("mlops", "ml ops", "ml platform", "ml infrastructure"),
             "gpu": ("gpu", "gpus", "cuda")}
ENGAGEMENT = {"hourly": ("hourly", "per hour", "by the hour", "hourly rate"),
              "daily": ("day rate", "daily rate", "per day", "by the day", "daily"),
              "fixed": ("fixed price", "fixed-price", "fixed fee", "fixed-fee", "fixed scope", "fixed-scope", "fixed bid"),
              "time and materials": ("time and materials", "time-and-materials", "time & materials", "t&m", "tnm"),
              "retainer": ("retainer", "retainers", "on retainer"),
              "value-based": ("value-based", "value based", "value pricing"),
              "advisory": ("advisory", "consulting", "consultancy"),
              "permanent": ("permanent role", "perm role", "full-time job", "employee", "salaried")}
# IR35 status is its own detail: "what about outside ir35?" after a day-rate question keeps the day rate.
IR35 = {"inside ir35": ("inside ir35", "inside of ir35", "caught by ir35", "deemed employee"),
        "outside ir35": ("outside ir35", "outside of ir35")}
PLATFORMS = ("upwork", "fiverr", "toptal", "malt", "yunojuno", "freelancer.com", "peopleperhour", "contra",
             "braintrust", "gun.io", "freelancermap", "gulp", "free-work", "guru", "linkedin", "payoneer",
             "arc.dev", "turing", "andela", "codementor", "comatch", "catalant", "expert360")
CLIENT = {"new client": ("new client", "first-time client", "first time client", "a new customer"),
          "repeat client": ("repeat client", "returning client", "existing client", "long-term client",
                            "long term client", "regular client", "old client"),
          "startup": ("startup", "start-up", "scale-up", "scaleup"),
          "enterprise": ("enterprise", "corporate", "big company", "large company", "multinational"),
          "agency": ("agency", "recruiter", "consultancy client"),
          "public sector": ("public sector", "government", "nhs", "council", "university"),
          "non-technical": ("non technical", "non-technical", "nontechnical", "non tech", "non-tech", "business people",
                            "exec", "execs", "executive", "executives", "ceo", "board"),
          "technical": ("technical", "engineers", "data team", "tech team", "technical team", "developers")}
# Names that alone are as often something else ("cv scores", "my CV", "a lead went silent", "mid project"):
# they name a seniority or specialty only before a role or a kind of work ("cv engineer", "lead data scientist").
_PEOPLE = ("engineer", "developer", "dev", "data scientist", "scientist", "ml engineer", "consultant", "contractor",
           "freelancer", "specialist", "analyst", "architect", "role", "position", "level")
_WORK = ("work", "project", "contract", "rate", "day rate", "skill", "job", "gig", "model")
_AMBIGUOUS = {"cv": _PEOPLE + _WORK, "lead": _PEOPLE, "mid": _PEOPLE}
_QUALIFIED = re.compile(r"(?<![\w-])(" + "|".join(_AMBIGUOUS) + r")(?=[ -](\w+(?: \w+)?))", re.I)


def _qualified(name: str, after: str) -> bool:
    """Do the one or two words after an ambiguous name make it a role ("lead data scientists")?"""
    following = after.lower().split(" ")
    return any(" ".join(following[:n]).removesuffix("s") in _AMBIGUOUS[name.lower()] for n in (1, 2))


_PLAIN = re.compile(r"\b(plain|simple|good|proper|basic)\s+$", re.I)
_NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen|twenty-four|a|an"
_WORDS = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_OWNED = re.compile(r"('s|s'|’s)?\s+(project|projects|code|codebase|repo|repository|work|data|dataset|model|notebooks?)\b",
                    re.I)
_EXPERIENCE_BEFORE = re.compile(r"\b(after|with|over|since)\s+(about\s+|around\s+|nearly\s+|almost\s+)?$", re.I)
_EXPERIENCE_AFTER = re.compile(r"\s*(of\s+)?(experience|exp\b|xp\b|ago\b|in\s+(the\s+)?(field|industry|ml|data|tech))", re.I)
_DURATION = re.compile(rf"\b(\d{{1,3}}|{_NUMBER_WORDS})[- ]?(week|month|year|yr)s?(?:[- ]long)?\b", re.I)
_PER_BEFORE = re.compile(r"\b(days?|hours?|hrs?|h|times|evenings?|weekends?|sessions?|calls?|meetings?)\s*$", re.I)
_NEUTRAL_JURISDICTION = re.compile(r"^\s*(any|general|global|worldwide)\b", re.I)


@dataclass(frozen=True)
class Mention:
    cls: str
    value: str
    start: int
    end: int
    surface: str


@dataclass
class Vocabulary:
    """Surface phrases -> (class, value), places' parents, and the places the guides cover."""

    terms: dict[str, tuple[str, str]]
    parents: dict[str, str | None]
    _pattern: re.Pattern | None = None
    # The gazetteer's places (plain words, looked up by word n-grams: one pattern of thousands of names
    # would cost milliseconds per sentence).
    places: dict[str, str] = field(default_factory=dict)
    _starts: dict[str, int] = field(default_factory=dict)  # a name's first word -> the most words of its names
    _about: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)  # guide_places, by front matter
    _headed: dict[str, frozenset[str]] = field(default_factory=dict)  # heading_places, by section path

    def __post_init__(self):
        phrases = sorted((t for t in self.terms if t not in _AMBIGUOUS), key=len, reverse=True)
        body = "|".join(re.escape(p) for p in phrases) or "(?!x)x"
        self._pattern = re.compile(rf"(?<![\w-])({body})(?![\w-])", re.I)
        for name in self.places:
            first, n = name.split()[0], len(name.split())
            self._starts[first] = max(n, self._starts.get(first, 0))

    def find(self, text: str) -> list[Mention]:
        """Slot mentions in a text, longest phrase first, not overlapping, in reading order."""
        found: list[Mention] = []
        taken: list[tuple[int, int]] = []

        def add(cls: str, value: str, start: int, end: int) -> None:
            if any(start < e and s < end for s, e in taken):
                return
            taken.append((start, end))
            found.append(Mention(cls, value, start, end, text[start:end]))

        for m in self._pattern.finditer(text):
            if _PLAIN.search(text[: m.start(1)]) and m.group(1).lower() == "english":
                continue  # "in plain english" is a way of saying, not England
            cls, value = self.terms[m.group(1).lower()]
            owned = _OWNED.match(text[m.end(1):])
            if cls == "client" and owned and (owned.group(1) or m.group(1).lower().endswith(("client", "customer"))):
                continue  # "code from an old client project": whose work it was, not the kind of client
            add(cls, value, m.start(1), m.end(1))
        for m in _QUALIFIED.finditer(text):
            name = m.group(1).lower()
            if name in self.terms and _qualified(name, m.group(2)):
                cls, value = self.terms[name]
                add(cls, value, m.start(1), m.end(1))
        if self.places:
            tokens = list(_WORDS.finditer(text))
            folded = [w.lower() if w.isascii() else gazetteer.fold(w) for w in (t.group(0) for t in tokens)]
            for i, first in enumerate(folded):
                longest = self._starts.get(first)
                for n in range(min(longest or 0, len(tokens) - i), 0, -1):
                    name = " ".join(folded[i:i + n])
                    if name in self.places:
                        add("place", self.places[name], tokens[i].start(), tokens[i + n - 1].end())
                        break
        for code, value in CODES.items():
            for m in re.finditer(rf"(?<![\w-]){code}(?![\w-])", text):
                add("place", value, m.start(), m.end())
        for m in _US_NOUN.finditer(text.lower()):
            add("place", "united states", m.start(), m.start() + 2)
        for m in _THE_US.finditer(text.lower()):
            add("place", "united states", m.end() - 2, m.end())
        for m in _DURATION.finditer(text):
            if _EXPERIENCE_BEFORE.search(text[: m.start()]) or _EXPERIENCE_AFTER.match(text[m.end():]):
                continue  # "after 3 years", "5 yrs of experience": the asker's experience, no contract length
            if m.group(1).lower() in ("a", "an") and _PER_BEFORE.search(text[: m.start()]):
                continue  # "3 days a week", "20 hours a month": how much one works, no contract length
            n = m.group(1).lower()
            n = "1" if n in ("a", "an", "one") else n
            add("duration", f"{n} {m.group(2).lower().replace('yr', 'year')}", m.start(), m.end())
        return sorted(found, key=lambda x: x.start)

    def words(self) -> set[str]:
        """Every word of the names it knows (platforms, places, seniorities ...), in lower case."""
        return {w for name in (*self.terms, *self.places) for w in re.findall(r"[a-z]+", name.lower())}

    def slots(self, text: str) -> dict[str, str]:
        """The first value of each class mentioned in a text."""
        out: dict[str, str] = {}
        for m in self.find(text):
            out.setdefault(m.cls, m.value)
        return out

    def ancestors(self, place: str) -> list[str]:
        """The places above a place, nearest first (its country, then region)."""
        out: list[str] = []
        above = self.parents.get(place)
        while above and above != place and above not in out and len(out) < 8:
            out.append(above)
            above = self.parents.get(above)
        return out

    def lineage(self, place: str) -> set[str]:
        """A place and every place above it (city, country, region)."""
        return {place, *self.ancestors(place)} if place else set()

    def related(self, a: str, b: str) -> bool:
        return a in self.lineage(b) or b in self.lineage(a)

    def guide_places(self, meta: dict[str, Any]) -> set[str] | None:
        """The places a guide is about, or None when it is general (jurisdiction 'any', 'General ...')."""
        jurisdiction = str(meta.get("jurisdiction") or "")
        if not jurisdiction or _NEUTRAL_JURISDICTION.match(jurisdiction):
            return None
        key = (jurisdiction, str(meta.get("tags", "")))
        if key not in self._about:  # read once per guide: a place question weighs every candidate's guide
            text = " ".join([jurisdiction, key[1].replace("-", " ")])
            self._about[key] = frozenset({m.value for m in self.find(text) if m.cls == "place"} - {"global"})
        return set(self._about[key]) or None

    def heading_places(self, section: str) -> set[str]:
        """The places a section's own heading names (the last part of its path), read once per section."""
        if section not in self._headed:
            heading = section.rsplit(" > ", 1)[-1]
            self._headed[section] = frozenset(m.value for m in self.find(heading) if m.cls == "place")
        return set(self._headed[section])



def build(rate_book=None) -> Vocabulary:
    """The vocabulary: the tables above plus the rate cards' regions (a region not named above becomes a
    place of its own, under its parent region)."""
    terms: dict[str, tuple[str, str]] = {}
    parents: dict[str, str | None] = {}
    for name, (aliases, parent) in PLACES.items():
        parents[name] = parent
        for alias in (name, *aliases):
            terms[alias] = ("place", name)
    if rate_book is not None:
        _add_regions(rate_book, terms, parents)
    extra: dict[str, str] = {}
    _add_gazetteer(terms, parents, extra)
    for table, cls in ((SENIORITY, "seniority"), (SPECIALTY, "specialty"), (ENGAGEMENT, "engagement"),
                       (IR35, "ir35"), (CLIENT, "client")):
        for value, aliases in table.items():
            for alias in (value, *aliases):
                terms.setdefault(alias, (cls, value))
    for name in PLATFORMS:
        terms.setdefault(name, ("platform", name))
    return Vocabulary(terms, parents, places=extra)


def _add_gazetteer(terms, parents, extra) -> None:
    """Every other country, US state and large city (gazetteer.py), under its country or region; a name
    the table above already has keeps its meaning ("munich" is Germany, "emirates" the UAE)."""
    def value_of(name: str | None) -> str | None:
        if not name:
            return None
        known = terms.get(name)
        return known[1] if known and known[0] == "place" else name

    for name, value, parent in gazetteer.places():
        if name in terms:
            continue
        place = value_of(value)
        extra[name] = place
        parents.setdefault(place, value_of(parent))


def _add_regions(book, terms, parents) -> None:
    names = {}
    for code, region in book.regions.items():
        name = re.sub(r"\s*\(.*?\)", "", region.name).strip().lower()
        known = terms.get(name) or terms.get(code.lower())
        names[code] = known[1] if known and known[0] == "place" else name
        if not known:
            terms[name] = ("place", name)
    for code, region in book.regions.items():
        if region.parent in names and names[code] != names[region.parent]:
            parents.setdefault(names[code], names[region.parent])
