"""Unit tests of the Discord rendering: 2,000-character pages and embed limits (no Discord needed)."""

from __future__ import annotations

import re
import unicodedata

import discord
import pytest

from bot.discord.render import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    MESSAGE_LIMIT,
    defang,
    embed_problems,
    group_embeds,
    make_embed,
    paginate,
    safe_filename,
    shown,
    strip_bot_mention,
    text_embeds,
    thread_name,
    truncate,
)

SOURCES = "\n".join(f"[{i}] Section {i} of a long guide title ({'x' * 40}.md) <https://example.org/{i}>"
                    for i in range(1, 6))


def _balanced(page: str) -> bool:
    fences = [ln for ln in page.split("\n") if ln.strip().startswith("```")]
    if len(fences) % 2:
        return False
    outside = re.sub(r"```.*?```", "", page, flags=re.S)
    return outside.count("`") % 2 == 0


def test_short_text_is_one_page():
    assert paginate("hello") == ["hello"]
    assert paginate("") == []


@pytest.mark.parametrize("limit", [MESSAGE_LIMIT, 500, 120])
def test_pages_respect_the_limit_and_keep_every_word(limit):
    text = "\n\n".join(f"Paragraph {i}: " + "word " * 90 + "`inline code span`" for i in range(30)) + "\n\n" + SOURCES
    pages = paginate(text, limit)
    assert len(pages) > 1 and all(len(p) <= limit for p in pages)
    assert re.sub(r"\s+", " ", " ".join(pages)).strip() == re.sub(r"\s+", " ", text).strip()
    assert all(_balanced(p) for p in pages)


def test_citations_and_links_are_never_split():
    text = ("intro " * 300) + "\n\nSources:\n" + SOURCES
    pages = paginate(text, 400)
    citations = [ln for p in pages for ln in p.split("\n") if re.match(r"^\[\d\] ", ln)]
    assert citations == SOURCES.split("\n")
    long_line = " ".join(f"see [{i}] and <https://example.org/page/{i}> and [docs](https://example.org/d{i})"
                         for i in range(40))
    for page in paginate(long_line, 300):
        assert len(page) <= 300
        assert page.count("<") == page.count(">") and page.count("](") == page.count("[docs]")


def test_code_fences_are_closed_and_reopened_never_split_open():
    code = "```python\n" + "\n".join(f"x_{i} = {i}  # a line of code" for i in range(300)) + "\n```"
    text = "Here is the code:\n\n" + code + "\n\nAfter the code."
    pages = paginate(text, MESSAGE_LIMIT)
    assert len(pages) >= 4 and all(len(p) <= MESSAGE_LIMIT for p in pages)
    for page in pages:
        assert _balanced(page), page[:80]
    fenced = [p for p in pages if "x_1 = 1" in p or "x_299" in p]
    assert all(p.count("```python") == 1 for p in fenced)


def test_unterminated_fence_from_a_guide_is_closed():
    pages = paginate("# Onboarding\n\n```\nunterminated code fence\n" + "more text\n" * 400, 600)
    assert all(_balanced(p) for p in pages) and all(len(p) <= 600 for p in pages)


def test_a_single_huge_token_is_cut_hard():
    pages = paginate("a" * 5000, MESSAGE_LIMIT)
    assert [len(p) for p in pages] == [2000, 2000, 1000]
    spans = paginate("`" + "b" * 4500 + "`", MESSAGE_LIMIT)
    assert all(len(p) <= MESSAGE_LIMIT and _balanced(p) for p in spans)


def test_truncate_keeps_a_note():
    out = truncate("line\n" * 3000, 4000, note="(full report attached)")
    assert len(out) <= 4000 and out.endswith("(full report attached)")


def test_embed_parts_are_cut_to_discord_limits():
    embed = make_embed(title="T" * 400, description="d" * 9000,
                       fields=[(f"name{i}" * 60, "v" * 3000, False) for i in range(40)],
                       footer="f" * 3000)
    assert embed_problems([embed]) == []
    assert len(embed.title) <= 256 and len(embed.description) <= DESCRIPTION_LIMIT
    assert len(embed.fields) <= 25 and len(embed) <= EMBED_TOTAL_LIMIT
    assert len(embed.footer.text) <= 2048


def test_long_text_becomes_embeds_grouped_within_message_limits():
    text = "\n".join(f"- item {i}: " + "detail " * 20 for i in range(800))
    embeds = text_embeds(text, title="Report", footer="id s-1")
    assert len(embeds) > 10 and embeds[0].title == "Report" and embeds[-1].footer.text == "id s-1"
    groups = group_embeds(embeds)
    assert sum(len(g) for g in groups) == len(embeds)
    for group in groups:
        assert embed_problems(group) == []
        assert len(group) <= 10 and sum(len(e) for e in group) <= EMBED_TOTAL_LIMIT


def test_embed_problems_detects_violations():
    bad = discord.Embed(title="t" * 300, description="d" * 5000)
    assert "title > 256" in embed_problems([bad]) and "description > 4096" in embed_problems([bad])
    assert embed_problems([discord.Embed(description="x")] * 11) == ["11 embeds > 10"]


def test_mentions_are_defanged_in_text_and_embeds():
    assert "@everyone" not in defang("hi @everyone and @here <@&123456789012345678>")
    embed = make_embed(title="@everyone", description="@here", fields=[("@everyone", "<@123456789012345678>", False)])
    assert "@everyone" not in str(embed.to_dict()) and "@here" not in str(embed.to_dict())


def test_names_and_filenames_are_display_safe():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("my guide (v2).md") == "my_guide_v2_.md"
    assert safe_filename("\u202egnp.exe") == "gnp.exe"
    assert "@everyone" not in shown("@everyone`")
    assert shown("a`b").count("`") == 2
    assert strip_bot_mention("<@42> hello <@!42>", 42) == "hello"


MASKED_LINK = re.compile(r"\[[^\]\n]*\]\(")


def test_no_message_carries_a_masked_link():
    """Whatever a guide, a model or a user wrote, the bot's own messages never hold a clickable [text](url)."""
    from bot.discord.answers import answer_pages

    hostile = "See [the official rates](https://evil.example/x) and [docs]\u200b(https://evil.example/y)."
    assert not MASKED_LINK.search(defang(hostile))
    assert "https://evil.example/x" in defang(hostile)  # the address stays visible, just not disguised
    pages, _ = answer_pages({"answer": hostile, "sources": [{"section": "[x](https://evil.example)", "source": "a.md"}]})
    assert pages and not any(MASKED_LINK.search(p) for p in pages)
    embed = make_embed(title=hostile, description=hostile, fields=[(hostile, hostile, False)], footer=hostile)
    assert not MASKED_LINK.search(str(embed.to_dict()))


def test_thread_names_carry_no_mentions_bidi_or_zero_width_characters():
    raw = "<@123456789012345678> \u202eevil\u202c why\u200b start with <@&123456789012345678> a @everyone baseline <#123456789012345678>?"
    name = thread_name(raw)
    assert name == "evil why start with a everyone baseline ?"
    assert all(unicodedata.category(ch) not in ("Cf", "Cc") for ch in name)
    assert len(thread_name("word " * 100)) <= 90 and thread_name("<@123456789012345678>") == "Question"


def test_a_long_file_name_keeps_its_extension():
    name = safe_filename("a-very-long-guide-name-" * 5 + "about-rates.md")
    assert len(name) <= 80 and name.endswith(".md")
