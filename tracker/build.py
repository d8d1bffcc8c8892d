"""Minify tracker/src/ringtrail.js into ringtrail/dni/static/ringtrail/tracker.min.js.

A small, conservative minifier written for this one file (no npm at build, CI or run time): a tokenizer
that knows strings, regex literals and comments drops the comments and the whitespace between tokens.
It never renames, reorders or rewrites code, so the output behaves exactly like the source. Template
literals are refused (the source does not use them; supporting ``${}`` nesting is not worth the risk).

Usage: ``python tracker/build.py`` (writes the file) or ``python tracker/build.py --check`` (exits 1 when
the committed file is not what the source builds to).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tracker" / "src" / "ringtrail.js"
OUTPUT = ROOT / "ringtrail" / "dni" / "static" / "ringtrail" / "tracker.min.js"
PLACEHOLDER = "__RINGTRAIL_CONFIG__"
BANNER = "/* Ringtrail tracker: minified from tracker/src/ringtrail.js by tracker/build.py */\n"

WORD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
# After these a "/" starts a regex literal; after anything else (a name, a number, ")" or "]") it divides.
REGEX_AFTER_PUNCT = set("(,=:[!&|?{};+-*%<>~^")
REGEX_AFTER_WORDS = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw"}


class MinifyError(ValueError):
    """The source uses something this minifier does not handle safely."""


def _read_string(src: str, i: int) -> int:
    quote = src[i]
    i += 1
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if c == "\n":
            break
        i += 1
    raise MinifyError(f"unterminated string at offset {i}")


def _read_regex(src: str, i: int) -> int:
    i += 1
    in_class = False
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == "\n":
            break
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        elif c == "/" and not in_class:
            i += 1
            while i < len(src) and src[i] in WORD:  # flags
                i += 1
            return i
        i += 1
    raise MinifyError(f"unterminated regex literal at offset {i}")


def _tokens(src: str) -> list[tuple[str, str]]:
    """The source as (token, gap) pairs: gap is "" (tokens touched), " " or "\n" (what stood between)."""
    out: list[tuple[str, str]] = []
    gap = ""
    i = 0
    while i < len(src):
        c = src[i]
        if c in " \t\r\n":
            gap = "\n" if c == "\n" else gap or " "
            i += 1
        elif src.startswith("//", i):
            end = src.find("\n", i)
            i = len(src) if end < 0 else end
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise MinifyError(f"unterminated comment at offset {i}")
            gap = "\n" if "\n" in src[i:end] else gap or " "
            i = end + 2
        else:
            if c in "'\"":
                j = _read_string(src, i)
            elif c == "`":
                raise MinifyError(f"template literal at offset {i}: not supported")
            elif c == "/" and (
                not out or out[-1][0][-1] in REGEX_AFTER_PUNCT or out[-1][0] in REGEX_AFTER_WORDS
            ):
                j = _read_regex(src, i)
            elif c in WORD or (c == "." and i + 1 < len(src) and src[i + 1].isdigit()):
                j = i + 1
                while j < len(src) and (src[j] in WORD or src[j] == "."):
                    # dots only continue numbers (1.5, 1e3); a name ends at "." (a.b is three tokens)
                    if src[j] == "." and not src[i].isdigit() and src[i] != ".":
                        break
                    j += 1
            else:
                j = i + 1
            out.append((src[i:j], gap))
            gap = ""
            i = j
    return out


def minify(src: str) -> str:
    """Comments and insignificant whitespace removed; everything else byte for byte."""
    parts: list[str] = []
    prev = ""
    for token, gap in _tokens(src):
        if prev and gap:
            a, b = prev[-1], token[0]
            if a in WORD and b in WORD:
                # a newline between two words may end a statement (return\nx): keep it as the separator
                parts.append(gap)
            elif (a in "+-" and b == a) or (a == "/" and b in "/*"):
                parts.append(" ")  # a + +b, a - -b, a / /re/: joining would make another token
        parts.append(token)
        prev = token
    return "".join(parts) + "\n"


def build() -> str:
    """The minified script, banner included, checked for the one config placeholder."""
    out = BANNER + minify(SOURCE.read_text(encoding="utf-8"))
    if out.count(PLACEHOLDER) != 1:
        raise MinifyError(f"the script must contain {PLACEHOLDER} exactly once")
    return out


def gzipped_size(text: str) -> int:
    return len(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def main(argv: list[str]) -> int:
    out = build()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != out:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python tracker/build.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(out, encoding="utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(out.encode())} bytes, {gzipped_size(out)} bytes gzipped (-9)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
