"""Invented names, places and addresses for the synthetic demo market.

Everything here is made up: first names and surnames are common name *parts*
combined at random, streets are generic street names, and the shopping
centres and phone shops do not exist.  The functions that produce spelling
variants (``name_variant``, ``address_variants``) imitate how a phone directory
writes the same person or the same flat in many different ways.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# --------------------------------------------------------------------------
# cities and markets
# --------------------------------------------------------------------------

#: city -> (country, weight, postcode range low, postcode range high)
CITIES: dict[str, tuple[str, int, int, int]] = {
    "Oslo": ("NO", 40, 150, 1295),
    "Bergen": ("NO", 14, 5003, 5098),
    "Trondheim": ("NO", 10, 7010, 7099),
    "Stavanger": ("NO", 9, 4005, 4099),
    "Kristiansand": ("NO", 5, 4608, 4639),
    "Drammen": ("NO", 4, 3015, 3048),
    "Tromsø": ("NO", 4, 9006, 9020),
    "Fredrikstad": ("NO", 3, 1601, 1639),
    "Bodø": ("NO", 2, 8003, 8028),
    "Ålesund": ("NO", 2, 6002, 6018),
    "Haugesund": ("NO", 2, 5501, 5542),
    "Stockholm": ("SE", 16, 11120, 11895),
    "Göteborg": ("SE", 8, 41101, 41878),
    "Malmö": ("SE", 6, 21110, 21774),
    "Uppsala": ("SE", 2, 75220, 75655),
    "København": ("DK", 12, 1050, 2450),
    "Aarhus": ("DK", 5, 8000, 8270),
    "Odense": ("DK", 2, 5000, 5270),
    "Helsinki": ("FI", 10, 100, 990),
    "Tampere": ("FI", 3, 33100, 33900),
    "Turku": ("FI", 2, 20100, 20900),
}

COUNTRIES = ("NO", "SE", "DK", "FI")


def cities_of(country: str) -> list[str]:
    return [c for c, v in CITIES.items() if v[0] == country]


def city_country(city: str) -> str:
    return CITIES[city][0]


def pick_city(rng: random.Random, country: str) -> str:
    cs = cities_of(country)
    return rng.choices(cs, weights=[CITIES[c][1] for c in cs])[0]


def postcode(rng: random.Random, city: str) -> str:
    country, _, lo, hi = CITIES[city]
    n = rng.randint(lo, hi)
    if country == "SE":
        s = f"{n:05d}"
        return f"{s[:3]} {s[3:]}"
    if country == "FI":
        return f"{n:05d}"
    return f"{n:04d}"


# --------------------------------------------------------------------------
# person names (name parts only; combinations are random and invented)
# --------------------------------------------------------------------------

FEMALE_FIRST = [
    # Norwegian / Nordic
    "Kari", "Ingrid", "Anne", "Marit", "Hilde", "Silje", "Ida", "Nora", "Emma", "Sofie",
    "Line", "Tone", "Randi", "Hege", "Camilla", "Mari", "Kristin", "Elin", "Ragnhild",
    "Solveig", "Astrid", "Synnøve", "Åse", "Bjørg", "Torill", "Guro", "Maren", "Thea",
    "Vilde", "Tuva", "Sigrid", "Liv", "Ragna", "Gunhild", "Marte", "Stine", "Trine",
    "Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Johanna", "Malin", "Linnéa",
    "Frida", "Åsa", "Märta", "Ebba", "Signe", "Mette", "Pernille", "Sanna", "Aino",
    "Helmi", "Kaisa", "Satu",
    # wider Europe and beyond
    "Ana", "Ioana", "Elena", "Andreea", "Mihaela", "Alina", "Natalia", "Olga", "Irina",
    "Daria", "Kristina", "Jurgita", "Rasa", "Agnieszka", "Katarzyna", "Małgorzata",
    "Zsófia", "Oksana", "Lucía", "Valentina", "Camila", "Siriporn", "Nattaya", "Malee",
    "Joy", "Grace", "Amina", "Leila", "Bianca", "Roxana", "Monika", "Ewa", "Lina",
    "Viktoria", "Svetlana", "Dóra", "Renáta", "Ilona", "Beatriz", "Inês", "Chloé",
]

MALE_FIRST = [
    "Ole", "Lars", "Per", "Jan", "Kjetil", "Bjørn", "Håkon", "Jørgen", "Erik", "Karl",
    "Anders", "Nils", "Mikael", "Geir", "Trond", "Rune", "Stian", "Øyvind", "Andrei",
    "Mihai", "Ionuț", "Marius", "Tomas", "Darius", "Piotr", "Paweł", "Sergei", "Dmitri",
    "Ahmed", "Omar", "Viktor", "Gabriel", "Florin", "Adrian", "Aleksander", "Janusz",
    "Emil", "Sebastian", "Lukas", "Matteo",
]

MIDDLE = ["Marie", "Elisabeth", "Louise", "Kristine", "Helene", "Sofie", "Johanne", "Irene"]

SURNAMES = [
    "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
    "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg",
    "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen",
    "Halvorsen", "Henriksen", "Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen",
    "Iversen", "Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen",
    "Paulsen", "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Rønning",
    "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke", "Kristensen", "Fredriksen",
    "Holm", "Lien", "Hauge", "Christensen", "Andresen", "Østby", "Ødegård", "Aasen",
    "Sæther", "Brænden", "Fjeld", "Myklebust", "Løvås", "Grønvold", "Skåre", "Vik",
    "Aune", "Tangen", "Bråthen", "Kvamme", "Lindqvist", "Åberg", "Söderström", "Björk",
    "Engström", "Nyström", "Lindgren", "Sjöberg", "Popescu", "Ionescu", "Dumitrescu",
    "Stan", "Munteanu", "Constantin", "Kazlauskienė", "Petrauskaitė", "Jankauskienė",
    "Nowak", "Kowalska", "Wiśniewska", "Wójcik", "Ivanova", "Petrova", "Smirnova",
    "Horváth", "Szabó", "Srisuk", "Chaiyaphum", "Wongsa", "García", "Fernández",
    "Okafor", "Mensah", "Haddad", "Kovač", "Novák", "Müller", "Öztürk", "Ruiz",
    "Sandvik", "Håland", "Tveit", "Økland", "Rasmussen", "Madsen", "Virtanen",
    "Mäkinen", "Korhonen",
]

#: the advertised first names (what the ads call the woman)
AD_NAMES = [
    "Lina", "Anastasia", "Bella", "Sofia", "Nikki", "Mia", "Vanessa", "Kristina", "Daria",
    "Alina", "Nora", "Emma", "Jasmin", "Luna", "Amanda", "Nathalie", "Monica", "Linda",
    "Jessica", "Angel", "Kitty", "Diana", "Victoria", "Roxy", "Lola", "Eva", "Sabrina",
    "Julia", "Nina", "Stella", "Tina", "Camilla", "Vera", "Sandra", "Elsa", "Tiffany",
    "Candy", "Lucy", "Mona", "Sara", "Naomi", "Chanel", "Maja", "Ida", "Hanna", "Karolina",
    "Paula", "Ruby", "Scarlett", "Mira", "Zara", "Leah", "Gina", "Tara", "Noor", "Ella",
]


@dataclass(frozen=True)
class PersonName:
    first: str
    last: str
    middle: str = ""

    @property
    def canonical(self) -> str:
        parts = [self.first] + ([self.middle] if self.middle else []) + [self.last]
        return " ".join(parts)


def random_name(rng: random.Random, *, male: bool = False, middle_p: float = 0.08) -> PersonName:
    first = rng.choice(MALE_FIRST if male else FEMALE_FIRST)
    last = rng.choice(SURNAMES)
    middle = rng.choice(MIDDLE) if (not male and rng.random() < middle_p) else ""
    return PersonName(first, last, middle)


# --------------------------------------------------------------------------
# spelling variants of names, as a phone directory produces them
# --------------------------------------------------------------------------

_ASCII_MAP = {
    "ø": ("o", "oe"), "Ø": ("O", "Oe"), "å": ("a", "aa"), "Å": ("A", "Aa"),
    "æ": ("ae", "a"), "Æ": ("Ae", "A"), "ö": ("o", "oe"), "Ö": ("O", "Oe"),
    "ä": ("a", "ae"), "Ä": ("A", "Ae"), "ü": ("u", "ue"), "é": ("e", "e"),
    "á": ("a", "a"), "ó": ("o", "o"), "í": ("i", "i"), "ł": ("l", "l"), "ś": ("s", "s"),
    "ń": ("n", "n"), "ș": ("s", "s"), "ț": ("t", "t"), "ė": ("e", "e"), "ą": ("a", "a"),
    "ę": ("e", "e"), "ż": ("z", "z"), "ź": ("z", "z"), "ć": ("c", "c"), "ê": ("e", "e"),
    "Ș": ("S", "S"), "Ł": ("L", "L"), "č": ("c", "c"),
}


def has_diacritics(s: str) -> bool:
    return any(ch in _ASCII_MAP for ch in s)


def asciify(s: str, style: int = 0) -> str:
    """Strip diacritics: style 0 = 'Sorensen', style 1 = 'Soerensen'."""
    return "".join(_ASCII_MAP[ch][style] if ch in _ASCII_MAP else ch for ch in s)


def _transpose(rng: random.Random, w: str) -> str:
    if len(w) < 4:
        return w
    i = rng.randint(1, len(w) - 3)
    if w[i] == w[i + 1]:
        i = max(1, i - 1)
    return w[:i] + w[i + 1] + w[i] + w[i + 2:]


def _drop_letter(rng: random.Random, w: str) -> str:
    if len(w) < 5:
        return w
    # prefer dropping one of a double letter ("Nordmann" -> "Nordman")
    for i in range(1, len(w) - 1):
        if w[i] == w[i + 1]:
            return w[:i] + w[i + 1:]
    i = rng.randint(1, len(w) - 2)
    return w[:i] + w[i + 1:]


def _extra_letter(rng: random.Random, w: str) -> str:
    if len(w) < 3:
        return w
    i = rng.randint(1, len(w) - 2)
    return w[: i + 1] + w[i] + w[i + 1:]


#: the kinds of variant ``name_variant`` can make
VARIANT_KINDS = (
    "canonical", "upper", "swapped", "upper_swapped", "initial", "initial_nodot",
    "double_space", "transposed", "missing_letter", "extra_letter", "ascii", "ascii_oe",
    "comma", "lower", "no_middle",
)


def name_variant(rng: random.Random, name: PersonName, kind: str) -> str:
    """One spelling of ``name`` of the given kind (see ``VARIANT_KINDS``)."""
    f, m, last = name.first, name.middle, name.last
    full_first = f"{f} {m}" if m else f
    if kind == "canonical":
        return name.canonical
    if kind == "upper":
        return name.canonical.upper()
    if kind == "swapped":
        return f"{last} {full_first}"
    if kind == "upper_swapped":
        return f"{last} {full_first}".upper()
    if kind == "initial":
        return f"{f[0]}. {last}"
    if kind == "initial_nodot":
        return f"{f[0]} {last}".upper() if rng.random() < 0.5 else f"{f[0]} {last}"
    if kind == "double_space":
        return f"{full_first}  {last}"
    if kind == "transposed":
        if rng.random() < 0.7:
            return f"{full_first} {_transpose(rng, last)}"
        return f"{_transpose(rng, f)} {last}"
    if kind == "missing_letter":
        return f"{full_first} {_drop_letter(rng, last)}"
    if kind == "extra_letter":
        if rng.random() < 0.5:
            return f"{_extra_letter(rng, f)} {last}"
        return f"{full_first} {_extra_letter(rng, last)}"
    if kind == "ascii":
        return asciify(name.canonical, 0)
    if kind == "ascii_oe":
        return asciify(name.canonical, 1)
    if kind == "comma":
        return f"{last}, {full_first}"
    if kind == "lower":
        return name.canonical.lower()
    if kind == "no_middle":
        return f"{f} {last}"
    raise ValueError(kind)


def random_variant(rng: random.Random, name: PersonName, kinds: tuple[str, ...] | list[str] | None = None) -> str:
    kinds = list(kinds or VARIANT_KINDS)
    if not has_diacritics(name.canonical):
        kinds = [k for k in kinds if k not in ("ascii", "ascii_oe")] or ["canonical"]
    if not name.middle:
        kinds = [k for k in kinds if k != "no_middle"] or ["canonical"]
    return name_variant(rng, name, rng.choice(kinds))


# --------------------------------------------------------------------------
# addresses
# --------------------------------------------------------------------------

STREETS = {
    "NO": [
        "Storgata", "Kirkegata", "Parkveien", "Skolegata", "Bjørkeveien", "Granlia",
        "Solbakken", "Fjellveien", "Havnegata", "Strandveien", "Løkkeveien", "Bakkeveien",
        "Eikeveien", "Lindealléen", "Møllergata", "Torggata", "Sjøgata", "Nygata",
        "Dronningens gate", "Kongens gate", "Søndre gate", "Nordre gate", "Åsveien",
        "Ringveien", "Furuveien", "Lyngveien", "Tunveien", "Vestre vei", "Østre vei",
        "Tollbugata", "Jernbanegata", "Prestegårdsveien", "Kløverveien", "Steinbruveien",
        "Elvegata", "Brugata", "Rådhusgata", "Smedgata", "Tårnveien", "Blåbærstien",
    ],
    "SE": ["Storgatan", "Kyrkogatan", "Drottninggatan", "Skolgatan", "Björkvägen", "Sjögatan",
           "Hamngatan", "Ringvägen", "Åsgatan", "Kvarngatan"],
    "DK": ["Vestergade", "Østergade", "Nørregade", "Søndergade", "Skolevej", "Kirkevej",
           "Møllevej", "Strandvejen", "Bøgevej", "Havnegade"],
    "FI": ["Mannerheimintie", "Hämeenkatu", "Aleksanterinkatu", "Puistokatu", "Koulukatu",
           "Rantatie", "Kirkkokatu", "Satamakatu"],
}


@dataclass(frozen=True)
class Address:
    """A private address; ``flat`` is a Norwegian H-number ('H0201') or similar."""

    street: str
    number: int
    letter: str
    flat: str
    postcode: str
    city: str
    country: str

    @property
    def line(self) -> str:
        """The canonical street line ('Storgata 12 B, H0201')."""
        s = f"{self.street} {self.number}"
        if self.letter:
            s += f" {self.letter}"
        if self.flat:
            s += f", {self.flat}"
        return s

    @property
    def full(self) -> str:
        return f"{self.line}, {self.postcode} {self.city}"

    @property
    def building_key(self) -> tuple:
        return (self.street, self.number, self.letter, self.city)


def random_address(rng: random.Random, city: str, *, flat_p: float = 0.45) -> Address:
    country = CITIES[city][0]
    street = rng.choice(STREETS[country])
    number = rng.randint(1, 140)
    letter = rng.choice("ABCD") if rng.random() < 0.3 else ""
    flat = ""
    if rng.random() < flat_p:
        floor = rng.randint(1, 6)
        door = rng.randint(1, 4)
        if country == "NO":
            flat = f"H{floor:02d}{door:02d}"
        elif country == "SE":
            flat = f"lgh {1000 + floor * 100 + door}"
        elif country == "DK":
            flat = f"{floor}. {rng.choice(['tv', 'th', 'mf'])}"
        else:
            flat = f"as. {floor * 10 + door}"
    return Address(street, number, letter, flat, postcode(rng, city), city, country)


_ABBREV = [("gata", "gt."), ("gate", "gt."), ("veien", "vn."), ("vegen", "vn."), ("gatan", "g.")]


def address_variants(addr: Address) -> list[str]:
    """Different ways a directory writes the same street line, canonical first."""
    base = f"{addr.street} {addr.number}"
    out = [addr.line]
    if addr.letter:
        out.append(f"{addr.street} {addr.number}{addr.letter}".upper())
        out.append(f"{addr.street} {addr.number}{addr.letter.lower()}")
        if addr.flat:
            out.append(f"{addr.street} {addr.number}{addr.letter} {addr.flat}")
    else:
        out.append(base.upper())
        if addr.flat:
            out.append(f"{base} {addr.flat}")
    abbrev = addr.street
    for long, short in _ABBREV:
        if addr.street.endswith(long):
            abbrev = addr.street[: -len(long)] + short
            break
    if abbrev != addr.street:
        out.append(f"{abbrev} {addr.number}{(' ' + addr.letter) if addr.letter else ''}")
    if addr.flat.startswith("H") and len(addr.flat) == 5:
        out.append(f"{addr.street} {addr.number}{addr.letter}, leil. {int(addr.flat[1:])}")
    out.append(addr.line.lower())
    if has_diacritics(addr.street):
        out.append(asciify(addr.line, 1 if "ø" in addr.street else 0))
    seen: dict[str, None] = {}
    for v in out:
        seen.setdefault(v, None)
    return list(seen)


# --------------------------------------------------------------------------
# shopping centres and phone shops (invented)
# --------------------------------------------------------------------------

#: (name, street line, postcode, city, kind)
PUBLIC_PLACES = [
    ("Storsenteret", "Torget 1", "0154", "Oslo", "shopping_centre"),
    ("Telebutikken", "Kirkegata 5", "0153", "Oslo", "phone_shop"),
    ("Fjordsenteret", "Havnegata 3", "5003", "Bergen", "shopping_centre"),
    ("MobilXpress Grønland", "Tøyengata 8", "0190", "Oslo", "phone_shop"),
    ("Nidelv Storsenter", "Kjøpmannsgata 20", "7013", "Trondheim", "shopping_centre"),
    ("Mobilsenteret", "Strandgaten 18", "5013", "Bergen", "phone_shop"),
    ("Sentrumsgården", "Kirkegata 9", "4006", "Stavanger", "shopping_centre"),
    ("Ring & Surf", "Markens gate 30", "4611", "Kristiansand", "phone_shop"),
]


def public_place_variants(place: tuple) -> list[str]:
    name, street, *_ = place
    return [f"{name}, {street}", f"{name} {street}".upper(), f"{street} ({name})", f"{name}, {street}".lower(),
            f"{street}, {name}"]
