"""Build hook: copy the top-level ``models/`` and ``resources/`` into the package.

The repository keeps one copy of the model cards, icons and sample images at
its top level (docs/architecture.md §2).  Wheels and sdists must carry them as
package data, so ``build_py`` copies them into ``segstudio/_data/`` of the
build tree (never into the source tree).  Every file is taken except
development-only ones (``*.py`` generators, caches), so new model cards are
picked up without touching this file.  Editable installs skip the copy: they
read the folders of the checkout (``segstudio.assets``).
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py as _build_py

ASSETS = ("models", "resources")
SKIP_SUFFIXES = {".py", ".pyc"}


def asset_files(root: Path):
    """(source, path inside segstudio/_data) for every shipped asset file."""
    for name in ASSETS:
        for src in sorted((root / name).rglob("*")):
            rel = src.relative_to(root)
            if src.is_file() and src.suffix not in SKIP_SUFFIXES and "__pycache__" not in rel.parts:
                yield src, rel


class build_py(_build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        root = Path(__file__).resolve().parent
        dest_root = Path(self.build_lib) / "segstudio" / "_data"
        for src, rel in asset_files(root):
            dest = dest_root / rel
            self.mkpath(str(dest.parent))
            self.copy_file(str(src), str(dest), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        root = Path(__file__).resolve().parent
        return outputs + [str(Path(self.build_lib) / "segstudio" / "_data" / rel) for _, rel in asset_files(root)]


setup(cmdclass={"build_py": build_py})
