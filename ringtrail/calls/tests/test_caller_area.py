"""Caller area from the number: the country-name check is shared per region, never per first caller."""

from __future__ import annotations

from ringtrail.calls import caller_area


def test_a_region_known_only_by_its_country_names_no_city_whoever_called_first() -> None:
    caller_area._country_names.clear()
    caller_area.from_number.cache_clear()
    # An unassigned Guam number first (valid in no region), then an assigned one.
    first = caller_area.from_number("+16712184015")
    second = caller_area.from_number("+16713001234")
    assert first.country == second.country == "GU"
    assert first.city == second.city == ""  # "Guam" is the country, not a city


def test_us_numbers_keep_their_area() -> None:
    area = caller_area.from_number("+12125550143")
    assert area.country == "US" and area.state == "NY" and area.time_zone == "America/New_York"
