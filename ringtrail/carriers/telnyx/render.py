"""Render a carrier-neutral ``CallDecision`` as TeXML.

TeXML was built for migrating TwiML ("allowing you to use the same verbs and nouns in both platforms",
developers.telnyx.com/docs/voice/programmable-voice/texml-twiml-compatibility), so this is the TwiML
renderer with URLs under ``/carriers/telnyx`` and only the documented differences applied:

* ``<Dial record=…>``: Telnyx's ``recordingChannels`` defaults to ``single`` (texml-verbs/dial:
  "Possible values are: single (for mono) and dual (for stereo). Defaults to single"), so a
  ``record-from-answer-dual`` dial also asks for ``recordingChannels="dual"`` to get agent and caller
  on separate channels, which per-channel transcription relies on.
* ``<Gather>`` has no ``method`` attribute: the action is fetched "with the same method (GET/POST) as
  set for the TeXML application" (texml-verbs/gather), so the application must be set to POST.
* ``<Record>`` documents no ``recordingStatusCallbackEvent`` (texml-verbs/record); Telnyx calls
  ``recordingStatusCallback`` "when the recording is available", which is the only event we want.

Everything else (``answerOnBridge``, ``callerId``, ``<Number url>`` whispers, ``<Redirect>``,
``<Reject reason>``) is spelled as in TwiML.
"""

from __future__ import annotations

import re

from ringtrail.carriers.base import Dial, Gather, Record
from ringtrail.carriers.twilio.render import TwimlRenderer

PATH_PREFIX = "/carriers/telnyx"


def _start_tag_end(xml: str) -> int:
    # Attribute values are quoteattr-escaped ("<" and ">" become entities), so the first ">" closes
    # the start tag; a self-closing element ends with "/>".
    end = xml.index(">")
    return end - 1 if xml[end - 1] == "/" else end


_ATTRIBUTE = re.compile(r"""\s([A-Za-z_][\w.-]*)=("[^"]*"|'[^']*')""")


def with_attributes(xml: str, add: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> str:
    """``xml`` with its outermost start tag changed; inner elements are left alone."""
    end = _start_tag_end(xml)
    name_end = re.match(r"<[^\s/>]+", xml)
    if name_end is None:
        raise ValueError("not an XML element")
    # Walk the attributes in order, so text inside a quoted value is never taken for an attribute.
    kept = "".join(
        match.group(0)
        for match in _ATTRIBUTE.finditer(xml, name_end.end(), end)
        if match.group(1) not in drop
    )
    # Only fixed, known values are added here, so they need no escaping.
    added = "".join(f' {name}="{value}"' for name, value in (add or {}).items())
    return xml[: name_end.end()] + kept + added + xml[end:]


class TexmlRenderer(TwimlRenderer):
    def __init__(self, path_prefix: str = PATH_PREFIX) -> None:
        super().__init__(path_prefix)

    def _dial(self, dial: Dial) -> str:
        xml = super()._dial(dial)
        return with_attributes(xml, {"recordingChannels": "dual"}) if dial.record else xml

    def _gather(self, gather: Gather) -> str:
        return with_attributes(super()._gather(gather), drop=("method",))

    def _record(self, record: Record) -> str:
        return with_attributes(super()._record(record), drop=("recordingStatusCallbackEvent",))
