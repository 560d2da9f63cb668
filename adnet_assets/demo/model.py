"""The demo market's vocabulary: the file contract's constants and the actors' data model.

* the contract: the two crawled sites, the directory and billing CSV headers, the parts of a data
  folder the generator writes and the marker file of its truth folder;
* the size knobs: independents and networks per unit of ``scale``, network code names;
* the model the builders fill in: ``Person`` (independent, worker, owner, front, controller,
  customer), ``Ad`` (one ad over its life: the snapshots it is seen in, the numbers and city of
  each sighting, photos, text), ``Cell`` (one operating unit of a network: numbers bought in
  runs, owners, workers, ads) and ``Network`` (planted cells and what links them);
* ``MarketSummary``, what ``generate_market`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import names as N
from . import phones as PH

MAIN_SITE = "eskorte-annonser.example"
NORDIC_SITE = "nordic-escorts.example"
SITES = (MAIN_SITE, NORDIC_SITE)
# a stock photo is shown by at least this many unrelated actors (the pipeline calls a photo stock
# when it spreads over more than 3 phone groups; see adnet_assets.lib.photos)
STOCK_MIN_ACTORS = 6
GENERATED_PARTS = ("snapshots", "directory", "billing", "demo-truth")
DIRECTORY_HEADER = ["phone", "name", "address", "postcode", "city", "listed_at"]
BILLING_HEADER = ["subscriber", "timestamp", "direction", "kind", "counterpart", "duration_s", "network", "country"]
TRUTH_MARKER = "generator.json"

#: independents at scale 1.0 (about 2,800 of the ~3,000 ads)
INDEPENDENTS_PER_SCALE = 2250
#: networks at scale 1.0
NETWORKS_PER_SCALE = 10

CODENAMES = [
    "Amber", "Birch", "Coral", "Dune", "Ember", "Fjord", "Garnet", "Heath", "Iris", "Juniper",
    "Kestrel", "Lotus", "Moss", "Nimbus", "Onyx", "Pine", "Quartz", "Rowan", "Saffron", "Tundra",
    "Umber", "Violet", "Willow", "Yarrow", "Zephyr",
]

#: the ways a directory may spell a network owner's name
HEAVY_KINDS = ("canonical", "upper", "swapped", "upper_swapped", "initial", "initial_nodot", "double_space",
               "transposed", "missing_letter", "extra_letter", "ascii", "ascii_oe", "comma")


@dataclass
class MarketSummary:
    data_dir: Path
    seed: int
    n_snapshots: int
    n_observations: int
    n_ads: int
    n_phones: int
    n_networks: int
    n_bad_lines: int
    truth_dir: Path


class Person:
    __slots__ = ("id", "name", "address", "kind", "network_id", "ad_name", "age", "photos")

    def __init__(self, pid: str, name: N.PersonName | None, address: N.Address | None, kind: str,
                 network_id: str = ""):
        self.id = pid
        self.name = name
        self.address = address
        self.kind = kind
        self.network_id = network_id
        self.ad_name = ""
        self.age = 0
        self.photos: list[tuple[str, int]] = []

    @property
    def canonical(self) -> str:
        return self.name.canonical if self.name else self.ad_name


class Ad:
    __slots__ = ("site", "ad_id", "key", "network_id", "cell_id", "person_id", "name", "age", "text",
                 "text_ids", "title_idx", "imgs", "contact", "snaps", "obs_phones", "obs_city",
                 "tours", "styles", "restyle_at", "birth", "order", "url", "last_key", "last_tail", "formula")

    def __init__(self):
        self.text_ids: list[str] = []
        self.tours: list | None = None
        self.styles: dict[str, tuple[PH.Style, PH.Style]] = {}
        self.restyle_at = 10**9
        self.last_key = None
        self.last_tail = ""
        self.formula = False
        self.network_id = ""
        self.cell_id = ""


@dataclass
class Cell:
    id: str
    network_id: str
    route: list[str]
    groups: list[list[str]] = field(default_factory=list)
    loose: list[str] = field(default_factory=list)
    owners: list[Person] = field(default_factory=list)
    workers: list[Person] = field(default_factory=list)
    ads: list[Ad] = field(default_factory=list)
    telegram: str = ""
    whatsapp: bool = False
    text_base: str = ""
    lang: str = "no"

    @property
    def phones(self) -> list[str]:
        return [p for g in self.groups for p in g] + self.loose


@dataclass
class Network:
    id: str
    name: str
    kind: str
    nordic: bool
    cells: list[Cell] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    billing: bool = False
