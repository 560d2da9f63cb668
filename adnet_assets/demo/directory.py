"""The phone-directory extracts: who each shown number is registered to, as looked up twice.

A number is looked up once it has been seen in an ad: numbers first seen in the first half of the
crawls are in the first extract (``directory/lookup-<middle date>.csv``), the others in the second
(``lookup-<after the last crawl>.csv``), and a few early ones are looked up again. Numbers are
written the ways directories write them (``phones.directory_display``), each recorded in the
truth's displays.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from . import phones as PH
from .files import atomic_write, csv_bytes
from .market import Market
from .model import DIRECTORY_HEADER


def first_seen(m: Market) -> dict[str, int]:
    """Number -> index of the first snapshot an ad shows it in (only numbers shown in ads)."""
    out: dict[str, int] = {}
    for ad in m.ads:
        for i, t in enumerate(ad.obs_phones):
            for p in t:
                s = ad.snaps[i]
                if out.get(p, 10**9) > s:
                    out[p] = s
    return out


def write_directory(m: Market, data_dir: Path, seen: dict[str, int]) -> None:
    """The two lookup CSVs of every listed number shown in an ad (``seen``: from ``first_seen``)."""
    rng = m.rng
    mid = m.S // 2
    batch1, batch2 = [], []
    for phone, rows in m.listings.items():
        if phone not in seen:
            continue
        for row in rows:
            disp = PH.directory_display(rng, phone)
            m.displays.setdefault((disp, "NO"), (phone, False))
            out = [disp] + row[:5]
            (batch1 if seen[phone] <= mid else batch2).append(out)
            if seen[phone] <= mid and rng.random() < 0.08:  # looked up again later
                disp2 = PH.directory_display(rng, phone)
                m.displays.setdefault((disp2, "NO"), (phone, False))
                batch2.append([disp2] + row[:5])
    rng.shuffle(batch1)
    rng.shuffle(batch2)
    d1 = m.dates[mid].isoformat()
    d2 = (m.dates[-1] + timedelta(days=3)).isoformat()
    atomic_write(data_dir / "directory" / f"lookup-{d1}.csv", csv_bytes(DIRECTORY_HEADER, batch1))
    atomic_write(data_dir / "directory" / f"lookup-{d2}.csv", csv_bytes(DIRECTORY_HEADER, batch2))
