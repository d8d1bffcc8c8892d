"""National formatting: the NANP shortcut must say exactly what phonenumbers says."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from ringtrail.lib.phone import format_national


def _by_phonenumbers(e164: str) -> str:
    return str(
        phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)
    )


def _nanp_sample() -> list[str]:
    """Every area code 200-999 (US, Canada, the Caribbean, unassigned), each with exchanges and
    lines drawn at random, exchanges starting 0 and 1 included."""
    draw = random.Random(7)
    return [
        f"+1{area}{draw.randrange(1000):03d}{draw.randrange(10000):04d}"
        for area in range(200, 1000)
        for _ in range(4)
    ]


def test_the_nanp_shortcut_agrees_with_phonenumbers() -> None:
    sample = _nanp_sample()
    assert [format_national(n) for n in sample] == [_by_phonenumbers(n) for n in sample]


@pytest.mark.parametrize(
    ("e164", "national"),
    [
        ("+14155550199", "(415) 555-0199"),
        ("+442079460000", "020 7946 0000"),  # outside NANP: phonenumbers formats it
        ("+10155550199", "0155550199"),  # area codes never start with 0 or 1: not the shortcut
        ("+1415555019", "415555019"),  # too short
        ("+1415555019\u0669", "(415) 555-0199"),  # phonenumbers reads an Arabic-Indic nine
        ("not a number", "not a number"),
    ],
)
def test_numbers_outside_the_shortcut_go_through_phonenumbers(e164: str, national: str) -> None:
    assert format_national(e164) == national
