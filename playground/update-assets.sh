#!/usr/bin/env bash
# Rebuilds playground/assets/ from the packages pinned in package.json and
# package-lock.json (versions and integrity hashes): the files the gateway serves
# at /playground/*, their licences, and SHA256SUMS. Run it after changing a version;
# the same lock file gives the same bytes. See README.md beside it.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --ignore-scripts --no-audit --no-fund --silent
out=assets
rm -rf "$out" && mkdir -p "$out/licenses"

copy() { # package, file in the package, name served
  cp "node_modules/$1/$2" "$out/$3"
  cp "node_modules/$1/LICENSE" "$out/licenses/$1.LICENSE"
}
copy react umd/react.production.min.js react.production.min.js
copy react-dom umd/react-dom.production.min.js react-dom.production.min.js
copy graphiql graphiql.min.js graphiql.min.js
copy graphiql graphiql.min.css graphiql.min.css

# GraphiQL's bundle carries graphql-js, graphql-ws, CodeMirror and @graphiql/*:
# their licences travel with it.
for dep in graphql graphql-ws codemirror @graphiql/react @graphiql/toolkit; do
  [ -f "node_modules/$dep/LICENSE" ] && cp "node_modules/$dep/LICENSE" "$out/licenses/${dep//\//_}.LICENSE"
done

node -e '
const lock = require("./package-lock.json").packages;
const pick = ["react", "react-dom", "graphiql", "graphql", "graphql-ws", "codemirror", "@graphiql/react", "@graphiql/toolkit"];
for (const name of pick) {
  const p = lock["node_modules/" + name];
  if (p) console.log(`${name} ${p.version} ${p.license || ""} ${p.integrity}`);
}' > "$out/VERSIONS"
(cd "$out" && sha256sum ./*.js ./*.css > SHA256SUMS)
rm -rf node_modules
echo "playground/assets rebuilt:"; cat "$out/VERSIONS"
