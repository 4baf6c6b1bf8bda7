#!/usr/bin/env bash
# Add DAWN Studio to the Linux desktop's application menu (for the current user): installs the desktop
# entry and the icon under ~/.local/share. Works from a checkout (points at .venv/bin/dawn-studio, made by
# `make run`) and from the bundle (`make bundle` copies this script next to its `dawn-studio` executable).
# Usage: install-desktop-entry.sh [EXECUTABLE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -d "$here/_internal/dawn_studio/data" ]; then  # inside the bundle folder
    files="$here/_internal/dawn_studio/data"; exe="${1:-$here/dawn-studio}"
else                                                 # packaging/ of a checkout
    files="$here/../dawn_studio/data"; exe="${1:-$(cd "$here/.." && pwd)/.venv/bin/dawn-studio}"
fi
[ -x "$exe" ] || { echo "$exe not found: run 'make run' once first, or give the executable." >&2; exit 1; }
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps"
cp "$files/icons/dawn-studio.svg" "$data/icons/hicolor/scalable/apps/dawn-studio.svg"
sed "s|^Exec=.*|Exec=\"$exe\"|" "$files/dawn-studio.desktop" > "$data/applications/dawn-studio.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Installed $data/applications/dawn-studio.desktop (runs $exe)"
