#!/usr/bin/env bash
# Add DAWN Studio to the Linux desktop's application menu (for the current user):
# installs the desktop entry and the icon under ~/.local/share, pointing at this checkout's venv.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
exe="$root/.venv/bin/dawn-studio"
[ -x "$exe" ] || { echo "Run 'make run' once first (it creates $exe)." >&2; exit 1; }
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps"
cp "$root/resources/icons/dawn-studio.svg" "$data/icons/hicolor/scalable/apps/dawn-studio.svg"
sed "s|^Exec=.*|Exec=$exe|" "$root/resources/dawn-studio.desktop" > "$data/applications/dawn-studio.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Installed $data/applications/dawn-studio.desktop"
