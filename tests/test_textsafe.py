"""Display-safe text: mentions, markup, invisible characters and formulas made inert."""

from __future__ import annotations

from bot.textsafe import (
    chat_read,
    display_cell,
    display_name,
    safe_user_text,
    spreadsheet_safe,
    visible_repr,
)


def test_mentions_never_survive():
    for raw in ("@everyone", "@here", "<@&123456789012345678>", "<@123456789012345678>", "@@everyoneeveryone"):
        shown = display_name(raw)
        assert "@everyone" not in shown and "@here" not in shown and "<@" not in shown


def test_invisible_and_bidi_characters_are_removed_and_names_cut():
    assert display_name("amount\u202egpj.exe") == "amountgpj.exe"
    assert display_name("zero\u200bwidth") == "zerowidth"
    long = display_name("L" * 10_000)
    assert len(long) == 64 and long.endswith("…")
    zalgo = display_name("z\u0336\u0334\u0335\u0337a")
    assert len(zalgo) <= 5


def test_markup_is_neutralised():
    shown = display_name("```\n@everyone\n```")
    assert "```" not in shown and "@everyone" not in shown and "\n" not in shown
    assert "](" not in display_name("[free nitro](https://evil.example/nitro)")
    assert display_name("# HUGE HEADING\n> quote").startswith("'#")
    assert "||" not in display_cell("||spoiler||")


def test_formulas_are_marked():
    assert display_cell('=HYPERLINK("http://evil.example","x")').startswith("'=")
    assert spreadsheet_safe("+cmd|' /C calc'!A0").startswith("'+")
    assert spreadsheet_safe("-5") == "-5" and spreadsheet_safe("-2+3+cmd").startswith("'")


def test_visible_repr_shows_look_alikes():
    assert visible_repr("t\u0430rget") == "t\\u0430rget"


def test_user_text_mentions_are_inert():
    assert "@everyone" not in safe_user_text("hi @everyone")


def test_chat_read_leaves_out_emoji_marks_and_a_leading_command():
    assert chat_read("`/q` should i bother with a dummy baseline? 🤷") == "should i bother with a dummy baseline?"
    assert chat_read("**urgent** what deposit 🙏🏽 for a 3 month gig") == "urgent what deposit for a 3 month gig"
    assert chat_read("@bot whats a fair TJM") == "whats a fair TJM"
    assert chat_read("whats 17 * 243") == "whats 17 * 243"  # a product stays a product
    assert chat_read("use `cross_val_score` and i/o") == "use cross_val_score and i/o"


def test_chat_read_keeps_the_words_and_reads_mentions_as_someone():
    assert chat_read("<@!42> says £300/day <a:wave:99> is fine, see <https://x.io/a?b=1>") == \
        "someone says £300/day is fine, see"
    assert chat_read("ask <@&7> in <#8> by <t:1700000000:F>") == "ask someone in by"
    assert chat_read("<not a token> 3 < 5 > 2") == "<not a token> 3 < 5 > 2"


def test_mentions_a_question_opens_with_are_its_addressee_not_its_subject():
    assert chat_read("<@99> <#5> What is the UK median ML day rate?") == "What is the UK median ML day rate?"
    assert chat_read("<@99>, how do i price a POC") == "how do i price a POC"
    assert chat_read("<@99> charges £300, is that low?") == "someone charges £300, is that low?"
