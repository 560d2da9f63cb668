"""What to forget: the ``--phone`` numbers and ``--person`` names as read from the command line
(``parse_request``), a person's name key for exact matching, and ``ForgetError``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adnet_assets.lib.csv_records import checked_country
from adnet_assets.lib.directory import fold_name
from adnet_assets.lib.phones import parse_phone


class ForgetError(ValueError):
    """A request or a step that cannot go on; the message names the file or the argument and the fix."""


def name_key(name: object) -> str:
    """A person's name for exact matching: the folded words, sorted ("Hansen, Kari" = "Kari Hansen")."""
    return " ".join(sorted(fold_name(name).split()))


@dataclass(frozen=True)
class Request:
    """What to forget: numbers in E.164 and names as typed (``keys``: their ``name_key``)."""

    phones: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    default_country: str = "NO"

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name_key(n) for n in self.names))

    def describe(self) -> str:
        """'1 phone number', '2 phone numbers and 1 person': the only words about the target in the audit."""
        parts = []
        if self.phones:
            parts.append(f"{len(self.phones)} phone number{'s' if len(self.phones) != 1 else ''}")
        if self.keys:
            parts.append(f"{len(self.keys)} person{'s' if len(self.keys) != 1 else ''}")
        return " and ".join(parts)


def parse_request(phones: Sequence[str] = (), persons: Sequence[str] = (), default_country: str = "NO") -> Request:
    """Read ``--phone`` values with the pipeline's phone parser and ``--person`` names; ForgetError with the fix."""
    try:
        country = checked_country(default_country)
    except ValueError as exc:
        raise ForgetError(f"--country: {exc}") from exc
    numbers = []
    for raw in phones:
        found = [p for p in parse_phone(raw, country) if p.phone]
        if not found:
            reason = parse_phone(raw, country)[0].reason or "no number"
            raise ForgetError(f"--phone {raw!r}: no phone number can be read in it ({reason}); write it as the ads "
                              f"or the directory show it, e.g. +47 412 34 567, or give --country for a national number")
        if len(found) > 1:
            raise ForgetError(f"--phone {raw!r} holds {len(found)} numbers: give one --phone per number")
        numbers.append(found[0].phone)
    names = []
    for name in persons:
        if len(name_key(name).split()) < 2:
            raise ForgetError(f"--person {name!r}: give the full name as the directory writes it (first and last "
                              "name); a single word would match everyone who shares it")
        names.append(name.strip())
    if not numbers and not names:
        raise ForgetError("nothing to forget: give --phone NUMBER or --person \"FULL NAME\" (each may be repeated)")
    return Request(tuple(dict.fromkeys(numbers)), tuple(dict.fromkeys(names)), country)
