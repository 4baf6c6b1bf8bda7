# One-shot set-up on Windows 10/11 (Windows PowerShell 5.1 or PowerShell 7), the counterpart of
# setup-env.sh: a virtual environment in .venv with torch 2.13.0 (the CUDA build from PyTorch's own index
# when an NVIDIA driver is present, else the CPU build from PyPI), then the package; finally it checks
# that Qt, audio recording, video and torch load, and says which device generation will use.
# Usage:  powershell -ExecutionPolicy Bypass -File scripts\setup-env.ps1 [-Extras test] [-Cpu]
#         [-TorchIndex https://download.pytorch.org/whl/cuXXX]
param(
    [string]$Extras = "",
    [switch]$Cpu,  # CPU build even with an NVIDIA GPU (about 200 MB instead of 2.5 GB)
    [string]$TorchIndex = "https://download.pytorch.org/whl/cu128"  # a CUDA build torch 2.13.0 is published for
)
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)

function Invoke-Checked([string]$What) {
    # native commands do not throw: look at the exit code of the last one
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)." }
}

# --- Python environment -----------------------------------------------------------------
$python = ".venv\Scripts\python.exe"
if (-not (Test-Path $python)) {
    if (Get-Command py -ErrorAction SilentlyContinue) { py -3 -m venv .venv }
    elseif (Get-Command python -ErrorAction SilentlyContinue) { python -m venv .venv }
    else { throw "Python not found: install Python 3.10 or newer from python.org (tick 'Add python.exe to PATH')." }
    Invoke-Checked "Creating .venv"
}
& $python -c "import sys; sys.exit(sys.version_info < (3, 10))"
if ($LASTEXITCODE -ne 0) {
    throw "DAWN Studio needs Python 3.10 or newer; delete .venv and install a newer Python from python.org."
}

$name = if ($Extras) { $Extras } else { "base" }
$stamp = ".venv\.installed-$name"
if (-not (Test-Path $stamp) -or (Get-Item pyproject.toml).LastWriteTime -gt (Get-Item $stamp).LastWriteTime) {
    & $python -m pip install -q --upgrade pip; Invoke-Checked "Upgrading pip"
    if (-not $Cpu -and (Get-Command nvidia-smi -ErrorAction SilentlyContinue)) {
        Write-Host "NVIDIA driver found: installing the CUDA build of torch from $TorchIndex"
        & $python -m pip install -q "torch==2.13.0" --index-url $TorchIndex
        Invoke-Checked "Installing torch from $TorchIndex (pytorch.org lists the CUDA builds: pass -TorchIndex)"
    } else {
        & $python -m pip install -q "torch==2.13.0"; Invoke-Checked "Installing torch"  # PyPI: CPU build
    }
    $target = if ($Extras) { ".[$Extras]" } else { "." }
    & $python -m pip install -q -e $target; Invoke-Checked "Installing DAWN Studio"
    New-Item -ItemType File -Force $stamp | Out-Null
}

# --- check what the app loads at run time --------------------------------------------------
$check = @'
import importlib
failed = []
for name in ('PySide6.QtWidgets', 'PySide6.QtMultimedia', 'sounddevice', 'av', 'cv2', 'torch'):
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f'  {name}: {exc}')
if failed:
    print('Some libraries the app needs do not load:\n' + '\n'.join(failed))
    raise SystemExit(1)
import torch
print('Generation runs on', f'CUDA ({torch.cuda.get_device_name(0)})' if torch.cuda.is_available() else 'the CPU')
'@
$check | & $python -  # through stdin: Windows PowerShell 5.1 mangles quotes in native arguments
if ($LASTEXITCODE -ne 0) {
    Write-Warning "Install the latest Microsoft Visual C++ Redistributable (x64) and run this script again."
}
Write-Host "Ready: .venv\Scripts\dawn-studio opens the app (.venv\Scripts\dawn-studio --help for the command line)."
