"""Render a carrier-neutral ``CallDecision`` as TwiML."""

from __future__ import annotations

from urllib.parse import urlencode
from xml.etree.ElementTree import Element, SubElement, tostring

from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    Hangup,
    HookRef,
    Pause,
    Play,
    Record,
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
        response = Element("Response")
        for step in decision.steps:
            self._append(response, step)
        return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(response, encoding="unicode")

    def _append(self, parent: Element, step: Step) -> None:
        match step:
            case Say(text=text):
                SubElement(parent, "Say").text = text
            case Play(url=url):
                SubElement(parent, "Play").text = url
            case Pause(seconds=seconds):
                SubElement(parent, "Pause", length=str(seconds))
            case Dial():
                self._dial(parent, step)
            case Record():
                self._record(parent, step)
            case Hangup():
                SubElement(parent, "Hangup")
            case Reject(reason=reason):
                SubElement(parent, "Reject", reason=reason)

    def _dial(self, parent: Element, dial: Dial) -> None:
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
        element = SubElement(parent, "Dial", attrs)
        for target in dial.targets:
            child_attrs = {"url": self.url_for(target.whisper)} if target.whisper else {}
            SubElement(element, "Sip" if target.is_sip else "Number", child_attrs).text = target.address

    def _record(self, parent: Element, record: Record) -> None:
        attrs = {
            "maxLength": str(record.max_length_seconds),
            "playBeep": "true" if record.play_beep else "false",
        }
        if record.action:
            attrs["action"] = self.url_for(record.action)
        if record.recording_callback:
            attrs["recordingStatusCallback"] = self.url_for(record.recording_callback)
            attrs["recordingStatusCallbackEvent"] = "completed"
        SubElement(parent, "Record", attrs)
