"""US state and Canadian province names and their postal codes, for matching caller areas.

Carriers send a caller's state as a postal code ("WA"), but the ``phonenumbers`` geocoder describes
many area codes by their region alone ("Washington State", "Oregon", "Ontario"), which the caller
area keeps as its city with no state. Geo rules name states by code or by name; both sides are
reduced to the code before comparing.
"""

from __future__ import annotations

_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana",
    "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri",
    "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio",
    "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah",
    "VT": "Vermont", "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands",
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip
_CODES = {name.casefold(): code for code, name in _NAMES.items()} | {
    "washington state": "WA",
    "washington d.c.": "DC",
    "washington, d.c.": "DC",
    "newfoundland": "NL",
    "québec": "QC",
}


def region_code(name: str) -> str:
    """``"Oregon"``, ``"or"`` or ``"OR"`` → ``"OR"``; anything else comes back trimmed and upper-cased."""
    cleaned = " ".join(name.split())
    return _CODES.get(cleaned.casefold(), cleaned.upper())


def is_region_name(name: str) -> bool:
    """Whether ``name`` is a whole state or province (as the geocoder's only description of an area)."""
    return " ".join(name.split()).casefold() in _CODES
