"""Render a carrier-neutral ``CallDecision`` as TwiML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    Gather,
    Hangup,
    HookRef,
    Pause,
    Play,
    Record,
    Redirect,
    Reject,
    Say,
    Step,
)

CONTENT_TYPE = "text/xml; charset=utf-8"


class TwimlRenderer:
    content_type = CONTENT_TYPE

    def __init__(self, path_prefix: str = "/carriers/twilio") -> None:
        self.path_prefix = path_prefix

    def url_for(self, ref: HookRef) -> str:
        query = f"?{urlencode(sorted(ref.params.items()))}" if ref.params else ""
        return f"{self.path_prefix}/{ref.hook.value}{query}"

    def render(self, decision: CallDecision) -> str:
        # Plain string building (every value escaped) is several times faster than ElementTree,
        # and this runs on every incoming call.
        body = "".join(self._step(step) for step in decision.steps)
        return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'

    def _step(self, step: Step) -> str:
        match step:
            case Say(text=text, voice=voice, language=language):
                attrs = {name: value for name, value in (("voice", voice), ("language", language)) if value}
                return _element("Say", attrs, text=text)
            case Play(url=url):
                return _element("Play", text=url)
            case Pause(seconds=seconds):
                return _element("Pause", {"length": str(seconds)})
            case Dial():
                return self._dial(step)
            case Record():
                return self._record(step)
            case Gather():
                return self._gather(step)
            case Redirect(target=target):
                return _element("Redirect", {"method": "POST"}, self.url_for(target))
            case Hangup():
                return _element("Hangup")
            case Reject(reason=reason):
                return _element("Reject", {"reason": reason})
        raise TypeError(f"no TwiML for {step!r}")

    def _dial(self, dial: Dial) -> str:
        attrs = {
            "answerOnBridge": "true" if dial.answer_on_bridge else "false",
            "timeout": str(dial.timeout_seconds),
        }
        if dial.caller_id:
            attrs["callerId"] = dial.caller_id
        if dial.action:
            attrs["action"] = self.url_for(dial.action)
            attrs["method"] = "POST"
        if dial.record:
            attrs["record"] = "record-from-answer-dual"
            if dial.recording_callback:
                attrs["recordingStatusCallback"] = self.url_for(dial.recording_callback)
                attrs["recordingStatusCallbackEvent"] = "completed"
        targets = "".join(
            _element(
                "Sip" if target.is_sip else "Number",
                {"url": self.url_for(target.whisper)} if target.whisper else {},
                target.address,
            )
            for target in dial.targets
        )
        return _element("Dial", attrs, inner_xml=targets)

    def _record(self, record: Record) -> str:
        attrs = {
            "maxLength": str(record.max_length_seconds),
            "playBeep": "true" if record.play_beep else "false",
        }
        if record.action:
            attrs["action"] = self.url_for(record.action)
        if record.recording_callback:
            attrs["recordingStatusCallback"] = self.url_for(record.recording_callback)
            attrs["recordingStatusCallbackEvent"] = "completed"
        return _element("Record", attrs)

    def _gather(self, gather: Gather) -> str:
        inputs = " ".join(
            kind for kind, wanted in (("dtmf", gather.dtmf), ("speech", gather.speech)) if wanted
        )
        attrs = {
            "input": inputs,
            "action": self.url_for(gather.action),
            "method": "POST",
            "timeout": str(gather.timeout_seconds),
            "finishOnKey": gather.finish_on_key,
        }
        if gather.num_digits is not None:
            attrs["numDigits"] = str(gather.num_digits)
        if gather.speech:
            attrs["language"] = gather.language
            if gather.speech_hints:
                attrs["hints"] = ", ".join(gather.speech_hints)
        prompt = "".join(self._step(step) for step in gather.prompt)
        return _element("Gather", attrs, inner_xml=prompt)


# Characters XML 1.0 cannot carry at all, even escaped; a whisper or greeting loses them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _element(tag: str, attrs: Mapping[str, str] | None = None, text: str = "", inner_xml: str = "") -> str:
    """One XML element; ``text`` and attribute values are escaped, ``inner_xml`` is already XML."""
    attributes = "".join(
        f" {name}={quoteattr(_NOT_XML.sub('', value))}" for name, value in (attrs or {}).items()
    )
    content = escape(_NOT_XML.sub("", text)) + inner_xml
    return f"<{tag}{attributes}>{content}</{tag}>" if content else f"<{tag}{attributes}/>"
