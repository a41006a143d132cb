#!/usr/bin/env bash
# Reproducible-build check (docs/QUALIFICATION.md, issue 28): two clean builds of the
# `adasval` binary from one commit, in two checkouts at different paths, must give the same
# SHA-256 on the same toolchain.
#
# usage: scripts/repro_build.sh [--two-paths] [COMMIT] [WORKDIR]
#   (default)    both builds in one checkout path, one after the other (the first build's
#                checkout and target are removed before the second clones afresh)
#   --two-paths  the builds in two checkouts at different paths; known to differ in
#                symbol names and the build id only (docs/QUALIFICATION.md)
#   COMMIT   what to build (default HEAD of this checkout); must be committed: build.rs
#            embeds the commit and whether tracked files differ from it
#   WORKDIR  where the two checkouts and their target directories go (default: a new
#            temporary directory, removed afterwards); needs about 6 GB
#
# What makes the builds equal (each one is a reason they could differ):
#   - the same checkout path: the hash in each mangled symbol name folds in the crate's
#     metadata, which depends on where the workspace crates are (and on RUSTFLAGS, which
#     name that path in --remap-path-prefix);
#   - the checkout path ends up in panic messages and debug info: --remap-path-prefix maps
#     each checkout to /adasval and CARGO_HOME to /cargo;
#   - the release profile is incremental: CARGO_INCREMENTAL=0;
#   - Cargo.lock is honoured exactly: --locked; the toolchain is the one `rustc -V` names
#     (printed, and embedded in the binary by build.rs);
#   - nothing time-dependent is embedded (build.rs records the commit, the rustc version and
#     the profile only).
# Exit 0 when the two hashes are equal, 1 when they differ (both printed), 2 on bad usage.
# Takes two clean release builds: about 12 minutes on an idle 2-core machine.
set -euo pipefail

two_paths=0
if [ "${1:-}" = "--two-paths" ]; then
    two_paths=1
    shift
fi
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --verify "${1:-HEAD}^{commit}") || {
    echo "repro_build: ${1:-HEAD} is not a commit of $repo" >&2
    exit 2
}
if [ -n "${2:-}" ]; then
    work=$2
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
cargo_home=${CARGO_HOME:-$HOME/.cargo}
echo "repro_build: commit $commit; $(rustc -V); $(cargo -V)"
for side in a b; do
    if [ $two_paths = 1 ]; then
        src="$work/$side/checkout-$side"
    else
        src="$work/checkout"
    fi
    rm -rf "$work/$side" "$src"
    mkdir -p "$work/$side"
    git clone -q --no-hardlinks "$repo" "$src"
    git -C "$src" checkout -q --detach "$commit"
    start=$(date +%s)
    (
        cd "$src"
        CARGO_INCREMENTAL=0 \
            RUSTFLAGS="--remap-path-prefix=$src=/adasval --remap-path-prefix=$cargo_home=/cargo" \
            cargo build --release --locked --bin adasval --target-dir "$src/target" -q
    )
    sha=$(sha256sum "$src/target/release/adasval" | cut -d' ' -f1)
    echo "repro_build: build $side at $src: $sha ($(($(date +%s) - start)) s)"
    echo "$sha" >"$work/$side.sha256"
    cp "$src/target/release/adasval" "$work/$side/adasval"
    # the second build must not reuse anything of the first
    [ $two_paths = 1 ] || rm -rf "$src"
done
a=$(cat "$work/a.sha256")
b=$(cat "$work/b.sha256")
if [ "$a" = "$b" ]; then
    echo "repro_build: REPRODUCIBLE: both builds are $a"
else
    echo "repro_build: NOT REPRODUCIBLE: $a != $b" >&2
    # Say where they differ: the loaded program (code, data) or only the symbol table and
    # the build id derived from it (most likely because RUSTFLAGS, which name each
    # checkout's path in --remap-path-prefix, feed the hash that mangled names carry).
    if command -v objcopy >/dev/null; then
        for side in a b; do
            objcopy --strip-all --remove-section=.note.gnu.build-id \
                "$work/$side/adasval" "$work/$side.stripped"
        done
        if cmp -s "$work/a.stripped" "$work/b.stripped"; then
            echo "repro_build: without the symbol table and build id (objcopy --strip-all" \
                "--remove-section=.note.gnu.build-id) both are $(sha256sum "$work/a.stripped" | cut -d' ' -f1):" \
                "code and data are identical, only symbol names differ" >&2
        else
            echo "repro_build: code or data differ too (after stripping symbols and build id)" >&2
        fi
    fi
    exit 1
fi
