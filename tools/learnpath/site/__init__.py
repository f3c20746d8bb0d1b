"""The site: plain render functions (catalog -> Markdown/HTML) and the MkDocs hook that calls them.

``render`` knows nothing of MkDocs, so it is tested with catalog models alone;
``hook`` is the thin MkDocs adapter (``hooks: [tools/learnpath/site/hook.py]``).
"""
