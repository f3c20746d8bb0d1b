import sys

from learnpath.cli import run

sys.exit(run(sys.argv[1:]))
