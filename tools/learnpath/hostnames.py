"""Host names as DNS and HTTP see them: the one encoder, and the mixed-script check.

A host name with non-ASCII letters has two common encodings that disagree.
Python's ``"idna"`` codec (used by ``socket.getaddrinfo`` for a ``str``) is
IDNA 2003: ``faß.example`` becomes ``fass.example``. requests and urllib3
use IDNA 2008 with UTS 46 mapping: ``xn--fa-hia.example``. For names with ß,
ς, ZWJ or ZWNJ these are *different domains*, so a checker that vets one
and connects to the other vets nothing. `to_ascii` is the only encoder the
link checker uses: the name it resolves and vets is exactly the name it
connects to (and `catalog.urls` compares with it, so both spellings of one
URL are one address).

`mixed_scripts` flags a label that mixes writing systems, such as a Cyrillic
``а`` in an otherwise Latin ``pаypal``: the classic look-alike. It follows
UTS 39's "highly restrictive" level: one script per label, or Latin with the
Japanese, Chinese or Korean sets that are written together. Scripts come from
the Unicode character names (``CYRILLIC SMALL LETTER A``), which is exact for
letters of the living scripts and needs no extra dependency; a label wholly
in another script ("whole-script confusables") is not flagged.
"""

from __future__ import annotations

import unicodedata


class HostnameError(ValueError):
    """The host name cannot be encoded for DNS; the message says why."""


def to_ascii(host: str) -> str:
    """The name DNS is asked for and HTTP connects to: lower-case ASCII.

    An ASCII name is only lower-cased (urllib3 does the same). Any other goes
    through IDNA 2008 with UTS 46 mapping, exactly as requests encodes it
    before urllib3 sees it. Raises `HostnameError` when IDNA 2008 refuses the
    name (a symbol such as ☃, a joiner in the wrong place).
    """
    if host.isascii():
        return host.lower()
    import idna  # a dependency of requests; imported only for non-ASCII names

    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as err:
        raise HostnameError(f"the host name {host!r} cannot be encoded for DNS (IDNA 2008: {err})") from None


def canonical(host: str) -> str:
    """`to_ascii` for comparing: never raises (a name it refuses comes back lower-cased)."""
    try:
        return to_ascii(host)
    except HostnameError:
        return host.lower()


# Scripts written together in one label (UTS 39 section 5.2, "Highly Restrictive").
_ALLOWED_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
# Words that end a script's name in a letter's Unicode name: "OLD ITALIC LETTER A".
_NAME_STOPS = frozenset({"SMALL", "CAPITAL", "LETTER", "SYLLABLE", "SYLLABICS", "CHARACTER", "LIGATURE",
                         "IDEOGRAPH", "VOWEL", "CONSONANT", "FINAL", "INITIAL", "MEDIAL", "DIGRAPH"})


def script_of(char: str) -> str | None:
    """The script of a letter ("LATIN", "CYRILLIC", "HAN", ...); None for anything else."""
    if unicodedata.category(char) not in ("Lu", "Ll", "Lt", "Lo"):
        return None  # digits, hyphens, marks and modifier letters belong to no one script
    words = unicodedata.name(char, "").split()
    if not words:
        return None
    if words[0] == "CJK":
        return "HAN"
    script = []
    for word in words:
        if word in _NAME_STOPS:
            break
        script.append(word)
    return " ".join(script) or words[0]


def mixed_scripts(host: str) -> str | None:
    """Why ``host`` looks like a spoof (a label mixing scripts), or None.

    Punycode labels (``xn--...``) are decoded first, so writing the
    look-alike in its encoded form does not hide it. A name IDNA 2008 refuses
    is reported as such.
    """
    if host.isascii() and "xn--" not in host.lower():
        return None  # plain ASCII letters are all Latin
    import idna

    for label in host.rstrip(".").split("."):
        try:
            text = idna.decode(label) if label.lower().startswith("xn--") else \
                idna.uts46_remap(label, std3_rules=True, transitional=False)
        except (idna.IDNAError, UnicodeError) as err:
            return f"the host's label {label!r} cannot be encoded for DNS (IDNA 2008: {err})"
        letters: dict[str, str] = {}
        for char in text:
            script = script_of(char)
            if script is not None:
                letters.setdefault(script, char)
        scripts = frozenset(letters)
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _ALLOWED_MIXES):
            shown = ", ".join(f"{script.title()} ({letters[script]!r}, U+{ord(letters[script]):04X})"
                              for script in sorted(scripts))
            return (f"the host's label {text!r} mixes scripts: {shown}; a look-alike of another "
                    "site's name is the usual reason, so retype the name in one script")
    return None


def host_problem(host: str) -> str | None:
    """What is wrong with ``host`` as a catalog link's host: not encodable, or mixed scripts; else None."""
    try:
        to_ascii(host)
    except HostnameError as err:
        return f"{err}; retype it"
    return mixed_scripts(host)
