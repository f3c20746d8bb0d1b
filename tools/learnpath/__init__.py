"""learnpath: the catalog, site and link checker behind Learn Transformers."""

__version__ = "0.1.0"

PROJECT_URL = "https://github.com/learn-transformers/learn-transformers"
