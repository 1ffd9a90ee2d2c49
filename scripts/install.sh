#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for the backoffice. Sourced by bin/start and
# bin/test. Usage: scripts/install.sh [--dev]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_dev=0
[ "${1:-}" = "--dev" ] && want_dev=1

# System packages: the CJK print font and poppler (PDF → PNG); Chromium for browser tests.
pkgs=()
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || pkgs+=(fonts-wqy-zenhei)
command -v pdftoppm >/dev/null 2>&1 || pkgs+=(poppler-utils)
if [ "$want_dev" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || pkgs+=(chromium-driver)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; }; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "Installing system packages: ${pkgs[*]}"
    $SUDO apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${pkgs[@]}" >/dev/null \
      || echo "WARNING: could not install ${pkgs[*]} (printing falls back to a non-embedded font)"
  else
    echo "WARNING: please install ${pkgs[*]} (Debian packages) for embedded CJK fonts in PDFs"
  fi
fi

# Python packages, pinned in pyproject.toml, in a virtual environment of the project.
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "$want_dev" = 1 ]; then
  .venv/bin/python -m pip install -q ".[dev]"
else
  .venv/bin/python -m pip install -q .
fi

# Babel catalogues are compiled at install.
.venv/bin/pybabel compile -d i18n/translations >/dev/null
