#!/usr/bin/env bash
# Install p1gw as a hardened systemd service on Raspberry Pi OS / Debian, or undo it.
#
# Strategy: every step first looks at what is there and changes only what differs, so running the
# script twice changes nothing the second time (files are compared byte for byte and mode for mode
# before being written; users, the venv and the package are checked before being created).
# All paths go through $R, the --root prefix, so the same code installs into a throwaway root (for
# tests or an image build) where nothing outside the root is touched and systemctl, udevadm and
# apt-get are not called. --dry-run prints each action instead of doing it.
#
# What it installs: the service user p1gw (in dialout), a venv with the package in /opt/p1gw, the
# config /etc/p1gw/config.toml (from hardware/config.example.toml, never overwritten), data in
# /var/lib/p1gw, a udev rule naming the P1 cable /dev/p1, the systemd unit p1gw.service, a journald
# size limit and, with --with-mosquitto, a password-protected Mosquitto listener.
set -o errexit -o pipefail -o nounset

usage() {
    cat <<'EOF'
Usage: sudo hardware/install.sh [OPTIONS] [PACKAGE]

Install the P1 gateway as a systemd service (run it again to update; it is idempotent).

PACKAGE                 a source checkout (directory) or a wheel (.whl) to install;
                        default: the checkout this script belongs to
--with-mosquitto        also install Mosquitto with a password-protected listener on port 1883
                        and put its credentials into the new config
--device PATH           serial device the service may open (default /dev/p1)
--usb-vendor HEX        USB vendor id of the P1 cable for the udev rule (default 0403, FTDI)
--usb-product HEX       USB product id (default 6001, FT232R)
--usb-serial TEXT       also match the cable's serial number (several FTDI adapters on one Pi)
--python PATH           interpreter for the venv (default python3)
--pip-args "ARGS"       extra arguments for pip install (e.g. "--no-index --find-links DIR")
--root DIR              install into DIR instead of /: all paths prefixed, no systemctl,
                        udevadm or apt-get; users are created with useradd --root
--dry-run               print what would be done and change nothing
--uninstall             remove everything; keeps /var/lib/p1gw (data), the p1gw user and a
                        config you edited
--purge                 with --uninstall: also remove the data, the config and the user
-h, --help              this help

Examples:
  sudo hardware/install.sh                          # from this checkout
  sudo hardware/install.sh --with-mosquitto ~/p1_gateway-0.1.0-py3-none-any.whl
  sudo hardware/install.sh --usb-vendor 067b --usb-product 2303   # a PL2303 cable
  sudo hardware/install.sh --device /dev/ttyAMA0    # Pi UART behind a transistor inverter
  sudo hardware/install.sh --uninstall --purge
EOF
}

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX=/opt/p1gw
CONF_DIR=/etc/p1gw
DATA_DIR=/var/lib/p1gw
UNIT=/etc/systemd/system/p1gw.service
UDEV_RULE=/etc/udev/rules.d/99-p1gw.rules
JOURNALD_DROPIN=/etc/systemd/journald.conf.d/p1gw.conf
MOSQ_CONF=/etc/mosquitto/conf.d/p1gw.conf
MOSQ_PASSWD=/etc/mosquitto/p1gw.passwd
SERVICE_USER=p1gw

R=""
DRY_RUN=0
WITH_MOSQUITTO=0
UNINSTALL=0
PURGE=0
DEVICE=/dev/p1
USB_VENDOR=0403
USB_PRODUCT=6001
USB_SERIAL=""
PYTHON=python3
PIP_ARGS=""
PACKAGE=""

while [ $# -gt 0 ]; do
    case "$1" in
        --root) R="${2:?--root needs a directory}"; shift ;;
        --root=*) R="${1#*=}" ;;
        --dry-run) DRY_RUN=1 ;;
        --with-mosquitto) WITH_MOSQUITTO=1 ;;
        --device) DEVICE="${2:?--device needs a path}"; shift ;;
        --usb-vendor) USB_VENDOR="${2:?}"; shift ;;
        --usb-product) USB_PRODUCT="${2:?}"; shift ;;
        --usb-serial) USB_SERIAL="${2:?}"; shift ;;
        --python) PYTHON="${2:?}"; shift ;;
        --pip-args) PIP_ARGS="${2-}"; shift ;;
        --uninstall) UNINSTALL=1 ;;
        --purge) PURGE=1 ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) PACKAGE="$1" ;;
    esac
    shift
done

say() { printf 'p1gw-install: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$PURGE" -eq 0 ] || [ "$UNINSTALL" -eq 1 ] || die "--purge goes with --uninstall"
if [ -n "$R" ]; then
    [ -d "$R" ] || die "--root $R is not a directory"
    R="$(cd "$R" && pwd)"
    [ "$R" != "/" ] || R=""
fi
[[ "$USB_VENDOR" =~ ^[0-9a-fA-F]{4}$ ]] || die "--usb-vendor must be 4 hex digits, got '$USB_VENDOR'"
[[ "$USB_PRODUCT" =~ ^[0-9a-fA-F]{4}$ ]] || die "--usb-product must be 4 hex digits, got '$USB_PRODUCT'"
[[ "$USB_SERIAL" =~ ^[A-Za-z0-9._-]*$ ]] || die "--usb-serial may hold letters, digits, . _ - only"
[[ "$DEVICE" =~ ^/dev/[A-Za-z0-9._/-]+$ ]] || die "--device must be a path under /dev, got '$DEVICE'"
if [ "$UNINSTALL" -eq 0 ]; then
    case "${PACKAGE:-$HERE/..}" in
        *.whl) [ -f "$PACKAGE" ] || die "$PACKAGE: no such wheel (neither a directory nor a .whl)" ;;
        *) [ -f "${PACKAGE:-$HERE/..}/pyproject.toml" ] \
            || die "${PACKAGE:-$HERE/..} is neither a directory with pyproject.toml nor a .whl" ;;
    esac
fi
USB_VENDOR="${USB_VENDOR,,}"
USB_PRODUCT="${USB_PRODUCT,,}"
if [ -z "$R" ] && [ "$DRY_RUN" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo), or use --root DIR / --dry-run"
fi

CHANGED=0           # set when a file or setting changed: services are reloaded only then
CREATED_DIRS=()     # directories this run created (outside the venv), undone by --uninstall
IS_ROOT=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)

# run CMD...: do it (or print it with --dry-run).
run() {
    if [ "$DRY_RUN" -eq 1 ]; then
        printf '+ %s\n' "$*"
        return 0
    fi
    "$@"
}

# host_cmd CMD...: a command acting on the running system; skipped (and shown) under --root.
host_cmd() {
    if [ -n "$R" ]; then
        say "skipped under --root: $*"
        return 0
    fi
    run "$@"
}

# ensure_dir PATH MODE: create $R/PATH with its missing parents, remembering what was created.
ensure_dir() {
    local path="$1" mode="$2" missing=() p="$1"
    while [ ! -d "$R$p" ]; do
        missing=("$p" "${missing[@]}")
        p="$(dirname "$p")"
    done
    local d
    for d in "${missing[@]}"; do
        if [ "$d" = "$path" ]; then run mkdir -m "$mode" "$R$d"; else run mkdir -m 755 "$R$d"; fi
        CREATED_DIRS+=("$d")
        CHANGED=1
    done
    [ -d "$R$path" ] || [ "$DRY_RUN" -eq 1 ]
}

# id_of NAME FIELD: numeric uid (field 3 of passwd) or gid (of group) inside the root.
uid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/passwd" 2>/dev/null; }
gid_of() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/group" 2>/dev/null; }

# set_owner PATH USER GROUP MODE: chown/chmod $R/PATH only where they differ.
set_owner() {
    local path="$R$1" uid gid want have
    [ -e "$path" ] || return 0
    uid="$(uid_of "$2")"
    gid="$(gid_of "$3")"
    if [ "$IS_ROOT" -eq 1 ] && [ -n "$uid" ] && [ -n "$gid" ]; then
        have="$(stat -c '%u:%g' "$path")"
        if [ "$have" != "$uid:$gid" ]; then
            run chown "$uid:$gid" "$path"
            CHANGED=1
        fi
    fi
    want="$4"
    have="$(stat -c '%a' "$path")"
    if [ "$((8#$have))" -ne "$((8#$want))" ]; then
        run chmod "$want" "$path"
        CHANGED=1
    fi
}

# put_file PATH MODE [GROUP] < content: write $R/PATH when its content differs (atomically), then
# give it MODE and owner root:GROUP (default root).
put_file() {
    local path="$1" mode="$2" group="${3:-root}" tmp
    tmp="$(mktemp)"
    cat >"$tmp"
    ensure_dir "$(dirname "$path")" 755
    if [ -f "$R$path" ] && cmp -s "$tmp" "$R$path"; then
        rm -f "$tmp"
    elif [ "$DRY_RUN" -eq 1 ]; then
        printf '+ write %s (%s bytes)\n' "$R$path" "$(wc -c <"$tmp")"
        rm -f "$tmp"
        return 0
    else
        say "writing $path"
        install -m "$mode" "$tmp" "$R$path.p1gw-new"
        mv -f "$R$path.p1gw-new" "$R$path"
        rm -f "$tmp"
        CHANGED=1
    fi
    set_owner "$path" root "$group" "$mode"
}

# remove PATH: delete $R/PATH (file or tree) if it is there.
remove() {
    if [ -e "$R$1" ] || [ -L "$R$1" ]; then
        say "removing $1"
        run rm -rf "$R$1"
        CHANGED=1
    fi
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# manifest_get KEY: a value recorded by an earlier install in $PREFIX/manifest (or, after an
# --uninstall that kept the data, in $KEPT_MANIFEST, so that a later --purge can finish the job).
KEPT_MANIFEST="$DATA_DIR/.p1gw-install-manifest"
manifest_get() {
    local m="$R$PREFIX/manifest"
    [ -f "$m" ] || m="$R$KEPT_MANIFEST"
    [ -f "$m" ] || return 0
    awk -F= -v k="$1" '$1 == k { sub(/^[^=]*=/, ""); print }' "$m"
}

# render TEMPLATE: a file from hardware/files with @KEY@ placeholders filled in.
render() {
    local device_unit="" serial_match=""
    if [ "${DEVICE#/dev/}" != "$DEVICE" ]; then
        device_unit="$(printf '%s' "${DEVICE#/}" | sed 's|/|-|g').device"
    fi
    [ -z "$USB_SERIAL" ] || serial_match=", ATTRS{serial}==\"$USB_SERIAL\""
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@DEVICE@|$DEVICE|g" -e "s|@DEVICE_UNIT@|$device_unit|g" \
        -e "s|@VENDOR@|$USB_VENDOR|g" -e "s|@PRODUCT@|$USB_PRODUCT|g" \
        -e "s|@SERIAL_MATCH@|$serial_match|g" -e "s|@NAME@|p1|g" "$HERE/files/$1"
}

# ---------------------------------------------------------------------------------------------
# install steps

step_user() {
    grep -q '^dialout:' "$R/etc/group" 2>/dev/null || die "no group dialout in $R/etc/group"
    if ! grep -q "^$SERVICE_USER:" "$R/etc/passwd" 2>/dev/null; then
        say "creating system user $SERVICE_USER"
        run useradd ${R:+--root "$R"} --system --user-group --home-dir "$DATA_DIR" \
            --no-create-home --shell /usr/sbin/nologin --comment "P1 gateway" "$SERVICE_USER"
        CHANGED=1
    fi
    if ! awk -F: -v u="$SERVICE_USER" '$1 == "dialout" { n = split($4, m, ","); \
            for (i = 1; i <= n; i++) if (m[i] == u) found = 1 } END { exit !found }' "$R/etc/group"; then
        say "adding $SERVICE_USER to dialout (serial ports)"
        run usermod ${R:+--root "$R"} --append --groups dialout "$SERVICE_USER"
        CHANGED=1
    fi
}

# The package source as a clean copy (no venv, VCS or build leftovers, so an in-tree build cannot
# litter the checkout) and its content hash, which decides whether pip has anything to do.
prepare_source() {
    local src="$1"
    if [ -f "$src" ]; then
        case "$src" in *.whl) ;; *) die "$src is neither a directory nor a .whl" ;; esac
        SOURCE_PATH="$(cd "$(dirname "$src")" && pwd)/$(basename "$src")"
        SOURCE_HASH="$(sha256_of "$SOURCE_PATH")"
        return
    fi
    [ -f "$src/pyproject.toml" ] || die "$src has no pyproject.toml: give a checkout or a wheel"
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    tar -C "$src" --exclude=.venv --exclude=.bench-venv --exclude=.git --exclude=build \
        --exclude=dist --exclude='*.egg-info' --exclude=__pycache__ --exclude=node_modules \
        --exclude='.*_cache' --exclude=.hypothesis --exclude=artifacts -cf - . | tar -C "$WORK" -xf -
    SOURCE_PATH="$WORK"
    SOURCE_HASH="$(cd "$WORK" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
        | sha256sum | cut -d' ' -f1)"
}

step_venv_and_package() {
    local venv="$PREFIX/venv" pip_args=()
    read -r -a pip_args <<<"$PIP_ARGS"
    prepare_source "${PACKAGE:-$HERE/..}"
    ensure_dir "$PREFIX" 755
    if [ ! -x "$R$venv/bin/python" ]; then
        say "creating the venv $venv"
        # Under --root, bytecode is compiled once at the end, with the final paths.
        if [ -n "$R" ]; then
            run env PIP_NO_COMPILE=1 "$PYTHON" -m venv "$R$venv"
        else
            run "$PYTHON" -m venv "$R$venv"
        fi
        CHANGED=1
    fi
    if [ "$(manifest_get source_sha256)" = "$SOURCE_HASH" ] && [ -x "$R$venv/bin/p1gw" ]; then
        say "package unchanged (sha256 ${SOURCE_HASH:0:12})"
        return
    fi
    say "installing the package from ${PACKAGE:-this checkout}"
    run "$R$venv/bin/python" -m pip uninstall --quiet --yes p1-gateway 2>/dev/null || true
    # Under --root, compile later with the final paths instead of the throwaway root's. The [gateway]
    # extra brings what `p1gw run` and `p1gw doctor` need (a bare install is the parser only).
    run "$R$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        ${R:+--no-compile} "${pip_args[@]}" "${SOURCE_PATH}[gateway]"
    if [ -n "$R" ] && [ "$DRY_RUN" -eq 0 ]; then
        # Scripts and pyvenv.cfg name the venv by its path inside the root: make them name the
        # path it will have once the root is the system.
        grep -rlIF -- "$R$PREFIX" "$R$venv/bin" "$R$venv/pyvenv.cfg" | while read -r f; do
            sed -i "s|$R$PREFIX|$PREFIX|g" "$f"
        done
        "$R$venv/bin/python" -m compileall -q -f -s "$R" -p / "$R$venv/lib" >/dev/null || true
    fi
    CHANGED=1
}

step_data_dir() {
    ensure_dir "$DATA_DIR" 750
    set_owner "$DATA_DIR" "$SERVICE_USER" "$SERVICE_USER" 750
}

# Mosquitto: the package (not under --root), a listener with a password file, and a broker user
# for the gateway whose generated password goes into a config created in the same run.
MQTT_USER=""
MQTT_PASSWORD=""
step_mosquitto() {
    [ "$WITH_MOSQUITTO" -eq 1 ] || return 0
    if [ -z "$R" ] && ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
        run apt-get install -y mosquitto mosquitto-clients
    elif [ -n "$R" ] && [ ! -x "$R/usr/sbin/mosquitto" ]; then
        say "skipped under --root: apt-get install -y mosquitto mosquitto-clients"
    fi
    put_file "$MOSQ_CONF" 644 < <(render mosquitto-p1gw.conf)
    if [ ! -f "$R$MOSQ_PASSWD" ]; then
        command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (apt-get install mosquitto)"
        MQTT_USER="$SERVICE_USER"
        MQTT_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
        say "creating the broker user $MQTT_USER in $MOSQ_PASSWD"
        if [ "$DRY_RUN" -eq 1 ]; then
            printf '+ mosquitto_passwd -c -b %s %s ********\n' "$R$MOSQ_PASSWD" "$MQTT_USER"
        else
            (umask 077 && mosquitto_passwd -c -b "$R$MOSQ_PASSWD" "$MQTT_USER" "$MQTT_PASSWORD")
        fi
        MOSQ_PASSWD_CREATED=1
        CHANGED=1
    fi
    # Mosquitto reads the file after dropping to its own user, and wants it private to that user.
    if [ -n "$(uid_of mosquitto)" ]; then
        set_owner "$MOSQ_PASSWD" mosquitto root 600
    else
        say "no user mosquitto (yet): $MOSQ_PASSWD stays root's; chown it to mosquitto once installed"
        set_owner "$MOSQ_PASSWD" root root 600
    fi
}

step_config() {
    local conf="$CONF_DIR/config.toml" tmp
    ensure_dir "$CONF_DIR" 755
    if [ -f "$R$conf" ]; then
        say "keeping your $conf"
        if [ -n "$MQTT_PASSWORD" ]; then
            say "set in $conf: [mqtt] username = \"$MQTT_USER\", password = \"$MQTT_PASSWORD\""
        fi
    else
        tmp="$(mktemp)"
        sed -e "s|^port = \"/dev/p1\"|port = \"$DEVICE\"|" "$HERE/config.example.toml" >"$tmp"
        if [ -n "$MQTT_PASSWORD" ]; then
            sed -i -e "s|^username = \"\"|username = \"$MQTT_USER\"|" \
                -e "s|^password = \"\"|password = \"$MQTT_PASSWORD\"|" "$tmp"
        fi
        put_file "$conf" 640 "$SERVICE_USER" <"$tmp"
        CONFIG_HASH="$(sha256_of "$tmp")"
        rm -f "$tmp"
    fi
    set_owner "$conf" root "$SERVICE_USER" 640
}

step_system_files() {
    put_file "$UNIT" 644 < <(render p1gw.service.in)
    put_file "$UDEV_RULE" 644 < <(render 99-p1gw.rules.in)
    put_file "$JOURNALD_DROPIN" 644 < <(render journald-p1gw.conf)
}

# What --uninstall needs to know: the installed source, the config as first written (removed only
# if unchanged), the directories created outside the venv (removed if empty), a created passwd.
step_manifest() {
    local dirs old
    old="$(manifest_get created_dirs)"
    # shellcheck disable=SC2086 # $old is a space-separated list of paths without spaces
    dirs="$(printf '%s\n' $old "${CREATED_DIRS[@]}" | awk 'NF && !seen[$0]++' | tr '\n' ' ')"
    put_file "$PREFIX/manifest" 644 < <(
        echo "source_sha256=$SOURCE_HASH"
        echo "config_sha256=${CONFIG_HASH:-$(manifest_get config_sha256)}"
        echo "mosquitto_passwd_created=${MOSQ_PASSWD_CREATED:-$(manifest_get mosquitto_passwd_created)}"
        echo "created_dirs=${dirs% }"
    )
    [ ! -f "$R$KEPT_MANIFEST" ] || run rm -f "$R$KEPT_MANIFEST"
}

step_activate() {
    [ "$CHANGED" -eq 1 ] || { say "nothing changed"; return 0; }
    host_cmd udevadm control --reload
    host_cmd udevadm trigger --subsystem-match=tty --action=add
    host_cmd systemctl daemon-reload
    host_cmd systemctl restart systemd-journald
    [ "$WITH_MOSQUITTO" -eq 0 ] || host_cmd systemctl restart mosquitto
    host_cmd systemctl enable p1gw.service
    host_cmd systemctl restart p1gw.service
}

do_install() {
    SOURCE_HASH=""
    CONFIG_HASH=""
    MOSQ_PASSWD_CREATED=""
    step_user
    step_venv_and_package
    step_data_dir
    step_mosquitto
    step_config
    step_system_files
    step_manifest
    step_activate
    say "done. Check the wiring and settings with: sudo -u $SERVICE_USER $PREFIX/venv/bin/p1gw doctor"
    say "logs: journalctl -u p1gw -f    config: $CONF_DIR/config.toml"
}

# ---------------------------------------------------------------------------------------------
# uninstall

do_uninstall() {
    local conf="$CONF_DIR/config.toml" config_hash dirs passwd_created i
    config_hash="$(manifest_get config_sha256)"
    dirs="$(manifest_get created_dirs)"
    passwd_created="$(manifest_get mosquitto_passwd_created)"
    if [ -f "$R$UNIT" ]; then
        host_cmd systemctl disable --now p1gw.service || true
    fi
    remove "$UNIT"
    remove "$UDEV_RULE"
    remove "$JOURNALD_DROPIN"
    if [ -f "$R$MOSQ_CONF" ]; then
        remove "$MOSQ_CONF"
        [ "$passwd_created" != 1 ] || remove "$MOSQ_PASSWD"
        say "Mosquitto itself stays installed (apt-get remove mosquitto if nothing else uses it)"
        host_cmd systemctl try-restart mosquitto
    fi
    if [ "$PURGE" -eq 0 ] && [ -d "$R$DATA_DIR" ] && [ -f "$R$PREFIX/manifest" ]; then
        run cp "$R$PREFIX/manifest" "$R$KEPT_MANIFEST"
    fi
    remove "$PREFIX"
    if [ -f "$R$conf" ]; then
        if [ "$PURGE" -eq 1 ] || [ "$(sha256_of "$R$conf")" = "$config_hash" ]; then
            remove "$conf"
        else
            say "keeping $conf: you edited it (--purge removes it)"
        fi
    fi
    if [ "$PURGE" -eq 1 ]; then
        remove "$DATA_DIR"
        if grep -q "^$SERVICE_USER:" "$R/etc/passwd" 2>/dev/null; then
            say "removing user $SERVICE_USER"
            run userdel ${R:+--root "$R"} "$SERVICE_USER"
        fi
        if grep -q "^$SERVICE_USER:" "$R/etc/group" 2>/dev/null; then
            run groupdel ${R:+--root "$R"} "$SERVICE_USER"
        fi
    else
        [ ! -d "$R$DATA_DIR" ] || say "keeping $DATA_DIR and user $SERVICE_USER (--purge removes them)"
    fi
    # Directories the install created, deepest first, if nothing else lives in them now.
    read -r -a dirs <<<"$dirs"
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        if [ -d "$R${dirs[i]}" ] && [ -z "$(ls -A "$R${dirs[i]}")" ]; then
            run rmdir "$R${dirs[i]}"
        fi
    done
    if [ "$CHANGED" -eq 1 ]; then
        host_cmd systemctl daemon-reload
        host_cmd udevadm control --reload
        host_cmd systemctl restart systemd-journald
    fi
    say "uninstalled"
}

if [ "$UNINSTALL" -eq 1 ]; then
    do_uninstall
else
    do_install
fi
