#!/usr/bin/env bash
# Fails when a committed package-lock.json no longer matches its package.json: `npm ci` installs
# from the lockfile as it is, so a drifted lockfile would pass CI while `npm install` on a
# developer's machine rewrites it. Each lockfile is regenerated from its package.json in a
# scratch copy (no install, no scripts) and compared with the committed one.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for dir in . bench compat/nest12; do
  scratch=$(mktemp -d)
  cp "$dir/package.json" "$dir/package-lock.json" "$scratch/"
  (cd "$scratch" && npm install --package-lock-only --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  if ! diff -u "$dir/package-lock.json" "$scratch/package-lock.json" >"$scratch/diff"; then
    echo "error: $dir/package-lock.json is out of date with $dir/package.json; run \`npm install --package-lock-only\` in $dir and commit it:" >&2
    head -40 "$scratch/diff" >&2
    status=1
  fi
  rm -rf "$scratch"
done
exit $status
