#!/usr/bin/env bash
# tools/check-layers.sh - the include rules of DESIGN.md, checked on every
# hand-written C file of the broker (run by `make lint` and `make test`).
# Layers, lowest first: core/ -> storage/ -> part/ -> coord/ -> net/ -> cmd/.
#   core/     includes only core/
#   storage/  core/ and storage/
#   part/     core/, storage/ and part/
#   coord/    core/, storage/, part/ and coord/ (never net/)
#   net/      core/, part/, coord/ and net/ (never storage/; never a coord/*_int.h)
#   cmd/      anything (the composition root)
# A quoted include of a project header that breaks its file's rule is printed as
#   layers: FILE includes HEADER (FOLDER/ may include: ...)
# and the script exits 1. tools/, perf/ and tests/ drive the broker from outside
# and are not checked.
set -u
cd "$(dirname "$0")/.."
allowed() {
    case "$1" in
    core) echo "core" ;;
    storage) echo "core storage" ;;
    part) echo "core storage part" ;;
    coord) echo "core storage part coord" ;;
    net) echo "core part coord net" ;;
    *) echo "" ;;
    esac
}
bad=0
checked=0
for dir in core storage part coord net; do
    ok=$(allowed "$dir")
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        checked=$((checked + 1))
        while IFS= read -r inc; do
            top=${inc%%/*}
            [ "$top" = "$inc" ] && continue # not a project path
            case " core storage part coord net cmd " in *" $top "*) ;; *) continue ;; esac
            fine=0
            for a in $ok; do [ "$a" = "$top" ] && fine=1; done
            if [ "$dir" = net ] && [ "$top" = coord ] && [[ "$inc" == *_int.h ]]; then
                fine=0
            fi
            if [ $fine -eq 0 ]; then
                echo "layers: $f includes $inc ($dir/ may include: $ok)"
                bad=$((bad + 1))
            fi
        done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    done
done
echo "layers: $checked files checked, $bad violations"
[ $bad -eq 0 ]
