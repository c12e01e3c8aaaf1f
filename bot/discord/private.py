"""Private results shared by several cogs (/rate, /ratecalc, /quote and the like): ephemeral embeds with
the "Share to channel" and "DM me a copy" buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord

from bot.discord.common import in_dm, reply
from bot.discord.render import COLOR_PRIVATE, group_embeds, make_embed, text_embeds
from bot.discord.views import PrivateResultView
from bot.textsafe import cut, display_cell

DM_CONTEXTS = {"guilds": True, "dms": True, "private_channels": True}


async def send_private(interaction: discord.Interaction, text: str, *, title: str,
                       files: Callable[[], list[discord.File]] | None = None,
                       share: Callable[[], dict[str, Any]] | None = None) -> None:
    """A private result as embeds (paged within every limit), with the share and DM-copy buttons."""
    groups = group_embeds(text_embeds(text, title=title, color=COLOR_PRIVATE))

    def private_payload() -> dict[str, Any]:
        payload: dict[str, Any] = {"embeds": groups[0]}
        if files is not None:
            payload["files"] = files()
        return payload

    view = None
    if not in_dm(interaction):
        view = PrivateResultView(interaction.user.id, private_payload=private_payload, share_payload=share,
                                 in_guild=True)
    for i, embeds in enumerate(groups):
        last = i == len(groups) - 1
        await reply(interaction, embeds=embeds, files=files() if (last and files) else (), ephemeral=True,
                    view=view if last else None)


def share_payload(markdown: str, title: str, user: discord.abc.User) -> Callable[[], dict[str, Any]]:
    """What "Share to channel" posts: a version of the result without the person's figures, signed."""
    def make() -> dict[str, Any]:
        embed = make_embed(title=title, description=markdown, footer=f"Shared by {cut(display_cell(user.display_name, 60), 60)}")
        return {"embeds": [embed]}
    return make
