"""Synthetic sex-work advertising market with planted networks and traps.

``generate_market`` writes, under a data directory, what the crawlers and
extract tools would write (the *contract*)::

    snapshots/<site>/<snapshot_id>/ads.jsonl      one crawl of one site
    snapshots/<site>/<snapshot_id>/manifest.json  written last
    directory/*.csv                               phone-directory extracts
    billing/*.csv                                 billing records of recovered phones
    demo-truth/                                   the planted ground truth (never read by the pipeline)

Everything is synthetic: invented names, invented addresses, random numbers.
The output is a pure function of the arguments (same seed, same bytes).

Actors
------
* Independents (the majority): one woman, one or two ads, usually one number.
* Networks: several cells; numbers bought in runs of nearby numbers (series
  groups), ad IDs rotating through the numbers, numbers registered to a few
  owners/front persons whose names the directory spells in many ways, shared
  private flats, reused photos, tours between cities, Telegram handles.
* Traps: shopping-centre and phone-shop addresses shared by strangers,
  homonyms, chance neighbours in busy number blocks, boilerplate texts, stock
  photos, travelling independents, an independent with two ads and two numbers,
  a regular customer in the billing records, billing numbers shown in ads (a
  controller on its own network's ads, a regular customer on an unrelated
  independent's ad), and bad lines in the crawls.

See ``demo-truth/README.md`` (written with the data) for the truth files.

Where things are
----------------
This module holds ``generate_market``, which runs the steps in order (the order of the draws from
the one random stream is the output, so it is fixed), and re-exports the public names.

* ``model``        the contract's constants; Person, Ad, Cell, Network; MarketSummary
* ``market``       ``Market``: the state under construction and the shared basic draws
* ``networks``     planted networks and the links between their cells
* ``cells``        one cell of a network: numbers, owners, workers, ads
* ``independents`` the independents (and the special trap persons among them)
* ``traps``        public places shared by strangers, circulating stock photos, billing numbers in ads
* ``recovered``    recovered network phones: their controllers and customers, billing files
* ``billing``      the simulation of one recovered phone's billing events
* ``snapshots``    ad IDs, rendering a sighting, the crawl files and their bad lines
* ``directory``    the directory extracts
* ``truth``        the demo-truth files
* ``files``        atomic writes, CSV bytes, preparing the data folder
* ``names``, ``phones``, ``texts``: invented names and addresses, numbers and displays, ad texts
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path
from typing import Callable

from .directory import first_seen, write_directory
from .files import prepare_dir
from .independents import build_independents
from .market import Market, snapshot_dates
from .model import (
    BILLING_HEADER,
    DIRECTORY_HEADER,
    GENERATED_PARTS,
    INDEPENDENTS_PER_SCALE,
    MAIN_SITE,
    NORDIC_SITE,
    SITES,
    STOCK_MIN_ACTORS,
    TRUTH_MARKER,
    MarketSummary,
)
from .networks import build_networks
from .recovered import build_billing, write_billing
from .snapshots import assign_ids, write_snapshots
from .traps import plant_billing_in_ads, plant_public_places, spread_stock_photos
from .truth import write_truth

__all__ = [
    "MarketSummary", "generate_market", "SITES", "DIRECTORY_HEADER", "BILLING_HEADER",
    "GENERATED_PARTS", "snapshot_dates", "MAIN_SITE", "NORDIC_SITE", "STOCK_MIN_ACTORS", "TRUTH_MARKER",
]


def generate_market(data_dir: str | Path, *, seed: int = 7, weeks: int = 13, start: date = date(2026, 6, 1),
                    scale: float = 1.0, bad_lines: bool = True,
                    progress: Callable[[str], None] | None = None) -> MarketSummary:
    """Write a synthetic market (snapshots, directory, billing, truth) under ``data_dir``.

    Deterministic: the same arguments give byte-identical files.  Replaces the
    generated parts of an earlier demo market (snapshots/, directory/,
    billing/, demo-truth/) and leaves everything else in ``data_dir`` alone.
    """
    if scale <= 0:
        raise ValueError("scale must be > 0")
    data_dir = Path(data_dir)
    say = progress or (lambda _m: None)
    m = Market(seed, weeks, start, scale, bad_lines, progress)
    say(f"building actors (seed {seed}, scale {scale})")
    m.stock_photos = [m.photo() for _ in range(max(3, round(8 * math.sqrt(scale))))]
    n_ind = max(20, round(INDEPENDENTS_PER_SCALE * scale))
    m.setup_busy_blocks(n_ind)
    build_networks(m)
    build_independents(m)
    plant_public_places(m)
    build_billing(m)
    assign_ids(m)
    spread_stock_photos(m)
    plant_billing_in_ads(m)

    prepare_dir(data_dir)
    truth = data_dir / "demo-truth"
    crawls = write_snapshots(m, data_dir, bad_lines=bad_lines, say=say)
    say("writing directory extracts")
    seen = first_seen(m)
    write_directory(m, data_dir, seen)
    say("writing billing records")
    write_billing(m, data_dir)
    say("writing ground truth")
    summary = write_truth(m, truth, crawls.bad_records, seen)
    say(f"done: {crawls.n_snapshots} snapshots, {crawls.n_observations} observations, {summary['n_ads']} ads")
    return MarketSummary(
        data_dir=data_dir, seed=seed, n_snapshots=crawls.n_snapshots, n_observations=crawls.n_observations,
        n_ads=summary["n_ads"], n_phones=summary["n_phones"], n_networks=len(m.networks),
        n_bad_lines=len(crawls.bad_records), truth_dir=truth,
    )
