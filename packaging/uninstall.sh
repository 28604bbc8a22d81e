#!/bin/sh
# Removes an edgefleet program installed by install.sh (it is copied next to the program, in PREFIX):
# stops and disables the unit, removes it, the commands in /usr/local/bin that run PREFIX's program and what
# install.sh put in PREFIX (PREFIX itself only when that leaves it empty: it may be shared, e.g. /opt).
# The data dir, the unit's drop-ins (/etc/systemd/system/UNIT.d: an operator's settings, such as
# `systemctl edit` writes) and the user stay unless --purge (a reinstall then finds the device's
# enrollment, its models and its settings). docs/operations.md "Installing from a tarball" lists what
# --purge deletes; never /etc/edgefleet (the trust document and keys an operator put there).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=
purge=0
user=

usage() {
  cat <<EOF
usage: uninstall.sh [--purge] [--user NAME] [--root DIR]
  --purge       also delete the data dir (/var/lib/edgefleet-PROGRAM), the unit's drop-in directories
                (/etc/systemd/system/edgefleet-PROGRAM.service.d and /run/systemd/system/edgefleet-PROGRAM.service.d)
                and the user
  --user NAME   the user install.sh created (default the one it recorded in PREFIX/install.conf, else edgefleet)
  --root DIR    the root given to install.sh --root (systemctl is not run unless SYSTEMCTL is set)
environment: NODE=/path/to/node, SYSTEMCTL=/path/to/systemctl (the one to run, also with --root)
exit codes: 0 success, 1 the removal failed, 2 bad command line
EOF
}
fail() { echo "error [$1]: $2" >&2; exit "${3:-1}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --purge) purge=1; shift ;;
    --user) [ $# -ge 2 ] || fail BAD_REQUEST "--user needs a name" 2; user=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || fail BAD_REQUEST "--root needs a directory" 2
      [ -d "$2" ] || fail BAD_REQUEST "--root $2: no such directory; expected an existing directory" 2
      root=$(cd "$2" && pwd); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail BAD_REQUEST "unknown argument $1" 2 ;;
  esac
done

[ -f "$here/MANIFEST.json" ] || fail CONFIG_INVALID "$here/MANIFEST.json is missing: run the uninstall.sh that install.sh put in the program's prefix"
node=${NODE:-$(command -v node || true)}
[ -n "$node" ] || fail CONFIG_INVALID "node not found: set NODE=/path/to/node"
field() { "$node" -e 'const m=require(process.argv[1]);const v=m[process.argv[2]];process.stdout.write(Array.isArray(v)?v.join(" "):String(v))' "$here/MANIFEST.json" "$1"; }
[ -n "$user" ] || user=$(sed -n 's/^user=//p' "$here/install.conf" 2>/dev/null || true)
[ -n "$user" ] || user=edgefleet
prefix=${here#"$root"}
program=$(field program)
# The unpacked tarball holds an uninstall.sh too, beside install.sh: run from there it removed the installed
# unit and the tarball's own files, said "removed", and left the program and its commands in place.
if [ ! -f "$here/install.conf" ]; then
  default=/opt/edgefleet; [ "$program" = hub ] && default=/opt/edgefleet-hub
  fail CONFIG_INVALID "$here is not where install.sh put edgefleet-$program (it holds no install.conf: an unpacked tarball?): nothing was changed. Run the uninstall.sh in the prefix: $default/uninstall.sh, or PREFIX/uninstall.sh for an install.sh --prefix PREFIX"
fi
bins=$(field bins)
parts=$(field parts)
unit="edgefleet-$program.service"
data="/var/lib/edgefleet-$program"

# systemctl on a real root; under --root only the one SYSTEMCTL names (as install.sh).
sc=
if [ -n "${SYSTEMCTL:-}" ]; then sc=$SYSTEMCTL
elif [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then sc=systemctl; fi

[ -z "$sc" ] || "$sc" disable --now "$unit" 2>/dev/null || true
rm -f "$root/etc/systemd/system/$unit"
# The commands install.sh wrote (their second line names this prefix), or linked before it wrote scripts.
command_mark() { printf '# edgefleet: runs %s with the node install.sh chose (uninstall.sh removes this)' "$1"; }
for b in $bins; do
  cmd="$root/usr/local/bin/$b"
  if [ -L "$cmd" ]; then
    [ "$(readlink "$cmd")" != "$prefix/$program/bin/$b.js" ] || rm -f "$cmd"
  elif [ -f "$cmd" ] && [ "$(sed -n 2p "$cmd")" = "$(command_mark "$prefix/$program/bin/$b.js")" ]; then
    rm -f "$cmd"
  fi
done
# The unit's drop-ins configure this unit only, but an operator wrote them: deleted by --purge alone.
dropins=
for d in "/etc/systemd/system/$unit.d" "/run/systemd/system/$unit.d"; do
  [ -d "$root$d" ] || continue
  if [ "$purge" = 1 ]; then
    files=$(ls -A "$root$d" | tr '\n' ' ')
    rm -rf "$root$d"
    echo "removed the drop-ins in $d: ${files% }"
  else
    dropins="$dropins $d"
  fi
done
[ -z "$sc" ] || "$sc" daemon-reload || true

if [ "$purge" = 1 ]; then
  rm -rf "$root$data"
  # The user stays while the other program (agent or hub) still runs as it on this box; install.sh --root
  # made none. The message says which (it used to say the user was removed when it was kept).
  other=agent; [ "$program" = agent ] && other=hub
  user_note=
  if [ -e "$root/etc/systemd/system/edgefleet-$other.service" ]; then
    user_note="; kept user $user: edgefleet-$other.service is installed and runs as it"
  elif [ -z "$root" ] && id "$user" >/dev/null 2>&1; then
    if userdel "$user" 2>/dev/null; then user_note=" and user $user"; else user_note="; kept user $user: userdel $user failed"; fi
  fi
  echo "removed edgefleet-$program and its data dir $data$user_note"
else
  echo "removed edgefleet-$program; kept $data${dropins:+ and the unit's drop-ins in$dropins} (uninstall.sh --purge deletes them)"
fi
# Last: this script lives in the prefix it removes. Only what install.sh put there (and its leftovers).
for part in $parts; do rm -rf "${here:?}/$part"; done
rm -rf "$here/systemd" "$here/MANIFEST.json" "$here/install.conf" "$here"/.old-* "$here"/.install-*
rm -f "$here/uninstall.sh"
rmdir "$here" 2>/dev/null || echo "kept $prefix: it holds files install.sh did not put there"
