#!/usr/bin/env bash
# Benchmark: inspecting a directory of real .debs (read + MD5 + SHA256 of every
# file, control paragraph) with debpull versus `apt-ftparchive packages` with the
# same checksums, and versus the hashing floor that `openssl speed` implies for
# all cores.
#
# Usage (from anywhere in the repository, as root or with write access to the cache):
#     bench/inspect.sh                  # fetch once, then measure
#     DEBPULL_BENCH_CACHE=/some/dir bench/inspect.sh
#
# Needs: apt-utils (apt-ftparchive), hyperfine, openssl, python3, cargo.
# The first run downloads ~1,500 .debs (~700 MB) with `apt-get download` into
# $DEBPULL_BENCH_CACHE/debs (default /var/cache/debpull-bench/debs, outside git):
# a deterministic sample of the packages apt knows (ordered by the MD5 of their
# names, each at most $DEBPULL_BENCH_MAX_SIZE bytes), small and large mixed.
# Later runs reuse them. The page cache is warmed before timing, so this measures
# CPU work, not the disk. Both tools' outputs are compared (Filename aside)
# before anything is timed. Other work on the machine skews the numbers (the
# script warns when the load average is high).
#
# Measured on a quiet 2-core Debian 12 machine (AMD EPYC with SHA-NI), 1,500
# .debs, 701 MB: apt-ftparchive 1.51 s, debpull 0.64 s = 2.33x; openssl floor
# 1221 MB/s, debpull 1087 MB/s = 89%.
set -euo pipefail

CACHE=${DEBPULL_BENCH_CACHE:-/var/cache/debpull-bench}
DEBS=$CACHE/debs
COUNT=${DEBPULL_BENCH_COUNT:-1500}
MAX_SIZE=${DEBPULL_BENCH_MAX_SIZE:-16000000}
RUNS=${DEBPULL_BENCH_RUNS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

need() {
    command -v "$1" >/dev/null || { echo "inspect.sh: '$1' is needed: apt-get install -y $2" >&2; exit 1; }
}
need apt-ftparchive apt-utils
need hyperfine hyperfine
need openssl openssl
need python3 python3
need cargo "a Rust toolchain"

if [ ! -e "$DEBS/.complete" ]; then
    mkdir -p "$DEBS"
    echo "Choosing $COUNT packages of at most $MAX_SIZE bytes..." >&2
    apt-cache dumpavail | python3 -c '
import hashlib, sys
count, max_size = int(sys.argv[1]), int(sys.argv[2])
seen = {}
for record in sys.stdin.read().split("\n\n"):
    fields = dict(l.split(": ", 1) for l in record.splitlines() if ": " in l and not l.startswith(" "))
    if "Package" in fields and "Size" in fields and int(fields["Size"]) <= max_size:
        seen.setdefault(fields["Package"], int(fields["Size"]))
names = sorted(seen, key=lambda n: hashlib.md5(n.encode()).hexdigest())[:count]
print("%d packages, %.0f MB expected" % (len(names), sum(seen[n] for n in names) / 1e6), file=sys.stderr)
print("\n".join(names))
' "$COUNT" "$MAX_SIZE" > "$CACHE/packages.txt"
    echo "Downloading into $DEBS (once)..." >&2
    (cd "$DEBS" && xargs -n 100 apt-get download -q < "$CACHE/packages.txt" >/dev/null) || {
        echo "inspect.sh: apt-get download failed; run 'apt-get update' and retry" >&2; exit 1; }
    touch "$DEBS/.complete"
fi
files=$(find "$DEBS" -name '*.deb' | wc -l)
bytes=$(find "$DEBS" -name '*.deb' -printf '%s\n' | awk '{s += $1} END {print s}')
echo "Corpus: $files .debs, $((bytes / 1000000)) MB in $DEBS" >&2

(cd "$ROOT" && cargo build --release --quiet --example inspect)
TOOL="$ROOT/target/release/examples/inspect"
FTP="apt-ftparchive -o APT::FTPArchive::SHA1=false -o APT::FTPArchive::SHA512=false packages $DEBS"

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    echo "inspect.sh: warning: load average is $load; other work on this machine lowers the numbers" >&2
fi

# Warm the page cache.
find "$DEBS" -name '*.deb' -exec cat {} + > /dev/null

# Same stanzas from both (Filename aside), compared as sorted sets.
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
normalize() { python3 -c '
import sys
stanzas = [s for s in sys.stdin.read().split("\n\n") if s.strip()]
stanzas = ["\n".join(l for l in s.splitlines() if not l.startswith("Filename:")) for s in stanzas]
print("\n\n".join(sorted(stanzas)))'; }
$FTP 2>/dev/null | normalize > "$OUT/ftparchive"
"$TOOL" "$DEBS" | normalize > "$OUT/debpull"
if cmp -s "$OUT/ftparchive" "$OUT/debpull"; then
    echo "Outputs agree: $(grep -c '^Package:' "$OUT/debpull") stanzas" >&2
else
    echo "inspect.sh: outputs differ:" >&2
    diff "$OUT/ftparchive" "$OUT/debpull" | head -40 >&2
    exit 1
fi

hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$OUT/times.json" \
    -n apt-ftparchive "$FTP > /dev/null" \
    -n debpull "$TOOL $DEBS > /dev/null"

speed() { # MB/s of one core for 16 KiB blocks
    openssl speed -seconds 3 -bytes 16384 -evp "$1" 2>/dev/null | awk -v a="$1" '$1 == a { sub(/k$/, "", $NF); print $NF * 1000 / 1e6 }'
}
md5=$(speed md5)
sha256=$(speed sha256)
cores=$(nproc)

python3 - "$OUT/times.json" "$bytes" "$md5" "$sha256" "$cores" <<'PY'
import json, sys
times, size = json.load(open(sys.argv[1]))["results"], int(sys.argv[2])
md5, sha256, cores = float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
t = {r["command"]: r["median"] for r in times}
floor = cores / (1 / md5 + 1 / sha256)  # MB/s: both digests over every byte, all cores
ours, theirs = size / 1e6 / t["debpull"], size / 1e6 / t["apt-ftparchive"]
print(f"openssl one core: md5 {md5:.0f} MB/s, sha256 {sha256:.0f} MB/s -> floor for {cores} cores: {floor:.0f} MB/s")
print(f"apt-ftparchive: {t['apt-ftparchive']:.2f} s, {theirs:.0f} MB/s")
print(f"debpull:        {t['debpull']:.2f} s, {ours:.0f} MB/s")
print(f"debpull / apt-ftparchive = {ours / theirs:.2f}x  (goal >= 2)")
print(f"debpull / hashing floor  = {ours / floor:.0%}  (goal >= 80%)")
PY
