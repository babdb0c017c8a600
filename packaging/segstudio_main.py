"""Entry point of the PyInstaller bundle: the same as the ``segstudio`` command.

``multiprocessing.freeze_support()`` must run first: worker processes of the
data loaders (training, batch prediction) and the background trainer start
this same executable; under the ``spawn``/``forkserver`` start methods the
child is told by its arguments to run the worker instead of the app, and this
call is where it does so (PyInstaller's multiprocessing runtime hook makes it
work on every platform).  With ``fork`` (Linux's default) it is a no-op.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from segstudio.cli import main

    sys.exit(main())
