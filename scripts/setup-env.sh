#!/usr/bin/env bash
# One-shot set-up on a fresh Debian/Ubuntu machine (also used by CI) or a Mac with Homebrew:
#  1. Linux: system libraries Qt, QtMultimedia and PortAudio need (apt-get when root, else the exact
#     command); macOS: a Python >= 3.10 (Homebrew's, not Xcode's 3.9) and PortAudio from Homebrew,
#  2. a virtual environment in .venv with torch==2.13.0 (on Apple silicon PyPI's build has the MPS GPU
#     backend), then the package (with the extras asked for),
#  3. that what the app loads at run time loads, and which device generation will use.
# Windows: scripts/setup-env.ps1.
# Usage: scripts/setup-env.sh [extras]   e.g. scripts/setup-env.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"

# --- system libraries -------------------------------------------------------------
missing_libs() {
    local need=()
    if [ "$(uname -s)" != "Linux" ]; then return 0; fi
    command -v ldconfig >/dev/null 2>&1 || return 0
    local cache; cache="$(ldconfig -p 2>/dev/null || true)"
    # library soname -> Debian package
    local pairs=(
        "libportaudio.so.2:libportaudio2" "libpulse.so.0:libpulse0" "libEGL.so.1:libegl1"
        "libGL.so.1:libgl1" "libxkbcommon.so.0:libxkbcommon0" "libxkbcommon-x11.so.0:libxkbcommon-x11-0"
        "libxcb-cursor.so.0:libxcb-cursor0" "libxcb-icccm.so.4:libxcb-icccm4"
        "libxcb-keysyms.so.1:libxcb-keysyms1" "libxcb-image.so.0:libxcb-image0"
        "libxcb-render-util.so.0:libxcb-render-util0" "libxcb-shape.so.0:libxcb-shape0"
        "libxcb-randr.so.0:libxcb-randr0" "libxcb-xkb.so.1:libxcb-xkb1" "libfontconfig.so.1:libfontconfig1"
        "libdbus-1.so.3:libdbus-1-3"
    )
    for pair in "${pairs[@]}"; do
        grep -q "${pair%%:*}" <<<"$cache" || need+=("${pair##*:}")
    done
    # Xvfb is only needed for the screenshot tests; xvfb-run comes with it.
    if [ "${WANT_XVFB:-0}" = 1 ] && ! command -v Xvfb >/dev/null 2>&1; then need+=(xvfb xauth); fi
    echo "${need[@]:-}"
}
need="$(missing_libs)"
if [ -n "${need// /}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing system libraries: $need"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $need >/dev/null
    else
        echo "Missing system libraries. Install them with:" >&2
        echo "  sudo apt-get install $need" >&2
        echo "(continuing; recording, audio playback or the window may not work until then)" >&2
    fi
fi

# --- macOS: Homebrew's Python and PortAudio --------------------------------------------
if [ "$(uname -s)" = Darwin ]; then
    if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        for candidate in python3.13 python3.12 python3.11 python3.10; do
            if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
        done
    fi
    if command -v brew >/dev/null 2>&1; then
        brew list portaudio >/dev/null 2>&1 || { echo "Installing PortAudio (recording) with Homebrew"; brew install portaudio; }
    else
        echo "Homebrew not found (https://brew.sh): install it, then 'brew install python@3.12 portaudio'." >&2
    fi
fi

# --- Python environment -----------------------------------------------------------
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "DAWN Studio needs Python 3.10 or newer ($PY is older or missing); set PYTHON=/path/to/python3." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=".venv/.installed-${extras:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q "torch==2.13.0"
    if [ -n "$extras" ]; then
        .venv/bin/python -m pip install -q -e ".[$extras]"
    else
        .venv/bin/python -m pip install -q -e .
    fi
    touch "$stamp"
fi

# --- check what the app loads at run time (rather than guessing from package lists) ----------
if report="$(QT_QPA_PLATFORM=offscreen .venv/bin/python - 2>&1 <<'PY'
import importlib
failed = []
for name in ("PySide6.QtWidgets", "PySide6.QtMultimedia", "sounddevice", "av", "cv2", "torch"):
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every failure, not just the first
        failed.append(f"  {name}: {exc}")
if failed:
    print("\n".join(failed))
    raise SystemExit(1)
import torch
if torch.cuda.is_available():
    print(f"Generation runs on CUDA ({torch.cuda.get_device_name(0)})")
elif torch.backends.mps.is_available():
    print("Generation runs on the Apple GPU (MPS)")
else:
    print("Generation runs on the CPU (no CUDA or MPS GPU found)")
PY
)"; then
    echo "${report##*$'\n'}"  # the device line (Qt may log warnings before it)
else
    echo "Some libraries the app needs do not load:" >&2
    echo "$report" >&2
    if [ "$(uname -s)" = Darwin ]; then
        echo "On macOS: brew install portaudio (recording); Qt and the rest come with the Python wheels" >&2
    else
        echo "On Debian/Ubuntu: sudo apt-get install libportaudio2 libpulse0 libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0" >&2
    fi
    echo "(recording needs PortAudio, sound playback needs libpulse0; the rest of the app works without them)" >&2
fi
