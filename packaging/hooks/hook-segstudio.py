"""segstudio itself: every submodule (commands are imported by name at run time) and the
package data (model cards, icons, samples), wherever this build environment has them."""

from pathlib import Path

from PyInstaller.utils.hooks import collect_submodules

from segstudio.assets import ASSETS, PACKAGED, asset_dir

hiddenimports = collect_submodules("segstudio")

# An installed wheel has segstudio/_data; a source checkout has models/ and resources/ at
# its top.  Either way they land in the bundle as segstudio/_data/<name>, where
# segstudio.assets finds them through importlib.resources.
datas = []
for name in ASSETS:
    folder = asset_dir(name)
    if folder is None:
        raise SystemExit(f"hook-segstudio: the {name}/ folder is missing; build from a full checkout or wheel")
    for f in sorted(Path(folder).rglob("*")):
        if f.is_file() and f.suffix not in (".py", ".pyc") and "__pycache__" not in f.parts:
            datas.append((str(f), str(Path("segstudio", PACKAGED, name, f.relative_to(folder).parent))))
