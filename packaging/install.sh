#!/bin/sh
# Installs an unpacked edgefleet tarball (agent or hub; MANIFEST.json says which) on a systemd box:
# the program under PREFIX, a system user, the data dir (0700, owned by that user), the systemd unit
# with PREFIX and the path of node filled in, and links in /usr/local/bin. Run again from a newer
# tarball to upgrade (the data dir is kept; restart the service). docs/operations.md "Installing".
# --root DIR installs under another root (for image builds and tests): no user, no systemctl.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix=
root=
user=edgefleet
systemd=1

usage() {
  cat <<EOF
usage: install.sh [--prefix DIR] [--user NAME] [--root DIR] [--no-systemd]
  --prefix DIR   where the program goes (default /opt/edgefleet for the agent, /opt/edgefleet-hub for the hub)
  --user NAME    the system user the service runs as (default edgefleet; created when missing)
  --root DIR     install under DIR instead of / (no user is created, systemctl is not run)
  --no-systemd   do not run systemctl daemon-reload
exit codes: 0 success, 1 the installation failed, 2 bad command line
EOF
}
fail() { echo "error [$1]: $2" >&2; exit "${3:-1}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || fail BAD_REQUEST "--prefix needs a directory" 2; prefix=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || fail BAD_REQUEST "--user needs a name" 2; user=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || fail BAD_REQUEST "--root needs a directory" 2; root=$(cd "$2" && pwd); shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; fail BAD_REQUEST "unknown argument $1" 2 ;;
  esac
done

node=${NODE:-$(command -v node || true)}
[ -n "$node" ] || fail CONFIG_INVALID "node not found: install Node.js (the version in MANIFEST.json, node.builtWith) or set NODE=/path/to/node"
manifest="$here/MANIFEST.json"
[ -f "$manifest" ] || fail CONFIG_INVALID "$manifest is missing: run install.sh from an unpacked edgefleet tarball"
field() { "$node" -e 'const m=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o[k],m);process.stdout.write(Array.isArray(v)?v.join(" "):String(v))' "$manifest" "$1"; }
program=$(field program)
abi=$(field node.abi)
built=$(field node.builtWith)
bins=$(field bins)
have=$("$node" -p process.versions.modules)
[ "$have" = "$abi" ] || fail CONFIG_INVALID "$node is $("$node" -v) (Node ABI $have) but this tarball's native addons need Node ABI $abi (built with $built): install that Node major or set NODE=/path/to/node"
arch=$(field arch)
[ "$("$node" -p process.arch)" = "$arch" ] || fail CONFIG_INVALID "this tarball is for linux-$arch but $node runs on $("$node" -p process.arch)"

[ -n "$prefix" ] || { if [ "$program" = agent ]; then prefix=/opt/edgefleet; else prefix=/opt/edgefleet-hub; fi; }
case "$prefix" in /*) ;; *) fail BAD_REQUEST "--prefix $prefix: expected an absolute path" 2 ;; esac
data="/var/lib/edgefleet-$program"
unit="edgefleet-$program.service"
dest="$root$prefix"

# The user first (the data dir belongs to it).
if [ -z "$root" ] && ! id "$user" >/dev/null 2>&1; then
  useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user" \
    || fail IO_ERROR "useradd $user failed"
fi

# The new tree beside the old one, then swapped in: an upgrade never leaves half a program.
mkdir -p "$dest"
staging="$dest/.install-$$"
rm -rf "$staging"
mkdir -p "$staging"
cp -R "$here/$program" "$here/node_modules" "$here/MANIFEST.json" "$here/uninstall.sh" "$staging/"
for part in "$program" node_modules MANIFEST.json uninstall.sh; do
  rm -rf "$dest/.old-$part"
  [ -e "$dest/$part" ] && mv "$dest/$part" "$dest/.old-$part"
  mv "$staging/$part" "$dest/$part"
  rm -rf "$dest/.old-$part"
done
rmdir "$staging"

mkdir -p "$root$data"
chmod 0700 "$root$data"
[ -n "$root" ] || chown "$user:" "$root$data"

# The unit with this prefix, node and user.
mkdir -p "$root/etc/systemd/system"
sed -e "s#/opt/edgefleet/#$prefix/#g" -e "s#/opt/edgefleet-hub/#$prefix/#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$node #" \
  -e "s#^User=.*#User=$user#" -e "s#^Group=.*#Group=$user#" \
  "$here/systemd/$unit" > "$root/etc/systemd/system/$unit"

mkdir -p "$root/usr/local/bin"
for b in $bins; do ln -sf "$prefix/$program/bin/$b.js" "$root/usr/local/bin/$b"; done

if [ -z "$root" ] && [ "$systemd" = 1 ] && command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload; fi

echo "installed edgefleet-$program $(field version) in $dest (unit $unit, data $data, user $user)"
if [ "$program" = agent ]; then
  echo "next: sudo -u $user edgefleet-agent enroll --hub http://HUB:8700 --token TOKEN --data-dir $data && systemctl enable --now $unit"
else
  echo "next: put the trust document and the hub key in /etc/edgefleet (trust.json, hub.key), then systemctl enable --now $unit"
fi
