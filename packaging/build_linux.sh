#!/usr/bin/env bash
# Build the Linux one-folder bundle: dist/segstudio/ (the `segstudio` executable, _internal/,
# share/ with the desktop entry, icon and AppStream metadata, and install-desktop-entry.sh).
#
#   packaging/build_linux.sh                      CPU bundle (CUDA libraries torch never loads on a CPU left out)
#   SEGSTUDIO_BUNDLE=cuda packaging/build_linux.sh  keep every CUDA library (GPU bundle, see README)
#
# Environment:
#   SEGSTUDIO_BUILD_VENV   the build virtual environment (default build/bundle-venv; reused when present)
#   SEGSTUDIO_TORCH_INDEX  an index to take torch and torchvision from, e.g. https://download.pytorch.org/whl/cpu
#                          for the CPU-only wheels (about 1.8 GB smaller); default: pip's configured index
#   SEGSTUDIO_EXTRAS=sam   optional features to bundle (the Segment Anything tool); default none
#   SEGSTUDIO_TARBALL=1    also write dist/segstudio-VERSION-linux-x86_64.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SEGSTUDIO_BUILD_VENV:-build/bundle-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
if [ -n "${SEGSTUDIO_TORCH_INDEX:-}" ]; then
    "$py" -m pip install -c constraints.txt --index-url "$SEGSTUDIO_TORCH_INDEX" torch torchvision
fi
# The bundle is made from an installed (not editable) wheel, as users get it.
rm -rf build/bundle-wheel
"$py" -m pip wheel --no-deps -w build/bundle-wheel .
"$py" -m pip install -c constraints.txt --force-reinstall --no-deps build/bundle-wheel/segstudio-*.whl
wheel="$(ls build/bundle-wheel/segstudio-*.whl)"
"$py" -m pip install -c constraints.txt "$wheel${SEGSTUDIO_EXTRAS:+[$SEGSTUDIO_EXTRAS]}" pyinstaller pyinstaller-hooks-contrib
"$py" -m PyInstaller --noconfirm --distpath dist --workpath build/pyinstaller packaging/segstudio.spec

share=dist/segstudio/share
mkdir -p "$share/applications" "$share/metainfo" "$share/icons/hicolor/scalable/apps"
cp packaging/linux/org.segstudio.SegStudio.desktop "$share/applications/"
cp packaging/linux/org.segstudio.SegStudio.metainfo.xml "$share/metainfo/"
cp resources/icons/segstudio.svg "$share/icons/hicolor/scalable/apps/org.segstudio.SegStudio.svg"
cp packaging/linux/install-desktop-entry.sh dist/segstudio/
echo "bundle: dist/segstudio ($(du -sh dist/segstudio | cut -f1)); run dist/segstudio/segstudio"
if [ "${SEGSTUDIO_TARBALL:-0}" = 1 ]; then
    version=$("$py" -c "import segstudio; print(segstudio.__version__)")
    tar -C dist -czf "dist/segstudio-$version-linux-x86_64.tar.gz" segstudio
    echo "archive: dist/segstudio-$version-linux-x86_64.tar.gz"
fi
