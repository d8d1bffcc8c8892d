"""Match a caller area against a geo step's rules.

Within a rule every criterion given must match (country AND state AND …), and within a criterion any
listed value may (CA OR OR OR WA). Rules are tried in order; the first match wins. A caller whose area
is unknown matches no rule that asks about the missing part, so it takes the default branch.
"""

from __future__ import annotations

from ringtrail.carriers.base import CallerArea
from ringtrail.flows.regions import is_region_name, region_code
from ringtrail.flows.schema import GeoRule, GeoStep


def matching_rule(step: GeoStep, area: CallerArea, area_code: str) -> int | None:
    """The index of the first matching rule, or None for the default branch."""
    for index, rule in enumerate(step.rules):
        if rule_matches(rule, area, area_code):
            return index
    return None


def rule_matches(rule: GeoRule, area: CallerArea, area_code: str) -> bool:
    country = area.country.strip().upper()
    state = caller_state(area)
    zip_code = area.zip.replace(" ", "").upper()
    checks = (
        not rule.countries or (bool(country) and country in {c.upper() for c in rule.countries}),
        not rule.states or (bool(state) and state in {region_code(s) for s in rule.states}),
        not rule.area_codes or (bool(area_code) and area_code in rule.area_codes),
        not rule.zip_prefixes
        or (bool(zip_code) and any(zip_code.startswith(p.upper()) for p in rule.zip_prefixes)),
    )
    return all(checks)


def caller_state(area: CallerArea) -> str:
    """The caller's state or province as a code; the geocoder names some areas only by their region
    ("Oregon"), kept as the city with no state, which counts as that state."""
    if area.state.strip():
        return region_code(area.state)
    return region_code(area.city) if is_region_name(area.city) else ""
