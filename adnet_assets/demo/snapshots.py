"""The crawls: ad IDs on the sites, what each sighting of an ad looks like, and the snapshot files.

``assign_ids`` numbers the ads on each site in order of appearance. ``tail`` writes one
sighting of an ad as the crawler would (numbers rendered in the ad's style, ``display``
recording every displayed string and refusing ambiguous ones). ``write_snapshots`` writes every
crawl (``snapshots/<site>/<snapshot_id>/ads.jsonl``, then its ``manifest.json``) and spoils a
few lines the way real crawls do (HTML error pages, truncated JSON, a missing ad_id, phones as
one string, invalid UTF-8), returning the record of those bad lines.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from . import billing as B
from . import names as N
from . import phones as PH
from . import texts as T
from .files import atomic_write, iso_z
from .market import Market
from .model import MAIN_SITE, NORDIC_SITE, SITES, Ad

BAD_REASONS = ("not_json", "truncated_json", "missing_ad_id", "phones_not_list", "invalid_utf8")


def assign_ids(m: Market) -> None:
    """Number each site's ads in order of appearance (IDs, URLs, keys); drop ads never seen."""
    rng = m.rng
    for site in SITES:
        ads = [a for a in m.ads if a.site == site and a.snaps]
        ads.sort(key=lambda a: a.birth)  # stable: creation order breaks ties
        n = 4_810_000 if site == MAIN_SITE else 204_000
        for ad in ads:
            n += rng.randint(1, 9)
            if site == MAIN_SITE:
                ad.ad_id = str(n)
                ad.url = f"https://{site}/annonse/{ad.ad_id}"
            else:
                ad.ad_id = f"NE-{n}"
                ad.url = f"https://{site}/ad/{ad.ad_id.lower()}"
            ad.key = f"{site}:{ad.ad_id}"
    m.ads = [a for a in m.ads if a.snaps]


def display(m: Market, phone: str, style: PH.Style, country: str) -> str:
    """How ``phone`` is written in ``style`` in an ad of ``country``; recorded in ``m.displays``."""
    key = (phone, style, country)
    raw = m.render_cache.get(key)
    if raw is None:
        raw, obf = PH.render(phone, style, country)
        m.render_cache[key] = raw
        prev = m.displays.get((raw, country))
        if prev is not None and prev[0] != phone:
            raise AssertionError(f"display {raw!r} ({country}) is ambiguous: {prev[0]} / {phone}")
        m.displays[(raw, country)] = (phone, obf)
    return raw


def tail(m: Market, ad: Ad, i: int) -> str:
    """The JSON of sighting ``i`` of ``ad`` after its ad_id and seen_at (cached while unchanged)."""
    city = ad.obs_city[i]
    phones = ad.obs_phones[i]
    epoch = 1 if i >= ad.restyle_at else 0
    tour = ad.tours[i] if ad.tours is not None else ()
    key = (phones, city, epoch, tour)
    if key == ad.last_key:
        return ad.last_tail
    country = N.CITIES[city][0]
    d = {
        "url": ad.url, "country": country, "city": city,
        "title": T.render_title(ad.title_idx, name=ad.name, age=ad.age, city=city),
        "text": ad.text, "name": ad.name, "age": ad.age,
        "phones": [display(m, p, ad.styles[p][epoch], country) for p in phones],
        "images": [{"url": f"https://{ad.site}/media/{ad.ad_id}/{k + 1}.jpg", "sha256": sha, "phash": f"{ph:016x}"}
                   for k, (sha, ph) in enumerate(ad.imgs)],
        "tour": [{"city": c, "from": f, "to": t} for c, f, t in tour],
        "contact": ad.contact,
    }
    ad.last_key = key
    ad.last_tail = json.dumps(d, ensure_ascii=False)[1:]
    return ad.last_tail


def make_bad(rng: random.Random, reason: str, line: str) -> bytes:
    """Spoil a crawl line for ``reason`` (one of ``BAD_REASONS``)."""
    if reason == "not_json":
        return rng.choice([
            "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>try again</body></html>",
            "ERROR fetch failed: read timeout after 30s",
            "null, null, null",
        ]).encode("utf-8")
    if reason == "truncated_json":
        return line[: max(20, int(len(line) * rng.uniform(0.3, 0.8)))].encode("utf-8")
    d = json.loads(line)
    if reason == "missing_ad_id":
        del d["ad_id"]
        return json.dumps(d, ensure_ascii=False).encode("utf-8")
    if reason == "phones_not_list":
        d["phones"] = " / ".join(d["phones"])
        return json.dumps(d, ensure_ascii=False).encode("utf-8")
    if reason == "invalid_utf8":
        b = line.encode("utf-8")
        for ch in ("ø", "å", "æ", "ö", "ä", "é"):
            enc = ch.encode("utf-8")
            if enc in b:
                return b.replace(enc, ch.encode("latin-1"), 1)
        i = b.index(b'"text": "') + 9
        return b[:i] + b"\xff\xfe" + b[i:]
    raise ValueError(reason)


@dataclass
class Crawls:
    """What ``write_snapshots`` wrote."""

    n_snapshots: int
    n_observations: int
    bad_records: list[dict]  # file, line, reason, ad_key; sorted by file and line


def write_snapshots(m: Market, data_dir: Path, *, bad_lines: bool, say: Callable[[str], None]) -> Crawls:
    """Write every crawl of every site; with ``bad_lines``, spoil a few lines and record them."""
    rng = m.rng
    scale = m.scale
    by_snap: dict[tuple[str, int], list[tuple[Ad, int]]] = {}
    for ad in m.ads:
        for i, s in enumerate(ad.snaps):
            by_snap.setdefault((ad.site, s), []).append((ad, i))
    jobs = [(s, site) for s in range(m.S) for site in SITES]
    bad_plan: dict[tuple[str, int], list[str]] = {}
    if bad_lines:
        n_bad = max(5, min(40, round(8 * math.sqrt(scale))))
        reasons = list(BAD_REASONS) + [rng.choice(BAD_REASONS) for _ in range(n_bad - len(BAD_REASONS))]
        for reason in reasons:
            s, site = rng.choice(jobs)
            if by_snap.get((site, s)):
                bad_plan.setdefault((site, s), []).append(reason)
    bad_records = []
    victims: set[str] = set()
    n_obs = 0
    snapshot_count = 0
    for jn, (s, site) in enumerate(jobs):
        entries = by_snap.get((site, s), [])
        if not entries:
            continue
        day = m.dates[s]
        started = datetime(day.year, day.month, day.day, 6, 0, tzinfo=timezone.utc) + timedelta(
            minutes=rng.randint(0, 90))
        sid = started.strftime("%Y-%m-%dT%H%MZ")
        snapshot_count += 1
        say(f"writing snapshot {jn + 1}/{len(jobs)} {site}/{sid} ({len(entries)} ads)")
        order = entries[:]
        rng.shuffle(order)
        gap = min(1.5, 9000.0 / max(1, len(order)))
        t = 3.0
        local = site == NORDIC_SITE
        offset_h = B.oslo_offset_hours(started.replace(tzinfo=None) + timedelta(hours=1)) if local else 0
        lines: list[str] = []
        for ad, i in order:
            t += rng.uniform(0.3, 1.7) * gap
            ts = started + timedelta(seconds=int(t))
            if local:
                ts_s = (ts + timedelta(hours=offset_h)).strftime("%Y-%m-%dT%H:%M:%S") + f"+{offset_h:02d}:00"
            else:
                ts_s = ts.strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append('{"ad_id": "' + ad.ad_id + '", "seen_at": "' + ts_s + '", ' + tail(m, ad, i))
        finished = started + timedelta(seconds=int(t) + rng.randint(5, 90))
        rel = f"snapshots/{site}/{sid}/ads.jsonl"
        reasons = bad_plan.get((site, s), [])
        if reasons:
            cands = [k for k, (ad, _i) in enumerate(order) if len(ad.snaps) >= 3 and ad.key not in victims]
            picks = rng.sample(cands, min(len(cands), len(reasons)))
            bad_at = {}
            for k, reason in zip(picks, reasons):
                bad_at[k] = make_bad(rng, reason, lines[k])
                bad_records.append({"file": rel, "line": k + 1, "reason": reason,
                                    "ad_key": order[k][0].key})
                victims.add(order[k][0].key)
            data = b"\n".join(bad_at[k] if k in bad_at else ln.encode("utf-8") for k, ln in enumerate(lines)) + b"\n"
            n_obs += len(lines) - len(bad_at)
        else:
            data = ("\n".join(lines) + "\n").encode("utf-8")
            n_obs += len(lines)
        folder = data_dir / "snapshots" / site / sid
        atomic_write(folder / "ads.jsonl", data)
        manifest = {
            "site": site, "snapshot_id": sid, "started_at": iso_z(started), "finished_at": iso_z(finished),
            "ads": len(lines),
            "files": {"ads.jsonl": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}},
        }
        atomic_write(folder / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        for ad, _i in order:  # release the cached JSON of ads that will not be seen again
            if _i == len(ad.snaps) - 1:
                ad.last_key, ad.last_tail = None, ""
    bad_records.sort(key=lambda r: (r["file"], r["line"]))
    return Crawls(snapshot_count, n_obs, bad_records)
