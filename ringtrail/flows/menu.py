"""Which menu option a caller's keypad digits or speech choose."""

from __future__ import annotations

import re

from ringtrail.flows.schema import KEYPAD_KEYS, MenuStep

# Recognisers write "two" as often as "2", and callers say "press one" or "option 1".
_SPOKEN_DIGITS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "star": "*",
    "pound": "#",
    "hash": "#",
}
# Homophones count only when they are the whole answer: "I want to talk to someone" is not "2".
_ALONE = {"oh": "0", "to": "2", "too": "2", "for": "4", "fore": "4"}
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def choose(step: MenuStep, digits: str, speech: str) -> str | None:
    """The option key chosen, or None when the input matches no option."""
    if digits and step.keypad:
        return digits if digits in step.options and digits in KEYPAD_KEYS else None
    if speech and step.speech:
        return _spoken_choice(step, speech)
    return None


def _spoken_choice(step: MenuStep, speech: str) -> str | None:
    words = _WORD.findall(speech.casefold()[:500])
    if not words:
        return None
    text = f" {' '.join(words)} "
    # Keywords first, in document order: "sales" must not lose to the "to" in "talk to sales".
    for key in step.options:
        if key not in KEYPAD_KEYS and f" {' '.join(_WORD.findall(key.casefold()))} " in text:
            return key
    spoken = [_SPOKEN_DIGITS.get(word, word) for word in words]
    if len(words) == 1:
        spoken.append(_ALONE.get(words[0], ""))
    for key in step.options:
        if key in KEYPAD_KEYS and key in spoken:
            return key
    return None
