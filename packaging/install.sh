#!/bin/sh
# Installs an unpacked edgefleet tarball (agent or hub; MANIFEST.json says which) on a systemd box:
# the program under PREFIX, a system user, the data dir (0700, owned by that user), the systemd unit
# with PREFIX and the path of node filled in, and the commands in /usr/local/bin. Run again from a newer
# tarball to upgrade (the data dir is kept; a unit that was running is restarted after the files are in
# place, as Debian's try-restart, and one that was not stays stopped). docs/operations.md "Installing" and
# "Upgrades": an older tarball whose program would refuse the data dir's database is refused before
# anything changes, and a unit edited since the last install is kept (the new one is left in PREFIX/systemd).
# --root DIR installs under another root (for image builds and tests): no user, and no systemctl unless
# SYSTEMCTL names one (the tests' stub that records its calls).
set -eu
# Readable by the service user whatever the caller's umask (a 077 root would leave it a tree it cannot read).
umask 022

here=$(cd "$(dirname "$0")" && pwd)
prefix=
root=
user=
systemd=1

usage() {
  cat <<EOF
usage: install.sh [--prefix DIR] [--user NAME] [--root DIR] [--no-systemd]
  --prefix DIR   where the program goes (default /opt/edgefleet for the agent, /opt/edgefleet-hub for the hub)
  --user NAME    the system user the service runs as (default edgefleet; created when missing)
  (an upgrade keeps the prefix and the user of the install it replaces: give neither, or the same ones)
  --root DIR     install under DIR instead of / (no user is created, systemctl is not run unless SYSTEMCTL is set)
  --no-systemd   do not run systemctl (daemon-reload, and try-restart of a unit that was running)
environment: NODE=/path/to/node, SYSTEMCTL=/path/to/systemctl (the one to run, also with --root)
exit codes: 0 success, 1 failed (nothing changed; after a failed daemon-reload or try-restart the new
  version is installed and the message says what to do), 2 bad command line
EOF
}
fail() { echo "error [$1]: $2" >&2; exit "${3:-1}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || fail BAD_REQUEST "--prefix needs a directory" 2; prefix=$2; shift 2 ;;
    --user) [ $# -ge 2 ] || fail BAD_REQUEST "--user needs a name" 2; user=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || fail BAD_REQUEST "--root needs a directory" 2
      [ -d "$2" ] || fail BAD_REQUEST "--root $2: no such directory; expected an existing directory" 2
      root=$(cd "$2" && pwd); shift 2 ;;
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
# The line that marks a command in /usr/local/bin as install.sh's (uninstall.sh has the same one).
command_mark() { printf '# edgefleet: runs %s with the node install.sh chose (uninstall.sh removes this)' "$1"; }
program=$(field program)
abi=$(field node.abi)
built=$(field node.builtWith)
bins=$(field bins)
# The tarball's top-level parts that make up the program (the hub's includes its web console, desktop/).
parts=$(field parts)
have=$("$node" -p process.versions.modules)
[ "$have" = "$abi" ] || fail CONFIG_INVALID "$node is $("$node" -v) (Node ABI $have) but this tarball's native addons need Node ABI $abi (built with $built): install that Node major or set NODE=/path/to/node"
arch=$(field arch)
[ "$("$node" -p process.arch)" = "$arch" ] || fail CONFIG_INVALID "this tarball is for linux-$arch but $node runs on $("$node" -p process.arch)"

# The unit's ProtectHome=yes hides /home, /root and /run/user from the service: a node there cannot start.
if [ -z "$root" ]; then
  case "$(readlink -f "$node")" in
    /home/*|/root/*|/run/user/*) fail CONFIG_INVALID "$node ($(readlink -f "$node")) is under /home, /root or /run/user, which the unit hides from the service (ProtectHome=yes): install Node 20 system-wide (e.g. /usr/bin/node) or set NODE=/path/to/node outside them" ;;
  esac
fi

case "$prefix" in /*|'') ;; *) fail BAD_REQUEST "--prefix $prefix: expected an absolute path" 2 ;; esac
data="/var/lib/edgefleet-$program"
# The install this one upgrades, found from the command it wrote in /usr/local/bin (which names
# PREFIX/PROGRAM/bin/…; a link, from older installs): its prefix and user are kept, so an upgrade run
# without the first install's --prefix or --user neither installs a second copy beside it (the unit kept
# running the old one) nor runs the service as another user than the one owning the data dir's files.
first_bin=${bins%% *}
was=$root/usr/local/bin/$first_bin
if [ -L "$was" ]; then ran=$(readlink "$was")
else ran=$(sed -n 2p "$was" 2>/dev/null | sed -n 's|^# edgefleet: runs \(/.*\) with the node install.sh chose.*|\1|p'); fi
found=
case "$ran" in */"$program/bin/$first_bin.js") found=${ran%/"$program/bin/$first_bin.js"} ;; esac
[ -n "$found" ] && [ -f "$root$found/MANIFEST.json" ] || found=
if [ -n "$found" ] && [ -n "$prefix" ] && [ "${prefix%/}" != "$found" ]; then
  fail CONFIG_INVALID "edgefleet-$program is installed in $found (/usr/local/bin/$first_bin runs it): --prefix $prefix would install a second copy while the unit and that install stay. Nothing was changed. Expected no --prefix (or --prefix $found) to upgrade it; to move it, run $found/uninstall.sh first (it keeps $data), then install.sh --prefix $prefix"
fi
[ -n "$prefix" ] || prefix=$found
[ -n "$prefix" ] || { if [ "$program" = agent ]; then prefix=/opt/edgefleet; else prefix=/opt/edgefleet-hub; fi; }
prefix=${prefix%/}
had_user=
[ -z "$found" ] || had_user=$(sed -n 's/^user=//p' "$root$found/install.conf" 2>/dev/null || true)
if [ -n "$had_user" ] && [ -n "$user" ] && [ "$user" != "$had_user" ]; then
  fail CONFIG_INVALID "edgefleet-$program in $found runs as $had_user ($found/install.conf), who owns the files in $data: --user $user would run the service as a user that cannot read them. Nothing was changed. Expected no --user (or --user $had_user) to upgrade it; to change the user, stop the service, run $found/uninstall.sh (it keeps $data), chown -R $user: $data, then install.sh --user $user"
fi
[ -n "$user" ] || user=${had_user:-edgefleet}
unit="edgefleet-$program.service"
dest="$root$prefix"
installed_unit="$root/etc/systemd/system/$unit"
old=
if [ -f "$dest/MANIFEST.json" ]; then
  # One program per prefix: the other one's node_modules would be replaced under it.
  there=$("$node" -p 'require(process.argv[1]).program' "$dest/MANIFEST.json" 2>/dev/null || true)
  [ "$there" = "$program" ] || fail CONFIG_INVALID "$prefix holds edgefleet-$there: expected a prefix of its own for edgefleet-$program (--prefix DIR)"
  old=$("$node" -p 'require(process.argv[1]).version' "$dest/MANIFEST.json")
fi

# systemctl on a real root; under --root only the one SYSTEMCTL names (no systemd runs in an image build).
sc=
if [ "$systemd" = 1 ]; then
  if [ -n "${SYSTEMCTL:-}" ]; then sc=$SYSTEMCTL
  elif [ -z "$root" ] && command -v systemctl >/dev/null 2>&1; then sc=systemctl; fi
fi

# The user first (the data dir belongs to it).
if [ -z "$root" ] && ! id "$user" >/dev/null 2>&1; then
  useradd --system --home-dir "$data" --no-create-home --shell /usr/sbin/nologin "$user" \
    || fail IO_ERROR "useradd $user failed"
fi

# The new tree beside the old one, then swapped in: an upgrade never leaves half a program.
mkdir -p "$dest"
chmod go+rx "$dest" # the service user reaches the program through it (a 077 umask's 0700 would lock it out)
staging="$dest/.install-$$"
rm -rf "$staging"
mkdir -p "$staging/systemd"
for part in $parts MANIFEST.json uninstall.sh; do cp -R "$here/$part" "$staging/"; done
chmod -R u+rwX,go+rX,go-w "$staging"
# A database written by a newer version (a migration this one does not know) would make the program
# refuse to start (SCHEMA_TOO_NEW): refuse here, before anything changes. Read as the data dir's owner
# (so SQLite's -wal/-shm files are never left owned by root) with the staged copy (readable by that
# user, unlike a tarball unpacked in /root).
db="$root$data/$(field schema.file)"
if [ -f "$db" ]; then
  as=
  if [ "$(id -u)" = 0 ] && [ "$(stat -c %u "$root$data")" != 0 ]; then as="setpriv --reuid $(stat -c %u "$root$data") --regid $(stat -c %g "$root$data") --clear-groups"; fi
  unknown=$($as "$node" -e '
    const [mf, db, lib] = process.argv.slice(1);
    const s = require(mf).schema;
    const d = new (require(lib))(db, { readonly: true, fileMustExist: true });
    try {
      if (!d.prepare("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?").get("table", s.table)) process.exit(0);
      const known = new Set(s.known);
      const rows = d.prepare(`SELECT * FROM ${s.table} ORDER BY ${s.column}`).all().filter((r) => !known.has(r[s.column]));
      // The version that applied them, as the programs record it (program_version; absent before 0.1.0 recorded it).
      const by = rows.map((r) => r.program_version).filter(Boolean).pop();
      if (rows.length > 0) process.stdout.write((by ? `${by}|` : "|") + rows.map((r) => `${r[s.column]} (${JSON.stringify(r.name)})`).join(", "));
    } finally { d.close(); }' "$staging/MANIFEST.json" "$db" "$staging/node_modules/better-sqlite3") \
    || { rm -rf "$staging"; fail IO_ERROR "could not read the migrations of $data/$(field schema.file) (above): nothing was changed"; }
  writer=${unknown%%|*}
  [ -n "$writer" ] || writer=${old:+the installed $old}
  [ -z "$unknown" ] || { rm -rf "$staging"; fail SCHEMA_TOO_NEW "$data/$(field schema.file) was written by a newer $program${writer:+ ($writer)}: it records migration(s) ${unknown#*|} that edgefleet-$program $(field version) does not know, so it would refuse to start. Nothing was changed. Install that newer version (or newer), or restore into $data a backup taken with $(field version) first (docs/operations.md \"Upgrades\"); a database is never migrated back"; }
fi

# The unit with this prefix, node and user, kept in PREFIX/systemd: what the next install compares with.
sed -e "s#/opt/edgefleet/#$prefix/#g" -e "s#/opt/edgefleet-hub/#$prefix/#g" -e "s#^ExecStart=/usr/bin/node #ExecStart=$node #" \
  -e "s#^User=.*#User=$user#" -e "s#^Group=.*#Group=$user#" \
  "$here/systemd/$unit" > "$staging/systemd/$unit"
printf 'user=%s\n' "$user" > "$staging/install.conf"
# The unit an operator edited since the last install (it differs from the copy that install left) is kept.
unit_note=
if [ ! -e "$installed_unit" ] || cmp -s "$installed_unit" "$dest/systemd/$unit" || cmp -s "$installed_unit" "$staging/systemd/$unit"; then
  write_unit=1
else
  write_unit=0
  unit_note="kept $installed_unit: it was edited since the last install; this version's unit is $prefix/systemd/$unit: compare (diff) and merge them, then systemctl daemon-reload"
fi
# Whether the service runs the old program: only then is it restarted once the new files are in place.
was_active=0
if [ -n "$sc" ] && "$sc" is-active --quiet "$unit"; then was_active=1; fi
for part in $parts MANIFEST.json uninstall.sh systemd install.conf; do
  rm -rf "$dest/.old-$part"
  [ -e "$dest/$part" ] && mv "$dest/$part" "$dest/.old-$part"
  mv "$staging/$part" "$dest/$part"
  rm -rf "$dest/.old-$part"
done
rmdir "$staging"

mkdir -p "$root$data"
chmod 0700 "$root$data"
[ -n "$root" ] || chown "$user:" "$root$data"

mkdir -p "$root/etc/systemd/system"
[ "$write_unit" = 0 ] || cp "$dest/systemd/$unit" "$installed_unit"

# Each command is a script that runs the program with this node, as the unit does: a link to the .js file
# would run the node on PATH, which sudo's secure_path may not hold, or another Node major whose ABI the
# native addons refuse. Its second line is what uninstall.sh looks for.
mkdir -p "$root/usr/local/bin"
for b in $bins; do
  cmd="$root/usr/local/bin/$b"
  rm -f "$cmd" # an older install's link: never write through it into the program
  printf '#!/bin/sh\n%s\nexec '"'"'%s'"'"' '"'"'%s'"'"' "$@"\n' "$(command_mark "$prefix/$program/bin/$b.js")" "$node" "$prefix/$program/bin/$b.js" > "$cmd"
  chmod 0755 "$cmd"
done

version=$(field version)
# An older tarball over a newer one (going back after restoring a backup taken with it) is said so.
change=upgraded
if [ -n "$old" ] && "$node" -e 'const n=(v)=>v.split(/[.+-]/).slice(0,3).map(Number);const [a,b]=[n(process.argv[1]),n(process.argv[2])];const i=a.findIndex((x,k)=>x!==b[k]);process.exit(i>=0&&a[i]>b[i]?0:1)' "$old" "$version"; then change=downgraded; fi
# Every file is in place from here: a systemctl that fails says so, and names a unit kept above (it may be why).
installed_fail() { [ -z "$unit_note" ] || echo "$unit_note" >&2; fail IO_ERROR "$1"; }
if [ -n "$sc" ]; then
  "$sc" daemon-reload || installed_fail "systemctl daemon-reload failed (above): edgefleet-$program $version is installed in $dest; run it again"
  if [ "$was_active" = 1 ]; then
    "$sc" try-restart "$unit" || installed_fail "systemctl try-restart $unit failed (above): edgefleet-$program $version is installed in $dest (every file${old:+; it replaced $old}), but the service may be stopped or failed: see systemctl status $unit and journalctl -u $unit, fix the cause, then systemctl restart $unit"
  fi
fi

echo "installed edgefleet-$program $version in $dest (unit $unit, data $data, user $user)"
[ -z "$unit_note" ] || echo "$unit_note"
if [ "$was_active" = 1 ]; then
  echo "restarted $unit, which was running${old:+ $old}: it now runs $version, which applies its database migrations at start (systemctl status $unit)"
elif [ -n "$old" ] && [ -n "$sc" ]; then
  echo "$change from $old; $unit was not running, so it was not started: systemctl start $unit runs $version, which applies its database migrations at start"
elif [ -n "$old" ]; then
  echo "$change from $old; systemctl was not run: systemctl restart $unit runs $version, which applies its database migrations at start"
elif [ "$program" = agent ]; then
  echo "next: sudo -u $user edgefleet-agent enroll --hub http://HUB:8700 --token TOKEN --data-dir $data && systemctl enable --now $unit"
else
  echo "next: put the trust document and the hub key in /etc/edgefleet (trust.json, hub.key: chown $user: and chmod 0600 it, the hub runs as $user), then systemctl enable --now $unit"
fi
