#!/usr/bin/env bash
# Add segstudio to the desktop's application menu for this user (no root needed):
# the desktop entry, its icon and the AppStream metadata go to ~/.local/share, and
# the entry starts the segstudio executable that sits beside this script.
# Run it again after moving the folder; `--remove` takes the entry away again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
id=org.segstudio.SegStudio
if [ "${1:-}" = "--remove" ]; then
    rm -f "$data/applications/$id.desktop" "$data/icons/hicolor/scalable/apps/$id.svg" "$data/metainfo/$id.metainfo.xml"
    echo "removed the segstudio menu entry"
    exit 0
fi
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps" "$data/metainfo"
cp "$here/share/icons/hicolor/scalable/apps/$id.svg" "$data/icons/hicolor/scalable/apps/"
cp "$here/share/metainfo/$id.metainfo.xml" "$data/metainfo/"
sed -e "s|^Exec=segstudio|Exec=\"$here/segstudio\"|" -e "s|^TryExec=segstudio|TryExec=$here/segstudio|" \
    "$here/share/applications/$id.desktop" > "$data/applications/$id.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "segstudio is in the application menu ($data/applications/$id.desktop)"
