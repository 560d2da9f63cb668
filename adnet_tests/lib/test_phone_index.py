"""phone_index: many new strings are parsed by several processes into the same table as one process makes."""

import pandas as pd

from adnet_assets.lib import phone_index
from adnet_assets.lib.phones import parse_phone_table

STRINGS = ["+47 412 34 567", "412 34 567 / 99 88 77 66", "fire en to tre fire fem seks sju", "0047-91234567",
           "ring 22 33 44 55 etter kl 18", "+46 70 123 45 67", "no digits here", "", "+358 40 1234567",
           "4I2 34 S67", "+45 20 12 34 56", "911 22 333 eller 922 33 444", "12.06.2026", "+47 4 1 2 3 4 5 6 7"]


def test_parts_parsed_by_workers_make_the_same_table(monkeypatch):
    todo = pd.DataFrame({"raw": [f"{s}{' ' * i}" for i in range(4) for s in STRINGS],
                         "default_country": ["NO", "SE", None, "DK"] * len(STRINGS)})
    todo = todo.drop_duplicates(ignore_index=True)
    here = parse_phone_table(todo)
    monkeypatch.setattr(phone_index, "PARALLEL_MIN_STRINGS", 10)
    pooled = phone_index._parse_in_parts(todo, workers=2)
    pd.testing.assert_frame_equal(pooled, here)
    assert len(here) > len(todo) // 2 and set(here["status"]) >= {"valid", "unparseable"}
    assert phone_index._parse_in_parts(todo.iloc[:0], workers=2).empty
