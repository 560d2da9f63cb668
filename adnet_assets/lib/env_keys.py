"""One check for every key adnet reads from the environment (database, pseudonyms).

Keys come from environment variables only, never from a file or Dagster configuration. A key that
is empty, surrounded by blanks (another tool would read another key) or short enough to guess is
refused with a message that names the variable and how to make a good one.
"""

from __future__ import annotations


def checked_key(name: str, value: str | None, *, min_chars: int, hint: str, error: type[Exception],
                missing: str, why_long: str) -> str:
    """``value`` of the variable ``name`` when usable; else ``error`` with what is wrong and ``hint``.

    ``missing``: the words after the name when the value is empty or unset; ``why_long``: why a short
    key is dangerous for this key's use."""
    if not value:
        raise error(f"{name} {missing} {hint}")
    if value != value.strip():
        raise error(f"{name} starts or ends with a blank or a newline, so another shell or tool (the duckdb "
                    f"CLI's getenv) would read another key. Set it without them. {hint}")
    if len(value) < min_chars:
        raise error(f"{name} is {len(value)} characters long; adnet wants at least {min_chars} ({why_long}). {hint}")
    return value
