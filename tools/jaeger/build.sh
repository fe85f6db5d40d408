#!/usr/bin/env bash
# Builds Jaeger (cmd/jaeger, the all-in-one of Jaeger v2 at module version
# v1.76.0) from the Go module proxy, once per version, into the user's cache
# directory, and prints the binary's path. The tracing end-to-end test
# (test/tracing) sends its spans there. Jaeger is a module of its own here,
# so its hundreds of dependencies stay out of Sigil's go.mod.
#
# A first build takes several minutes (about 8.5 on two busy cores); .ci/tools
# runs this before the suite, so that `go test` finds the binary built.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^\tgithub.com\/jaegertracing\/jaeger \(v[^ ]*\).*/\1/p' "$here/go.mod")"
[ -n "$version" ] || { echo "no jaeger version in $here/go.mod" >&2; exit 1; }
# Keyed by go.sum too: a change of any dependency is a new binary.
key="$version-$(sha256sum "$here/go.sum" | cut -c1-12)"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/sigil/jaeger-$key"
bin="$dir/jaeger"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  echo "building jaeger $version into $dir (once per version; a few minutes)" >&2
  tmp="$(mktemp "$dir/jaeger.XXXXXX")"
  (cd "$here" && go build -trimpath -ldflags='-s -w' -o "$tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
  mv -f "$tmp" "$bin"
fi
echo "$bin"
