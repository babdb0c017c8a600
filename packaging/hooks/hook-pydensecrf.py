"""pydensecrf (package pydensecrf2): Cython extensions.

``pydensecrf.densecrf`` imports ``pydensecrf.eigen`` from C when it is loaded,
which PyInstaller's import scan cannot see, so both extensions and the pure
Python helpers are listed explicitly.
"""

from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("pydensecrf") + ["pydensecrf.eigen", "pydensecrf.densecrf"]
