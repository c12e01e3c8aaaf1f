"""Messy exports: summary and repeated header rows, missing-value markers decided per column,
European number and date formats, and the column kinds that follow (short text, entity IDs).

Every file here is generated with its truth planted; none is a copy of a development file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bot.config import Scope
from bot.scoping.convert import as_float, convert_table, is_categorical, is_datetime
from bot.scoping.load import load_table
from bot.scoping.profile import profile_table

LIMITS = Scope()


def typed(text: str):
    return convert_table(load_table(path=None, data=text.encode("utf-8"), filename="x.csv", limits=LIMITS), LIMITS)


def codes(t) -> list[str]:
    return [w["code"] for w in t.warnings]


def invoices(rng: np.random.Generator, n: int = 200) -> pd.DataFrame:
    return pd.DataFrame({
        "invoice": [f"INV-{7000 + i}" for i in range(n)],
        "client": rng.choice(["Acme", "Globex", "Initech", "Umbrella"], n),
        "region": rng.choice(["EU", "NA", "APAC", "LATAM"], n),
        "fee": np.round(rng.lognormal(7, 0.6, n), 2),
        "hours": rng.integers(2, 80, n),
        "paid_late": rng.choice(["yes", "no"], n),
    })


@pytest.mark.parametrize("label", ["Total", "Grand total", "Gesamt", "TOTAL:", "Summe", "Totale", "合計"])
def test_a_trailing_total_row_is_reported_and_left_out(label):
    df = invoices(np.random.default_rng(1))
    total = {"invoice": label, "client": "", "region": "", "fee": round(df.fee.sum(), 2), "hours": df.hours.sum(),
             "paid_late": ""}
    t = typed(pd.concat([df, pd.DataFrame([total])]).to_csv(index=False))
    assert t.frame.rows == len(df)
    assert "summary_rows" in codes(t)
    assert as_float(t.frame["fee"]).max() == pytest.approx(df.fee.max())
    assert profile_table(t).columns["invoice"].kind == "id"  # not mixed text and numbers


def test_a_total_row_without_a_label_is_found_by_its_sums():
    df = invoices(np.random.default_rng(2))
    total = {"invoice": "", "client": "", "region": "", "fee": round(df.fee.sum(), 2), "hours": df.hours.sum(),
             "paid_late": ""}
    t = typed(pd.concat([df, pd.DataFrame([total])]).to_csv(index=False))
    assert t.frame.rows == len(df) and "summary_rows" in codes(t)


def test_subtotals_inside_the_file_and_repeated_headers_are_left_out():
    rng = np.random.default_rng(3)
    blocks = []
    for k in range(4):
        df = invoices(rng, 60)
        blocks.append(df.to_csv(index=False, header=(k == 0)))
        blocks.append(f"Subtotal,,,{df.fee.sum():.2f},{df.hours.sum()},\n")
        if k < 3:
            blocks.append("invoice,client,region,fee,hours,paid_late\n")  # the header again at a page break
    t = typed("".join(blocks))
    assert t.frame.rows == 240
    messages = " ".join(w["message"] for w in t.warnings if w["code"] == "summary_rows")
    assert "4 summary row" in messages and "3 repeated header row" in messages
    assert t.info["fee"].kind == "numeric" and "mixed_types" not in codes(t)


def test_a_summary_word_that_is_a_frequent_category_stays():
    rng = np.random.default_rng(4)
    df = invoices(rng)
    df["plan"] = rng.choice(["Total", "Partial", "None"], len(df))  # a real category named like a total
    t = typed(df.to_csv(index=False))
    assert t.frame.rows == len(df) and "summary_rows" not in codes(t)


def test_na_is_a_code_where_the_column_holds_codes_and_missing_elsewhere():
    rng = np.random.default_rng(5)
    df = invoices(rng)
    df["contact"] = rng.choice(["Ann Lee", "Bo Chan", "NA", "Cy Ott", "Di Nu"], len(df))
    df["discount"] = np.where(rng.random(len(df)) < 0.2, "NA", rng.integers(0, 30, len(df)).astype(str))
    t = typed(df.to_csv(index=False))
    region = t.frame["region"]
    assert is_categorical(region) and "NA" in list(region.categories)
    assert (np.asarray(region.codes) >= 0).all()  # none missing
    assert "NA" not in list(t.frame["contact"].categories)
    assert t.info["discount"].kind == "numeric" and np.isnan(as_float(t.frame["discount"])).sum() > 20
    assert "mixed_types" not in codes(t)


@pytest.mark.parametrize("marker", ["-", "--", "\u2013", "?", "n.a.", "k.A.", "#NV", "#DIV/0!"])
def test_placeholders_are_missing_values_not_formulas_or_words(marker):
    rng = np.random.default_rng(6)
    df = invoices(rng)
    df["fee"] = df["fee"].astype(object)
    df.loc[rng.random(len(df)) < 0.1, "fee"] = marker
    df["note"] = rng.choice(["urgent", "repeat client", marker], len(df))
    t = typed(df.to_csv(index=False))
    assert t.info["fee"].kind == "numeric"
    assert "formula_cells" not in codes(t) and "mixed_types" not in codes(t)
    w = [x for x in t.warnings if x["code"] == "missing_markers" and x["column"] == "fee"]
    assert w and "missing" in w[0]["message"]
    assert marker not in list(t.frame["note"].categories)


def test_a_german_export_is_typed_right():
    rng = np.random.default_rng(7)
    n = 300
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    pay = rng.lognormal(8.1, 0.3, n)

    def euro(x: float) -> str:
        return "€" + f"{x:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")

    rows = ["Nr;Bereich;Beginn;Stunden;Gehalt;Aktiv"]
    rows += [f"{20000 + i};{rng.choice(['Nord', 'Süd'])};{start[i]:%d.%m.%Y};{rng.choice([38.5, 40.0, 20.0])};"
             f"{euro(pay[i])};{rng.choice(['ja', 'nein'])}".replace("38.5", "38,5").replace("40.0", "40,0")
             .replace("20.0", "20,0") for i in range(n)]
    rows.append(f"Gesamt;;;;{euro(pay.sum())};")
    t = typed("\n".join(rows) + "\n")
    assert t.frame.rows == n and "summary_rows" in codes(t)
    assert is_datetime(t.frame["Beginn"]) and str(t.frame["Beginn"][0])[:10] == f"{start[0]:%Y-%m-%d}"
    assert as_float(t.frame["Gehalt"]).max() == pytest.approx(pay.max(), abs=0.01)
    assert set(as_float(t.frame["Stunden"])) <= {38.5, 40.0, 20.0}
    assert is_categorical(t.frame["Aktiv"]) and set(t.frame["Aktiv"].categories) == {"ja", "nein"}
    assert profile_table(t).columns["Nr"].kind == "id"


def test_short_text_entity_codes_and_dense_keys_get_their_kinds():
    rng = np.random.default_rng(8)
    n = 3000
    verbs = ["cannot open", "please reset", "question about", "invoice for", "access to", "broken"]
    things = ["laptop", "the portal", "my account", "order {}", "room {}", "the printer", "payroll"]
    subjects = [f"{rng.choice(verbs)} {rng.choice(things).format(rng.integers(100, 999))}" for _ in range(n)]
    df = pd.DataFrame({
        "ticket_no": rng.permutation(900_000 + np.arange(n)),          # a unique key in no order
        "agent": [f"AG-{x}" for x in rng.integers(1000, 1060, n)],      # 60 agents, ~50 rows each
        "subject": subjects,
        "team": rng.choice(["it", "hr", "finance"], n),
    })
    p = profile_table(typed(df.to_csv(index=False)))
    assert p.columns["subject"].kind == "text" and p.columns["subject"].stats["text"] == "short"
    assert p.columns["agent"].kind == "id" and p.columns["agent"].group_id
    assert p.columns["ticket_no"].kind == "id"
    assert p.columns["team"].kind == "categorical"
