"""``python -m segstudio`` is the same as the ``segstudio`` command."""

import sys

from segstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
