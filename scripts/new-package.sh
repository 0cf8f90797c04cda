#!/usr/bin/env bash
# Scaffold a workspace package: scripts/new-package.sh <dir> <@memarc/name> "<description>" [ref-dir ...]
# Writes package.json and tsconfig.json; references are sibling project dirs (e.g. packages/privacy).
set -euo pipefail
dir=$1; name=$2; desc=$3; shift 3
mkdir -p "$dir/src"
refs=""; deps=""
for r in "$@"; do
  rel=$(python3 -c "import os,sys;print(os.path.relpath(sys.argv[1],sys.argv[2]))" "$r" "$dir")
  refs="$refs{ \"path\": \"$rel\" },"
  dn=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]+'/package.json'))['name'])" "$r")
  deps="$deps\"$dn\": \"*\","
done
cat > "$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "type": "module",
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": { ".": { "types": "./dist/index.d.ts", "default": "./dist/index.js" } },
  "dependencies": { ${deps%,} }
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "$(python3 -c "import os,sys;print(os.path.relpath('tsconfig.base.json',sys.argv[1]))" "$dir")",
  "compilerOptions": { "rootDir": "src", "outDir": "dist" },
  "include": ["src"],
  "references": [${refs%,}]
}
JSON
