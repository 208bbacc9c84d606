#!/usr/bin/env bash
# Builds galera-minder_<version>_amd64.deb from this checkout with dpkg-deb:
#   bash scripts/package-deb.sh [OUTDIR]          (default OUTDIR: the checkout's root)
# The built code (dist/src) with its production dependencies (better-sqlite3 compiled here, as
# scripts/setup.sh built it), /usr/bin/minder, the systemd units, sysusers and tmpfiles files, the
# hook, the example configs, minder(1) generated from --help, and the docs. Nothing is fetched:
# the production tree is this checkout's node_modules pruned of the dev dependencies.
# Needs: a built checkout (bash scripts/setup.sh), dpkg-deb, gzip. See README "Install".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-$repo}

version=$(node -p 'require("./package.json").version')
arch=amd64
name=galera-minder
deb="$out/${name}_${version}_${arch}.deb"
lib=/usr/lib/$name
doc=/usr/share/doc/$name

[ -f dist/src/minder.js ] && [ -d node_modules/better-sqlite3 ] || { echo "package-deb: build first: bash scripts/setup.sh" >&2; exit 2; }
# Rebuilt only when a source is newer than the build (CI has just built it).
if [ -n "$(find src scripts -name '*.ts' -newer dist/src/minder.js -print -quit)" ]; then npm run -s build; fi
maintainer=${DEB_MAINTAINER:-galera-minder maintainers <maintainers@galera-minder.example.org>}
# Reproducible dates: the last commit's time, else now.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

stage=$(mktemp -d /tmp/minder-deb-XXXXXX)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root$lib" "$root/usr/bin" "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" \
  "$root$doc/examples" "$root$doc/docs" "$root/usr/share/man/man1" "$root/DEBIAN"

# The code: dist/src only (no tests, benches, sources), with package.json ("type": "module").
cp -a dist/src "$root$lib/dist-src.tmp"
mkdir -p "$root$lib/dist"
mv "$root$lib/dist-src.tmp" "$root$lib/dist/src"
find "$root$lib/dist" -name '*.map' -delete
cp package.json package-lock.json "$root$lib/"
# Production dependencies: the packages npm lists without the dev ones, copied from node_modules
# (a package's own nested node_modules comes along with it).
mkdir -p "$root$lib/node_modules"
npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s|^$repo/node_modules/||p" | grep -Ev '/node_modules/' | while read -r p; do
  mkdir -p "$root$lib/node_modules/$(dirname "$p")"
  cp -a "node_modules/$p" "$root$lib/node_modules/$p"
done
rm -f "$root$lib/package-lock.json"
# better-sqlite3: keep the compiled module, not its sources, build tree or the bundled SQLite source.
bs=$root$lib/node_modules/better-sqlite3
find "$bs/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$bs/build/Release" -mindepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
rm -rf "$bs/deps" "$bs/src" "$bs/docs" "$bs/binding.gyp"
strip --strip-unneeded "$bs/build/Release/better_sqlite3.node" 2>/dev/null || true
find "$root$lib/node_modules" -name '*.node' ! -path '*/better-sqlite3/*' -delete
# What a runtime never reads, and what lintian rightly questions in /usr/lib.
find "$root$lib/node_modules" \( -name '*.md' -o -name '*.markdown' -o -name '*.html' -o -name '.git*' -o -name '.husky' -o -name '*.ts' ! -name '*.d.ts' -o -name '.npmignore' -o -name '.eslintrc*' -o -name '.travis.yml' -o -name '.github' -o -name 'test' -o -name 'tests' -o -name '*.map' -o -name 'Makefile' \) -prune -exec rm -rf {} +
find "$root$lib/node_modules" -name '*.d.ts' -delete
find "$root$lib/node_modules" -type d -empty -delete
# Executable bits only where something executes: nothing in node_modules is run directly.
find "$root$lib" -type f -exec chmod 0644 {} +
find "$root$lib" -type d -exec chmod 0755 {} +
# …except the scripts with a #! line (dependencies' CLIs, the entry points).
find "$root$lib" -type f -name '*.*js' -exec grep -l -m1 '^#!' {} + 2>/dev/null | xargs -r chmod 0755

# The hook (mariadbd runs it) and the Node hook kept for the migration (it finds dist/ at ../).
install -m 0755 systemd/wsrep-notify.sh "$root$lib/wsrep-notify.sh"
install -d "$root$lib/systemd"
install -m 0755 systemd/wsrep-notify-udp.sh "$root$lib/systemd/wsrep-notify-udp.sh"

cat > "$root/usr/bin/minder" <<EOF
#!/bin/sh
# galera-minder's command line (the units start node with their own flags: see minder-*.service).
exec /usr/bin/node $lib/dist/src/minder.js "\$@"
EOF
chmod 0755 "$root/usr/bin/minder"

for u in systemd/minder-*.service; do install -m 0644 "$u" "$root/lib/systemd/system/"; done
install -m 0644 systemd/sysusers-minder.conf "$root/usr/lib/sysusers.d/$name.conf"
install -m 0644 systemd/tmpfiles-minder.conf "$root/usr/lib/tmpfiles.d/$name.conf"

for f in config/*; do install -m 0644 "$f" "$root$doc/examples/"; done
install -m 0644 README.md "$root$doc/README.md"
for f in docs/*.md; do install -m 0644 "$f" "$root$doc/docs/"; done
node dist/scripts/man-page.js "$root$lib/dist/src/minder.js" "$version" | gzip -9n > "$root/usr/share/man/man1/minder.1.gz"
chmod 0644 "$root/usr/share/man/man1/minder.1.gz"

changes_date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
{
  echo "$name ($version) unstable; urgency=medium"
  echo
  echo "  * Built from $(git rev-parse --short HEAD 2>/dev/null || echo 'a checkout') of galera-minder."
  echo
  echo " -- $maintainer  $changes_date"
} | gzip -9n > "$root$doc/changelog.gz"
chmod 0644 "$root$doc/changelog.gz"
cat > "$root$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: galera-minder
Source: galera-minder's repository

Files: *
Copyright: galera-minder contributors
License: MIT

Files: usr/lib/galera-minder/node_modules/*
Copyright: the authors of each npm package, as its own package.json and LICENSE file say
License: MIT and others, per package (each package's LICENSE file is installed beside it)

License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF
chmod 0644 "$root$doc/copyright"

# Maintainer scripts: packaging/debian/ (the user and directories; never a daemon started).
for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"; done

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
# Node >= 20.19: Debian 12's own nodejs is 18 and does not satisfy this (README "Install").
cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: nodejs (>= 20.19), socat, systemd | systemd-standalone-sysusers, libc6 (>= 2.34), libstdc++6 (>= 11), libgcc-s1 (>= 3.0)
Recommends: mariadb-server (>= 1:10.11), galera-4
Suggests: haproxy
Section: database
Priority: optional
Description: keeps a two-DC MariaDB Galera site serving, safely
 galera-minder is a mesh of small daemons: an arbitrator that decides which
 half of a split Galera cluster becomes primary (and never makes two), a
 dbserver beside each mariadbd that reports its state and carries out that
 decision, and a dbclient on each application host that steers HAProxy or glb.
 .
 This package installs the minder command, the systemd units (none is enabled
 or started), the wsrep_notify_cmd hook, and example configs. It needs a
 Node.js of at least 20.19 (Debian 12's own nodejs is 18: see README.md).
EOF

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz -z6 --build "$root" "$deb" >/dev/null
echo "$deb"
