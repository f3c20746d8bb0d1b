"""The catalog's data model: what a valid ``resources.yaml`` is.

Every model is strict (``extra="forbid"``): a misspelt field is an error, not
a silently ignored key. Closed sets are enums; reusable constraints are named
annotated types, so the JSON Schema and the error messages say the same thing.
Cross-references (ids, cycles, duplicate URLs) need the whole catalog and are
checked in ``validate.py``, not here.
"""

from __future__ import annotations

import datetime as _dt
import re
from enum import Enum
from functools import cached_property
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from learnpath.catalog.urls import tracking_parameters, without_tracking
from learnpath.safe_text import unsafe_character

# --------------------------------------------------------------------------- #
# Named constrained types
# --------------------------------------------------------------------------- #

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

# Sequences that UTF-8 text takes on when it was decoded as cp1252/latin-1 and
# encoded again ("mojibake"): an em dash becomes "â€”", "é" becomes "Ã©".
# None of them occurs in honest English text, so their presence means the
# file went through a broken editor or copy-paste.
_MOJIBAKE = re.compile(r"â€|Ã[\x80-\xbf©¨ª«±³¶¼½¾§¤¥¢£]|Â[\xa0-\xbf]|ï»¿|\ufffd")


# Left by `learnpath import` in a draft entry: the entry is not done until each is replaced.
PLACEHOLDER = "TODO"
_PLACEHOLDER = re.compile(rf"\b{PLACEHOLDER}\b")


def _visible(value: str) -> str:
    """Refuse control and invisible formatting characters (they hide text or drive terminals)."""
    return _visible_except(value, "")


def _visible_paragraph(value: str) -> str:
    """Like ``_visible``, but prose may keep the line breaks of a ``|`` block (the site joins them)."""
    return _visible_except(value, "\n")


def _visible_except(value: str, allowed: str) -> str:
    found = unsafe_character(value.translate({ord(char): " " for char in allowed}))
    if found:
        raise PydanticCustomError(
            "invisible_character",
            "contains {found}, a control or invisible character; delete it (retype the text around it "
            "if you cannot see it)", {"found": found})
    return value


def _clean_text(value: str) -> str:
    if _PLACEHOLDER.search(value):
        raise PydanticCustomError("draft_placeholder", "still holds a TODO placeholder from a draft; write the "
                                  "real value", {})
    if value != value.strip():
        raise ValueError("has leading or trailing white space; remove it")
    match = _MOJIBAKE.search(value)
    if match:
        raise ValueError(
            f"contains {match.group(0)!r}, which looks like mojibake (UTF-8 decoded as "
            "Latin-1); retype the character, e.g. '—' for 'â€”'"
        )
    return value


def find_mojibake(text: str, start: int = 0) -> re.Match[str] | None:
    """The first mojibake sequence in ``text`` from ``start`` on, if any (used by the loader too)."""
    return _MOJIBAKE.search(text, start)


_WHITE_SPACE = re.compile(r"\s")


def web_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host in one script and no credentials;
    ValueError saying what is wrong otherwise (the catalog's rule, used for the link history too)."""
    if _WHITE_SPACE.search(value):
        raise ValueError("contains white space; percent-encode it (%20) or remove it")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme + ":" if parts.scheme else "no scheme"
        raise ValueError(f"must be an http(s) URL, got {shown}; use the page's https:// address")
    if not parts.hostname:
        raise ValueError("has no host; write the full address, e.g. https://example.org/page")
    if parts.username is not None or parts.password is not None:
        raise ValueError("contains credentials (user:password@); remove them")
    from learnpath.hostnames import host_problem  # the link checker's own rule for host names

    problem = host_problem(parts.hostname)
    if problem:
        raise ValueError(problem)
    return value


def _url_details(value: str) -> str:
    """What a URL may not carry beyond ``web_url``'s rules: invisible characters, a bad port, tracking."""
    _visible(value)
    try:
        port = urlsplit(value).port
    except ValueError:
        port = -1
    if port is not None and not 0 < port <= 65535:
        raise PydanticCustomError("bad_url", "has a port outside 1-65535; remove the port or correct it", {})
    found = tracking_parameters(value)
    if found:
        raise PydanticCustomError(
            "tracking_parameter",
            "carries tracking parameters ({found}); use {clean}",
            {"found": ", ".join(found), "clean": without_tracking(value)})
    return value


def _sentences(value: str) -> str:
    # A sentence ends at . ! or ? followed by a space and a capital letter or the end.
    count = len(re.findall(r"[.!?](?=\s+[A-Z\"'(]|\s*$)", value))
    if count == 0:
        raise ValueError("must be at least one full sentence, ending with a full stop")
    if count > 3:
        raise ValueError(f"has {count} sentences; keep it to 1 to 3")
    return value


Slug = Annotated[
    str,
    StringConstraints(pattern=SLUG_PATTERN, min_length=2, max_length=64),
    Field(description="A permanent lower-case identifier: letters, digits and single hyphens."),
]
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_visible),
    AfterValidator(_clean_text),
    Field(description="A short line of text, no leading or trailing white space."),
]
Prose = Annotated[
    str,
    StringConstraints(min_length=20, max_length=600),
    AfterValidator(_visible_paragraph),
    AfterValidator(_clean_text),
    AfterValidator(_sentences),
    Field(description="One to three full sentences, written in our own words."),
]
WebUrl = Annotated[
    str,
    StringConstraints(min_length=10, max_length=2000),
    AfterValidator(web_url),
    AfterValidator(_url_details),
    Field(description="An absolute http(s) URL without credentials, white space or tracking parameters."),
]


class Kind(str, Enum):
    """What sort of thing a resource is; drives the badge on its card."""

    article = "article"
    video = "video"
    paper = "paper"
    course = "course"
    lecture = "lecture"
    tutorial = "tutorial"
    notebook = "notebook"
    code = "code"
    book = "book"


class Level(str, Enum):
    """How much a reader needs to know before the resource pays off."""

    beginner = "beginner"
    intermediate = "intermediate"
    advanced = "advanced"


class Strict(BaseModel):
    """Base of every catalog model: unknown keys are errors.

    Numbers and booleans are strict (``minutes: "30"`` or ``free: "yes"`` is an
    error, not coerced); enums and dates accept their YAML spelling.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- #
# The catalog
# --------------------------------------------------------------------------- #


class Topic(Strict):
    """A concept the site explains on its own page (/topics/<id>/)."""

    id: Slug = Field(description="Topic id, used in URLs (/topics/<id>/) and by resources' `topics`.")
    title: Text = Field(description="The topic's name as shown on the site.")
    summary: Prose = Field(description="What the concept is, in one to three sentences.")


class Resource(Strict):
    """One curated learning resource: an article, video, paper, course, ..."""

    id: Slug = Field(
        description="Permanent id; readers' progress is keyed on it, so never rename one."
    )
    title: Text = Field(description="The resource's own title, as its page gives it.")
    url: WebUrl = Field(description="The canonical address: https where the site has it, no tracking parameters.")
    alternate_urls: list[WebUrl] = Field(
        default_factory=list,
        description="Other addresses of the same work (an older edition, a PDF, a mirror); checked for links too.",
    )
    kind: Kind = Field(description="What sort of resource this is.")
    authors: list[Text] = Field(
        min_length=1, description="People or organisations who made it, as credited on the page."
    )
    topics: list[Slug] = Field(min_length=1, description="Ids of the topics it teaches (from `topics`).")
    level: Level = Field(description="How much the reader needs to know first.")
    minutes: int = Field(
        strict=True,
        gt=0, le=6000, description="An honest estimate of the minutes to work through it, not just to skim."
    )
    free: bool = Field(strict=True, description="True when it can be read or watched without paying or signing up.")
    year: int | None = Field(
        default=None, strict=True, ge=1950, le=2100, description="Year of publication, if known."
    )
    description: Prose = Field(description="What it is and why it is worth the time, in our own words.")
    prerequisites: list[Slug] = Field(
        default_factory=list, description="Resource or topic ids worth knowing first."
    )
    added: _dt.date = Field(description="The day it entered the catalog (YYYY-MM-DD); not after today.")

    @field_validator("added")
    @classmethod
    def _not_in_the_future(cls, value: _dt.date) -> _dt.date:
        # A day of grace: a contributor east of UTC may already be on tomorrow's date.
        latest = _dt.datetime.now(_dt.timezone.utc).date() + _dt.timedelta(days=1)
        if value > latest:
            raise PydanticCustomError("future_date", "is {value}, after today; write the day you add the "
                                      "resource (YYYY-MM-DD)", {"value": value.isoformat()})
        return value


class Step(Strict):
    """One resource at one point of a path, with why it is there."""

    resource: Slug = Field(description="Id of the resource to work through at this step.")
    optional: bool = Field(default=False, strict=True, description="True when the step can be skipped without losing the thread.")
    why: Prose | None = Field(default=None, description="Why this resource is on the path at this point.")


def _question(value: str) -> str:
    if not value.endswith("?"):
        raise ValueError("must be a question, ending with a question mark")
    return value


Question = Annotated[
    str,
    StringConstraints(min_length=10, max_length=300),
    AfterValidator(_visible),
    AfterValidator(_clean_text),
    AfterValidator(_question),
    Field(description="One question, in our own words, ending with '?'."),
]


class CheckQuestion(Strict):
    """A "check yourself" question with its short answer."""

    question: Question = Field(description="A question a reader who met the stage's goal can answer.")
    answer: Prose = Field(description="The short answer, in one to three sentences of our own.")


class Stage(Strict):
    """A group of steps with one goal; a path is a sequence of stages."""

    id: Slug = Field(description="Stage id, unique within its path; used as the page anchor.")
    title: Text = Field(description="The stage's heading.")
    goal: Prose = Field(description="What the reader can do after finishing the stage.")
    steps: list[Step] = Field(min_length=1, description="The resources of the stage, in order.")
    check: list[CheckQuestion] = Field(
        default_factory=list,
        max_length=4,
        description="Two to four 'check yourself' questions with short answers; a reader who can answer "
        "them has met the goal. Shown under the stage with the answers folded.",
    )

    @field_validator("check")
    @classmethod
    def _two_to_four(cls, value: list[CheckQuestion]) -> list[CheckQuestion]:
        if len(value) == 1:
            raise ValueError("has one question; write two to four, or none")
        return value


class LearningPath(Strict):
    """An ordered route through the catalog, from a starting point to a goal."""

    id: Slug = Field(description="Path id, used in its URL (/paths/<id>/).")
    title: Text = Field(description="The path's name.")
    summary: Prose = Field(description="Who the path is for and where it leads.")
    stages: list[Stage] = Field(min_length=1, description="The stages, in the order to take them.")


class Catalog(Strict):
    """The whole of resources.yaml."""

    schema_version: Literal[1] = Field(description="Version of this schema; 1 for now.")
    topics: list[Topic] = Field(min_length=1, description="The concept taxonomy.")
    resources: list[Resource] = Field(min_length=1, description="Every curated resource.")
    paths: list[LearningPath] = Field(min_length=1, description="Learning paths built from the resources.")

    def resource(self, resource_id: str) -> Resource:
        """The resource with this id (KeyError if there is none)."""
        return self._resources_by_id[resource_id]

    # Built once per catalog: a page renderer looks resources up per step.
    # (The models are frozen, so the index cannot go stale.)
    @cached_property
    def _resources_by_id(self) -> dict[str, Resource]:
        return {r.id: r for r in self.resources}


JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema() -> dict[str, object]:
    """The catalog's JSON Schema, as committed in ``schema/resources.schema.json``.

    Editors use it (through the ``yaml-language-server`` comment on line 1 of
    ``resources.yaml``) to complete and check fields while typing.
    """
    generated = Catalog.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Learn Transformers catalog (resources.yaml)",
        "description": (
            "Topics, learning resources and learning paths of the Learn Transformers site. "
            "Generated from the Pydantic models by `learnpath schema`; do not edit by hand. "
            "Cross-references (unique ids and URLs, known ids, no prerequisite cycles) are "
            "checked by `learnpath validate`, not by this schema."
        ),
        **{key: value for key, value in generated.items() if key not in ("title", "description")},
    }
