"""Invented ad texts for the synthetic demo market.

``BOILERPLATE`` paragraphs are copied across many unrelated ads (ad texts are
copied Europe-wide); sharing one is therefore *not* evidence of a network.
Some texts carry HTML markup or emojis, and a few start with ``=``, ``+`` or
``@`` so that spreadsheet exports downstream must defuse formulas.

One fragment per language asks for payment by app or a deposit first (Vipps, Swish,
MobilePay, Revolut/PayPal): network cells and independents draw fragments from the same pools,
so payment hints appear in both, as in real markets (``red_flags.payment_hint`` is a screening
signal, not a network detector). "Kun avtaler på forhånd" (appointments in advance) is the
near miss: it is not a payment. The hints replace the text of existing fragments rather than
adding new ones, so that the pools keep their sizes and the random stream, hence the rest of the
market, stays the same for a given seed.
"""

from __future__ import annotations

import random

#: template paragraphs copied across unrelated ads (text_id -> text)
BOILERPLATE: dict[str, str] = {
    "bp01": "Jeg er en søt og leken jente som elsker å gi deg en avslappende stund. Diskret leilighet i sentrum, ren og trygg. Kun seriøse henvendelser!",
    "bp02": "Ny i byen 💋 Bare noen få dager! Ring eller send SMS, jeg svarer så fort jeg kan. Ingen skjult nummer.",
    "bp03": "<b>Ekte bilder 100%</b><br>Hyggelig, blid og naturlig. Jeg tar imot deg i min private leilighet eller kommer til hotellet ditt.",
    "bp04": "Hej älskling! Jag är en söt tjej som älskar att träffa nya vänner. Diskret lägenhet nära centrum. Ring mig 😘",
    "bp05": "Hi gentlemen! Real photos, no surprises. Elegant, discreet and always smiling. Incall and outcall, 24/7. No withheld numbers please.",
    "bp06": "Sweet girl visiting your city for a short time only ✨ Book early, my calendar fills up fast. SMS preferred.",
    "bp07": "Hej søde! Jeg er ny i byen og glæder mig til at møde dig. Diskret og hyggelig lejlighed. Ring eller skriv 💕",
    "bp08": "<i>Velkommen!</i> Jeg er åpen, ærlig og elsker god stemning. Ta kontakt for en hyggelig prat – bare voksne herrer over 25 år.",
    "bp09": "Jeg snakker engelsk og litt norsk. Kun SMS først, takk. Ikke ring med skjult nummer. 🌹🌹🌹",
    "bp10": "NEW NEW NEW!!! Just arrived, young and fresh, perfect body. Call me now, available day and night 🔥",
    "bp11": "Trenger du en pause fra hverdagen? Jeg er her for deg – varm, søt og diskré. Parkering rett utenfor døra.",
    "bp12": "Sød og naturlig pige med smil på læben. Privat og diskret. Jeg taler engelsk. 🍓",
    "bp13": "Hyvää päivää! I am a friendly girl in the city centre, real photos, discreet apartment. English only, please 😊",
    "bp14": "Åpen for det meste 😉 Hygienisk og trygg. Du vil ikke angre! Send melding på WhatsApp eller Telegram.",
}

BOILERPLATE_LANG = {"bp01": "no", "bp02": "no", "bp03": "no", "bp04": "sv", "bp05": "en", "bp06": "en",
                    "bp07": "da", "bp08": "no", "bp09": "no", "bp10": "en", "bp11": "no", "bp12": "da",
                    "bp13": "en", "bp14": "no"}

INTROS = {
    "no": [
        "Hei! Jeg heter {name}, {age} år, og er nettopp kommet til {city}.",
        "Hei kjære, jeg er {name} ({age}) fra {origin}, nå i {city}.",
        "{name} her 💋 {age} år, søt og blid – i {city} denne uka.",
        "Hei, {name} heter jeg. {age} år gammel, bor i {city}.",
    ],
    "sv": [
        "Hej! Jag heter {name}, {age} år, ny i {city}.",
        "Hej raring, {name} här ({age}), just nu i {city}.",
    ],
    "da": [
        "Hej, jeg hedder {name}, {age} år, ny i {city}.",
        "{name} ({age}) – nu i {city} 💕",
    ],
    "en": [
        "Hi, I'm {name}, {age} years old, visiting {city}.",
        "Hello darling! {name} here, {age}, from {origin}, now in {city}.",
        "My name is {name} ({age}) and I'm in {city} for a few days only.",
    ],
}

ORIGINS = ["Romania", "Spania", "Brasil", "Thailand", "Latvia", "Ukraina", "Polen", "Ungarn", "Norge",
           "Sverige", "Colombia", "Nigeria", "Litauen", "Bulgaria", "Italia"]

#: fragments combined at random into texts that are mostly unique
FRAGMENTS = {
    "no": [
        "Jeg er naturlig og hyggelig, og elsker å le.", "Diskret leilighet nær stasjonen.",
        "Kun avtaler på forhånd.", "Ikke skjult nummer, takk.", "Jeg kan komme til deg.",
        "Jeg snakker engelsk og litt norsk.", "Sen kveld er ok. Depositum på Vipps før avtalen.",
        "Ingen stress, god tid.",
        "Ekte bilder, ingen overraskelser.", "Dusj tilgjengelig 🚿", "Ring gjerne etter kl. 12.",
        "Smilende jente med mye energi ⚡", "Parkering i nærheten.", "Helg er best for meg.",
        "Jeg har fri noen dager – benytt sjansen!", "Trygt og rent 🌸",
    ],
    "sv": [
        "Jag är naturlig och glad.", "Diskret lägenhet nära stationen.", "Endast bokning i förväg.",
        "Inga dolda nummer.", "Jag pratar engelska.", "Äkta bilder 💯",
        "Sena kvällar går bra. Förskott via Swish.",
    ],
    "da": [
        "Jeg er naturlig og glad.", "Diskret lejlighed tæt på stationen.", "Kun aftaler i forvejen.",
        "Ingen skjulte numre.", "Jeg taler engelsk.", "Ægte billeder 💯 Betaling med MobilePay.",
    ],
    "en": [
        "Natural, friendly and easy-going.", "Discreet flat near the station.", "Appointments only.",
        "No withheld numbers.", "I can come to your hotel.", "Real pictures, no photoshop.",
        "Late evenings are fine. Deposit first by Revolut or PayPal.", "Shower available.",
        "Text me first, I reply quickly 📱",
        "Respect and hygiene are important to me.", "Available this week only!",
    ],
}

#: texts that start with characters spreadsheets treat as formulas
FORMULA_OPENERS = [
    "=) Hei hei! ",
    "+18 kun! ",
    "@ {city} sentrum – ",
    "=== NY I BYEN === ",
    "+47 jenta di er tilbake 😘 ",
    "=HYPERLINK(\"https://example.invalid\") ",
    "@{handle} på Telegram! ",
]

TITLES = [
    "{name} {age} – ny i {city} 💋",
    "Søt {name} i {city}",
    "NEW IN {CITY}!! {name}",
    "<b>{name}</b> – {city}",
    "{name}, {age} år, {city} sentrum",
    "❤️ {name} ❤️ {city}",
    "Sexy {name} ({age}) – bare noen dager i {city}",
    "{city}: {name} – ekte bilder",
    "Hot {name} {age} – {city} 🔥",
    "Diskret {name} i {city}",
]


def lang_for_country(rng: random.Random, country: str) -> str:
    base = {"NO": "no", "SE": "sv", "DK": "da", "FI": "en"}[country]
    return base if rng.random() < 0.65 else "en"


def intro(rng: random.Random, lang: str, *, name: str, age: int, city: str) -> str:
    return rng.choice(INTROS[lang]).format(name=name, age=age, city=city, origin=rng.choice(ORIGINS))


def fragments(rng: random.Random, lang: str, k: int) -> str:
    pool = FRAGMENTS[lang]
    return " ".join(rng.sample(pool, min(k, len(pool))))


def title_template(rng: random.Random) -> int:
    return rng.randrange(len(TITLES))


def render_title(idx: int, *, name: str, age: int, city: str) -> str:
    return TITLES[idx].format(name=name, age=age, city=city, CITY=city.upper())


def formula_opener(rng: random.Random, *, city: str, handle: str) -> str:
    return rng.choice(FORMULA_OPENERS).format(city=city, handle=handle.lstrip("@") or "meg")


def handle(rng: random.Random, base: str) -> str:
    base = "".join(ch for ch in base.lower() if ch.isascii() and ch.isalnum()) or "girl"
    return "@" + base + rng.choice(["", "_", "x", "."]) + str(rng.randint(1, 999))
