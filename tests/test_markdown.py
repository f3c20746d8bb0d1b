"""learnpath.markdown: one rule for fenced code, used by the link extractor and the site hook alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learnpath.linkcheck.extract import links_in_markdown
from learnpath.markdown import closes_fence, opening_fence, outside_fences
from learnpath.site.hook import find_markers

MARKER = "<!-- learnpath:path-list -->"
LINK = "[x](https://example.org/{n})"


@pytest.mark.parametrize(("line", "fence"), [
    ("```", "```"), ("```python", "```"), ("~~~~ text", "~~~~"), ("    ```", "```"), ("\t~~~", "~~~"),
    ("``", None), ("```a``` inline code", None), ("text ```", None), ("~~~ info with ` is fine", "~~~"),
])
def test_opening_fence(line: str, fence: str | None) -> None:
    assert opening_fence(line) == fence


@pytest.mark.parametrize(("line", "fence", "closes"), [
    ("```", "```", True), ("````", "```", True), ("  ```  ", "```", True),
    ("```python", "```", False),  # an info string: a new fence's opening, not this one's end
    ("``", "```", False), ("~~~", "```", False), ("```", "````", False),
])
def test_closes_fence(line: str, fence: str, closes: bool) -> None:
    assert closes_fence(line, fence) is closes


# Lines 2-6 are one block: line 3 looks like a fence but has an info string, so it does
# not close the block. Line 8's backticks are inline code, not a fence.
TRICKY = f"""\
# Doc
```
```text
{MARKER}
{LINK.format(n="inside")}
```

```not a fence```
{MARKER}
{LINK.format(n="outside")}
"""


def test_the_site_hook_and_the_link_extractor_skip_the_same_block() -> None:
    assert [m.line for m in find_markers(TRICKY)] == [9]
    assert [(link.url, link.location.line) for link in links_in_markdown(TRICKY, "p.md")] == [
        ("https://example.org/outside", 10)]
    assert [n for n, _ in outside_fences(TRICKY)] == [1, 7, 8, 9, 10]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    text = f"a\n~~~~\n{MARKER}\n~~~\n{LINK.format(n=1)}\n"
    assert find_markers(text) == [] and links_in_markdown(text, "p.md") == []


_LINES = st.sampled_from(["```", "````", "```py", "~~~", "~~~~", "```a```", "text", "", "CONTENT"])


@given(st.lists(_LINES, max_size=30))
def test_markers_and_links_are_found_on_the_same_lines(lines: list[str]) -> None:
    # One document twice: content lines are markers in one and links in the other.
    # Whatever the fences, both readers must agree on which lines are prose.
    as_markers = "\n".join(MARKER if line == "CONTENT" else line for line in lines)
    as_links = "\n".join(LINK.format(n=i) if line == "CONTENT" else line for i, line in enumerate(lines))
    assert [m.line for m in find_markers(as_markers)] == \
        [link.location.line for link in links_in_markdown(as_links, "p.md")]
