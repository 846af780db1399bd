# Shared by scripts/demo and scripts/test: find Python >= 3.11 and install pelihara into .venv.
# Sourced, not run.

PELIHARA_DEBIAN_BASE=(python3 python3-venv python3-pip)
# WeasyPrint's layout libraries and a font: the documents as PDF (`pelihara report`).
PELIHARA_DEBIAN_DOCUMENTS=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0
    fonts-dejavu-core)

# What of PELIHARA_DEBIAN_DOCUMENTS is missing here (WeasyPrint opens the libraries by name).
documents_missing() {
    for lib in libpangoft2-1.0.so.0 libharfbuzz-subset.so.0; do
        /sbin/ldconfig -p | grep -F "$lib " >/dev/null || echo "$lib"  # no -q: pipefail
    done
    [ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || echo "fonts-dejavu-core"
}

say() {
    if [ -t 2 ]; then printf '\033[1m==> %s\033[0m\n' "$*" >&2; else printf '==> %s\n' "$*" >&2; fi
}

is_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
    say "installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

find_python() {
    for candidate in python3 python3.13 python3.12 python3.11; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

ensure_python() {
    if find_python >/dev/null; then return 0; fi
    if is_root && command -v apt-get >/dev/null; then apt_install "${PELIHARA_DEBIAN_BASE[@]}"; fi
    if ! find_python >/dev/null; then
        echo "pelihara needs Python >= 3.11 with venv: sudo apt-get install python3 python3-venv" >&2
        exit 2
    fi
}

# ensure_venv EXTRAS: create .venv (once) and install pelihara with EXTRAS (e.g. "test").
ensure_venv() {
    local extras=${1:+[$1]}
    ensure_python
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv with $(find_python)"
        "$(find_python)" -m venv .venv
    fi
    say "installing pelihara$extras into .venv"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    # Strict editable mode: a tree of links under build/ maps the top-level folders to pelihara.*
    # (mypy reads it; a new module needs this step again, which scripts/test and demo run).
    # setuptools warns at length that it did so: shown only when the install fails.
    local log=.venv/install.log
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" \
        --config-settings editable_mode=strict >"$log" 2>&1; then
        cat "$log" >&2
        return 1
    fi
}
