#!/usr/bin/env bash
# prepare-corpora.sh - convert public emotional-speech corpora to 16 kHz mono
# signed 16-bit PCM WAV, keeping each corpus's native folder layout and file
# names, so that the usual naming conventions still give emotion and speaker.
#
#   scripts/prepare-corpora.sh [--nemo SRC] [--ased SRC] [--ravdess-song SRC]
#                              [--turev SRC] [--out DIR] [--jobs N]
#
# SRC is either a bare git repository (a mirror of the corpus's GitHub repo:
# only the audio paths are extracted from HEAD) or a plain directory (a
# checkout or download).  Any subset of corpora may be given.
#
#   --nemo          amu-cai/nEMO           samples/*.wav + data.tsv  (24 kHz)
#                   -> OUT/nemo/samples/<file>.wav, OUT/nemo/data.tsv (copied as is)
#   --ased          Ethio2021/ASED_V1      01Neutral .. 05Angry      (16 kHz)
#                   -> OUT/ased/<01Neutral..05Angry>/<file>.wav
#   --ravdess-song  bagustris/ravdess_song archive/Actor_XX/*.wav    (48 kHz)
#                   (a Zenodo Audio_Song_Actors_01-24 folder with Actor_XX/ works too)
#                   -> OUT/ravdess-song/Actor_XX/<file>.wav
#   --turev         Xeonen/TurEV-DB        "Sound Source"/<Emotion>/ (44.1 kHz)
#                   (a folder holding the Angry/Calm/Happy/Sad folders works too)
#                   -> OUT/turev/<Emotion>/<file>.wav
#
# OUT defaults to <repo>/corpora.  Conversion is
#   sox -R IN -r 16000 -c 1 -b 16 -e signed-integer OUT channels 1 rate -v 16000
# (very-high-quality resampler; SoX's TPDF dither on the 16-bit output when the
# signal was resampled, seeded by -R so that reruns give byte-identical files;
# files already at 16 kHz mono 16-bit come out byte-identical to the input), then
# zero padding is cut: 100 ms or more of digital silence at either end of a file
# (scripts/trim-zero-edges.ts; ASED pads its recordings to 3 s with zeros, which
# no microphone records).  Files whose output already exists are skipped (and
# trimmed if they were not), so an interrupted run can simply be restarted.  Each corpus gets
# OUT/<name>/PREPARED (key=value: source, commit, counts per label, speakers,
# hours) once all of its files are converted; sox warnings (e.g. clipping) go to
# OUT/<name>/convert.log.  Exit status is 1 if any file failed.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)

out="$repo_root/corpora"
jobs=$(nproc 2>/dev/null || echo 2)
declare -A src=()
order=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "prepare-corpora: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --nemo|--ased|--ravdess-song|--turev)
      [ $# -ge 2 ] || die "$1 needs a directory"
      name=${1#--}; src[$name]=$2; order+=("$name"); shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --jobs|-j) [ $# -ge 2 ] || die "$1 needs a number"; jobs=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ ${#order[@]} -gt 0 ] || { usage >&2; die "give at least one of --nemo --ased --ravdess-song --turev"; }
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer"
command -v sox >/dev/null && command -v soxi >/dev/null || die "sox/soxi not found (apt-get install sox)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Keep the converted audio out of git whatever the repository's .gitignore says.
[ -e "$out/.gitignore" ] || printf '# written by scripts/prepare-corpora.sh: converted corpora are never committed\n*\n' >"$out/.gitignore"

# The zero-padding cut (scripts/trim-zero-edges.ts) runs on Node with the repository's tsx.
[ -e "$repo_root/node_modules/tsx" ] || die "needs the repository's packages: run npm install in $repo_root first"

staging=$(mktemp -d "${TMPDIR:-/tmp}/prepare-corpora.XXXXXX")
trap 'rm -rf "$staging"' EXIT

# --- per-file worker (run by xargs -P) -------------------------------------
# Prints one line: "OK|SKIP|FAIL<TAB>output path<TAB>reason".
convert_one() {
  local in=$1 dst=$2 log=${CONVERT_LOG:-/dev/null} part err
  if [ -s "$dst" ]; then printf 'SKIP\t%s\t\n' "$dst"; return 0; fi
  if [ ! -s "$in" ]; then printf 'FAIL\t%s\tempty input %s\n' "$dst" "$in"; return 0; fi
  if head -c 40 "$in" | grep -q '^version https://git-lfs'; then
    printf 'FAIL\t%s\tGit LFS pointer, not audio: %s\n' "$dst" "$in"; return 0
  fi
  mkdir -p "$(dirname "$dst")"
  part="$dst.part"
  if ! err=$(sox -R -V2 "$in" -r 16000 -c 1 -b 16 -e signed-integer -t wav "$part" \
               channels 1 rate -v 16000 2>&1); then
    rm -f "$part"
    printf 'FAIL\t%s\tsox: %s\n' "$dst" "$(printf '%s' "$err" | tr '\n\t' '  ')"; return 0
  fi
  [ -z "$err" ] || printf '%s: %s\n' "${dst#"$(dirname "$log")"/}" "$(printf '%s' "$err" | tr '\n' ' ')" >>"$log"
  if [ "$(soxi -r "$part")" != 16000 ] || [ "$(soxi -c "$part")" != 1 ] \
     || [ "$(soxi -b "$part")" != 16 ] || [ "$(soxi -s "$part")" -le 0 ]; then
    rm -f "$part"; printf 'FAIL\t%s\tbad output format\n' "$dst"; return 0
  fi
  mv -f "$part" "$dst"
  printf 'OK\t%s\t\n' "$dst"
}
export -f convert_one

# --- sources ---------------------------------------------------------------
is_bare_git() { [ "$(git -C "$1" rev-parse --is-bare-repository 2>/dev/null || true)" = true ]; }

# stage NAME SRC PATH... : prints the directory to read the corpus from.
# Bare git: extract PATHs of HEAD into the staging dir and check the file count.
stage() {
  local name=$1 dir=$2; shift 2
  if is_bare_git "$dir"; then
    local dest="$staging/$name" want got p have=()
    mkdir -p "$dest"
    for p in "$@"; do
      [ -n "$(git -C "$dir" ls-tree HEAD -- "$p")" ] && have+=("$p")
    done
    [ ${#have[@]} -gt 0 ] || die "$name: none of [$*] in HEAD of $dir"
    # git archive may complain about unrelated blobs missing from a partial
    # mirror; the count check below is what decides.
    git -C "$dir" archive --format=tar HEAD -- "${have[@]}" 2>"$staging/$name.archive.err" \
      | tar -x -C "$dest"
    want=$(git -C "$dir" ls-tree -r -z --name-only HEAD -- "${have[@]}" | tr -cd '\0' | wc -c)
    got=$(find "$dest" -type f | wc -l)
    if [ "$want" != "$got" ]; then
      cat "$staging/$name.archive.err" >&2
      die "$name: extracted $got of $want files from $dir"
    fi
    echo "$dest"
  elif [ -d "$dir" ]; then
    (cd "$dir" && pwd)
  else
    die "$name: $dir is neither a directory nor a bare git repository"
  fi
}

source_desc() {
  local dir=$1 c
  if is_bare_git "$dir"; then
    printf 'source=%s\nsource_kind=git-bare\nsource_commit=%s\n' "$(cd "$dir" && pwd)" "$(git -C "$dir" rev-parse HEAD)"
  else
    printf 'source=%s\nsource_kind=directory\n' "$(cd "$dir" && pwd)"
    if c=$(git -C "$dir" rev-parse HEAD 2>/dev/null); then printf 'source_commit=%s\n' "$c"; fi
  fi
}

# --- labels: "LABEL<TAB>SPEAKER" for each relative output path on stdin ------
labels() {
  case "$1" in
    nemo)  # samples/<speaker>_<emotion>_<n>.wav
      awk -F/ '{n=split($NF,a,"_"); print a[2] "\t" a[1]}' ;;
    ased)  # <0kEmotion>/<e><k>-<sentence>-<repetition>-<gender>-<speaker>.wav
      awk -F/ '{f=$NF; sub(/\.[^.]*$/,"",f); n=split(f,a,"-"); print $1 "\t" a[5]}' ;;
    ravdess-song)  # Actor_XX/03-02-<emotion>-<intensity>-<statement>-<rep>-<actor>.wav
      awk -F/ 'BEGIN{split("neutral calm happy sad angry fearful disgust surprised",e," ")}
               {f=$NF; sub(/\.[^.]*$/,"",f); split(f,a,"-"); print a[3] "-" e[a[3]+0] "\t" a[7]}' ;;
    turev)  # <Emotion>/<speaker>_<code>_<word>.wav
      awk -F/ '{split($NF,a,"_"); print $1 "\t" a[1]}' ;;
  esac
}

# --- one corpus ------------------------------------------------------------
# prepare NAME IN_ROOT REL_DIR... : convert IN_ROOT/REL_DIR/**.wav to OUT/NAME/<same>
prepare() {
  local name=$1 root=$2; shift 2
  local dest="$out/$name" results="$staging/$name.results" t0=$SECONDS
  local total ok skip fail secs
  mkdir -p "$dest"
  rm -f "$dest/PREPARED" "$dest/FAILED"
  find "$dest" -name '*.part' -type f -delete
  : >"$results"
  (
    cd "$root"
    find "$@" -type f -iname '*.wav' -print0 | sort -z | while IFS= read -r -d '' f; do
      printf '%s\0%s\0' "$root/$f" "$dest/$f"
    done
  ) | CONVERT_LOG="$dest/convert.log" xargs -0 -r -n 2 -P "$jobs" bash -c 'convert_one "$1" "$2"' _ \
  | tee "$results" | awk -F'\t' -v n="$name" '$1=="FAIL"{print "  FAIL " $2 ": " $3 > "/dev/stderr"}
      {c++} c%500==0{printf "  %s: %d files...\n", n, c > "/dev/stderr"}'
  total=$(wc -l <"$results")
  ok=$(grep -c '^OK' "$results" || true)
  skip=$(grep -c '^SKIP' "$results" || true)
  fail=$(grep -c '^FAIL' "$results" || true)
  [ "$total" -gt 0 ] || die "$name: no .wav files found under $root ($*)"

  if [ -s "$dest/convert.log" ]; then sort -u -o "$dest/convert.log" "$dest/convert.log"; fi

  # Zero padding (ASED pads its recordings to 3 s with digital silence) is cut from both ends.
  local trimmed
  trimmed=$(cd "$repo_root" && node --import tsx scripts/trim-zero-edges.ts "$dest") || die "$name: trimming the zero padding failed"
  echo "  $trimmed" >&2

  local rel="$staging/$name.rel"
  (cd "$dest" && find "$@" -type f -name '*.wav' 2>/dev/null | sort || true) >"$rel"
  secs=$(cd "$dest" && tr '\n' '\0' <"$rel" | xargs -0 -r soxi -D | awk '{s+=$1} END{printf "%.3f", s}')
  {
    echo "corpus=$name"
    source_desc "${src[$name]}"
    echo "prepared_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "format=wav 16000 Hz, 1 channel, 16-bit signed integer PCM"
    echo "sox_command=sox -R IN -r 16000 -c 1 -b 16 -e signed-integer OUT channels 1 rate -v 16000"
    echo "zero_padding=cut at both ends when >= 100 ms (scripts/trim-zero-edges.ts): ${trimmed#trim-zero-edges: }"
    echo "sox_version=$(sox --version 2>&1 | sed 's/.*SoX //')"
    echo "files=$(wc -l <"$rel")"
    echo "source_files=$total"
    echo "converted_this_run=$ok"
    echo "already_present=$skip"
    echo "failed=$fail"
    echo "total_seconds=$secs"
    echo "total_hours=$(awk -v s="$secs" 'BEGIN{printf "%.4f", s/3600}')"
    echo "speakers=$(labels "$name" <"$rel" | cut -f2 | sort -u | wc -l)"
    labels "$name" <"$rel" | cut -f1 | sort | uniq -c | awk '{print "label." $2 "=" $1}'
  } >"$staging/$name.stamp"
  if [ "$fail" -eq 0 ]; then
    mv "$staging/$name.stamp" "$dest/PREPARED"
  else
    cp "$staging/$name.stamp" "$dest/FAILED"
    grep '^FAIL' "$results" >>"$dest/FAILED"
  fi
  printf '%-13s files=%-5s converted=%-5s skipped=%-5s failed=%-3s hours=%s  (%ds)\n' \
    "$name" "$total" "$ok" "$skip" "$fail" "$(awk -v s="$secs" 'BEGIN{printf "%.3f", s/3600}')" \
    "$((SECONDS - t0))" >>"$staging/summary"
  labels "$name" <"$rel" | cut -f1 | sort | uniq -c | awk '{printf "    %-14s %s\n", $2, $1}' >>"$staging/summary"
  [ "$fail" -eq 0 ] || status=1
}

status=0
for name in "${order[@]}"; do
  dir=${src[$name]}
  echo "== $name <- $dir" >&2
  case "$name" in
    nemo)
      root=$(stage nemo "$dir" samples data.tsv)
      [ -d "$root/samples" ] || die "nemo: no samples/ in $dir"
      mkdir -p "$out/nemo"
      if [ -f "$root/data.tsv" ]; then cp -f "$root/data.tsv" "$out/nemo/data.tsv"
      else echo "prepare-corpora: nemo: warning: no data.tsv in $dir" >&2; fi
      prepare nemo "$root" samples ;;
    ased)
      root=$(stage ased "$dir" 01Neutral 02Fearful 03Happy 04Sad 05Angry)
      dirs=(); for d in 01Neutral 02Fearful 03Happy 04Sad 05Angry; do [ -d "$root/$d" ] && dirs+=("$d"); done
      [ ${#dirs[@]} -gt 0 ] || die "ased: no 01Neutral..05Angry folders in $dir"
      [ ${#dirs[@]} -eq 5 ] || echo "prepare-corpora: ased: warning: only ${dirs[*]}" >&2
      prepare ased "$root" "${dirs[@]}" ;;
    ravdess-song)
      root=$(stage ravdess-song "$dir" archive)
      [ -d "$root/archive" ] && ls -d "$root"/archive/Actor_* >/dev/null 2>&1 && root="$root/archive"
      mapfile -t dirs < <(cd "$root" && ls -d Actor_* 2>/dev/null)
      [ ${#dirs[@]} -gt 0 ] || die "ravdess-song: no Actor_XX folders in $dir (or $dir/archive)"
      prepare ravdess-song "$root" "${dirs[@]}" ;;
    turev)
      root=$(stage turev "$dir" "Sound Source")
      [ -d "$root/Sound Source" ] && root="$root/Sound Source"
      mapfile -t dirs < <(cd "$root" && find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%f\n' | sort)
      [ ${#dirs[@]} -gt 0 ] || die "turev: no emotion folders in $dir (or \"$dir/Sound Source\")"
      prepare turev "$root" "${dirs[@]}" ;;
  esac
done

echo
echo "prepared under $out:"
cat "$staging/summary"
[ "$status" -eq 0 ] || echo "some files failed: see $out/<corpus>/FAILED" >&2
exit "$status"
