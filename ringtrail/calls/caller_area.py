"""Caller area: where a caller's number is registered.

Carrier-supplied fields win; otherwise the ``phonenumbers`` geocoder, imported lazily because its
data costs ~110 MB and most carriers send the fields anyway.
"""

from __future__ import annotations

import functools
from typing import Any

from ringtrail.carriers.base import CallerArea


def from_carrier(city: str, state: str, zip_code: str, country: str) -> CallerArea | None:
    if not any((city, state, zip_code, country)):
        return None
    return CallerArea(city=city, state=state, zip=zip_code, country=country, origin="carrier")


@functools.lru_cache(maxsize=65_536)
def from_number(e164: str) -> CallerArea:
    import phonenumbers
    from phonenumbers import geocoder, timezone

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return CallerArea()
    if not phonenumbers.is_possible_number(parsed):
        return CallerArea()
    description = geocoder.description_for_number(parsed, "en")
    country = phonenumbers.region_code_for_number(parsed) or ""
    zones = [z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    city, _, state = description.partition(", ")
    if not state and description == _country_name(country, parsed):
        city = ""  # the geocoder only knew the country
    return CallerArea(
        city=city,
        state=state,
        country=country,
        time_zone=zones[0] if len(zones) == 1 else "",
        origin="geocoder",
    )


_country_names: dict[str, str] = {}


def _country_name(region: str, parsed: Any) -> str:
    """The geocoder's name for the number's country, once per region: looking it up classifies the
    number against every region sharing its country code (~25 for +1), most of a caller's geocoding."""
    from phonenumbers import geocoder

    if not region:  # no single region: nothing to share with other numbers
        return str(geocoder.country_name_for_number(parsed, "en"))
    name = _country_names.get(region)
    if name is None:
        import phonenumbers

        # The region's own example number is valid there, so its name does not depend on whether
        # the first caller seen from the region dialled a valid number.
        example = phonenumbers.example_number(region)
        source = example if example is not None else parsed
        name = _country_names[region] = geocoder.country_name_for_number(source, "en")
    return name


def resolve(carrier_area: CallerArea | None, e164: str) -> CallerArea:
    if carrier_area is not None:
        if carrier_area.time_zone:
            return carrier_area
        guessed = from_number(e164)
        return CallerArea(**{**carrier_area.__dict__, "time_zone": guessed.time_zone})
    return from_number(e164)
