"""Every check the validator makes, with a stable code and name: ``LP101 unknown-field``.

A code never changes meaning once released, so a contributor can look one up
in CONTRIBUTING.md (which lists them all; a test keeps the two in step), a
tool can filter on it, and a GitHub annotation can carry it as its title.
The hundreds group the rules: 0xx the file and its YAML, 1xx one field or
record against the schema, 2xx the catalog as a whole (errors), 3xx advice
(warnings: they fail only under ``--strict``).
"""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    error = "error"
    warning = "warning"


class Rule(Enum):
    """One check. ``code`` is permanent; ``slug`` is its readable name (``unknown-field``)."""

    def __init__(self, code: str, summary: str) -> None:
        self.code = code
        self.summary = summary

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def severity(self) -> Severity:
        return Severity.warning if self.code.startswith("LP3") else Severity.error

    def __str__(self) -> str:
        return f"{self.code} {self.slug}"

    # 0xx: the file and its YAML
    UNREADABLE = ("LP001", "the file cannot be read at all (missing, a directory, no permission)")
    TOO_LARGE = ("LP002", "the file is over the size limit for a catalog")
    NOT_UTF8 = ("LP003", "the file is not valid UTF-8")
    MOJIBAKE = ("LP004", "UTF-8 text that was decoded as Latin-1 somewhere ('â€”' for '—')")
    YAML_SYNTAX = ("LP005", "YAML the parser cannot read (an unclosed quote, a stray character)")
    INDENTATION = ("LP006", "a line indented differently from the lines it belongs with, or with a tab")
    DUPLICATE_KEY = ("LP007", "the same key twice in one mapping (YAML would keep only the last)")
    ANCHOR_ALIAS = ("LP008", "a YAML anchor or alias (refused: they can expand into huge documents)")
    YAML_TAG = ("LP009", "an explicit YAML tag such as !!python/object")
    TOO_DEEP = ("LP010", "nesting deeper than any catalog needs")
    SEVERAL_DOCUMENTS = ("LP011", "a second YAML document ('---') in the file")
    COMPLEX_KEY = ("LP012", "a list or mapping used as a mapping key")
    EMPTY_FILE = ("LP013", "the file holds no YAML at all")
    YAML11_BOOLEAN = ("LP014", "yes, no, on or off for true or false (YAML 1.1 spellings that readers disagree on)")

    # 1xx: a field or record against the schema
    UNKNOWN_FIELD = ("LP101", "a field the schema does not have, usually a misspelling")
    MISSING_FIELD = ("LP102", "a required field is missing")
    WRONG_TYPE = ("LP103", "a value of the wrong type, such as text for a number or a list for a mapping")
    UNKNOWN_CHOICE = ("LP104", "a value outside a closed set, such as a kind or level that does not exist")
    BAD_ID = ("LP105", "an id that is not lower-case words joined by single hyphens")
    LENGTH = ("LP106", "text too short or too long, or a list with too many or too few items")
    OUT_OF_RANGE = ("LP107", "a number outside its bounds (minutes, year)")
    BAD_URL = ("LP108", "a URL that is not a plain http(s) address with a host and a valid port")
    TRACKING_PARAMETER = ("LP109", "a URL carrying tracking parameters (utm_*, si, fbclid, YouTube list/index/t)")
    INVISIBLE_CHARACTER = ("LP110", "a control or invisible formatting character in text or a URL")
    BAD_TEXT = ("LP111", "text with stray white space, mojibake, or the wrong number of sentences")
    FUTURE_DATE = ("LP112", "an 'added' date after today")
    NOT_A_CATALOG = ("LP113", "the top level is not a mapping of schema_version, topics, resources and paths")
    SCHEMA_VERSION = ("LP114", "a schema_version this learnpath does not read")
    EMPTY_LIST = ("LP115", "a list that must have entries is empty")
    MISPLACED_RESOURCE = ("LP116", "a resource entry pasted under paths: (or into a stage) instead of resources:")
    DRAFT_PLACEHOLDER = ("LP117", "a TODO placeholder left from a draft (learnpath import)")

    # 2xx: the catalog as a whole
    DUPLICATE_ID = ("LP201", "two records with the same id")
    ID_CLASH = ("LP202", "a resource id that is also a topic id")
    DUPLICATE_URL = ("LP203", "two resources with the same address, after normalising the URLs")
    UNKNOWN_REFERENCE = ("LP204", "a topic, prerequisite or step naming an id that does not exist")
    REPEATED_REFERENCE = ("LP205", "the same topic or prerequisite listed twice in one resource")
    PREREQUISITE_CYCLE = ("LP206", "resources that require each other, directly or through others")

    # 3xx: warnings
    DUPLICATE_TITLE = ("LP301", "two resources with the same title, often one work under two addresses")
    REPEATED_STEP = ("LP302", "a resource that is a step of one path twice")
    PREREQUISITE_ORDER = ("LP303", "a step placed before one of its prerequisite resources")
    MISSING_PREREQUISITE = ("LP304", "a step whose prerequisite resource the path leaves out")
    TOPIC_TAUGHT_LATER = ("LP305", "a step assuming a topic that its path teaches only later")
    LONG_STAGE = ("LP306", "a stage with more steps than a reader can finish in one go")
    UNUSED_RESOURCE = ("LP307", "a resource that no path uses")
    UNTAUGHT_TOPIC = ("LP308", "a topic that no resource teaches")
