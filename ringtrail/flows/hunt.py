"""In which order a forward step rings its targets.

Round robin spreads calls by weight with the smooth weighted round-robin sequence (a target of weight 3
appears 3 times in every cycle of sum(weights) calls, interleaved rather than bunched), starting at the
call's ``rotation``; after the chosen target the others follow as fallbacks, in the order the sequence
would have picked them next. Sticky puts whoever answered this caller last in front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ringtrail.flows.schema import ForwardStep, ForwardTarget


def ring_order(
    step: ForwardStep, receiving: Mapping[int, str], rotation: int, last_answered_by: int | None
) -> list[ForwardTarget]:
    """Targets to ring, first to last; numbers deleted since the flow was saved are skipped."""
    targets = [target for target in step.targets if receiving.get(target.receiving_number)]
    if step.strategy != "round_robin" or not targets:
        return targets
    ordered = rotate(targets, rotation)
    if step.sticky and last_answered_by is not None:
        ordered.sort(key=lambda target: target.receiving_number != last_answered_by)
    return ordered


def rotate(targets: Sequence[ForwardTarget], rotation: int) -> list[ForwardTarget]:
    cycle = weighted_cycle([target.weight for target in targets])
    start = rotation % len(cycle)
    seen: dict[int, None] = {}
    for offset in range(len(cycle)):
        seen.setdefault(cycle[(start + offset) % len(cycle)], None)
    return [targets[index] for index in seen]


def weighted_cycle(weights: Sequence[int]) -> list[int]:
    """Indexes of ``weights`` in smooth weighted round-robin order, one full cycle long."""
    total = sum(weights)
    current = [0] * len(weights)
    cycle = []
    for _ in range(total):
        for index, weight in enumerate(weights):
            current[index] += weight
        chosen = max(range(len(weights)), key=lambda index: current[index])
        current[chosen] -= total
        cycle.append(chosen)
    return cycle
