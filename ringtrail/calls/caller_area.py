"""Caller area: where a caller's number is registered.

Carrier-supplied fields win; otherwise the ``phonenumbers`` geocoder, imported lazily because its
data costs ~110 MB and most carriers send the fields anyway.
"""

from __future__ import annotations

import functools

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
    if not state and description == geocoder.country_name_for_number(parsed, "en"):
        city = ""  # the geocoder only knew the country
    return CallerArea(
        city=city,
        state=state,
        country=country,
        time_zone=zones[0] if len(zones) == 1 else "",
        origin="geocoder",
    )


def resolve(carrier_area: CallerArea | None, e164: str) -> CallerArea:
    if carrier_area is not None:
        if carrier_area.time_zone:
            return carrier_area
        guessed = from_number(e164)
        return CallerArea(**{**carrier_area.__dict__, "time_zone": guessed.time_zone})
    return from_number(e164)
