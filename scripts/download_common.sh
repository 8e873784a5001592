# shellcheck shell=bash
# Shared helpers for the dataset and pretrained-model download scripts.
#
# Sourced (not executed) by datasets/download_*_dataset.sh and scripts/download_*_model.sh.
# The rule every helper follows: nothing is written at the destination until the
# download has finished and been checked; all intermediate files live in one temp
# folder next to the destination (same filesystem, so the final move is a rename)
# and that folder is removed on every exit path, including Ctrl-C.
#
# Environment:
#   GAN_DOWNLOAD_BASE_URL  server root (default http://efrosgans.eecs.berkeley.edu, the
#                          host of the classic CycleGAN/pix2pix files); point it at a
#                          mirror or at a local test server.
#   GAN_DOWNLOADER         curl or wget (default: curl when installed, else wget).

DL_DEFAULT_BASE_URL="http://efrosgans.eecs.berkeley.edu"
DL_BASE_URL="${GAN_DOWNLOAD_BASE_URL:-$DL_DEFAULT_BASE_URL}"
DL_BASE_URL="${DL_BASE_URL%/}"
# Repository root = parent of the folder holding the calling script (datasets/ or scripts/).
DL_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

DL_TMP=""         # temp folder of the current operation
DL_DEST=""        # destination being replaced (for rollback on interruption)

dl_err() { echo "Error: $*" >&2; }
dl_die() { dl_err "$@"; exit 1; }

DL_MADE_DIRS=()   # folders this run created (removed again if they stay empty)

dl_cleanup() {
    # If we were interrupted between moving the old copy aside and moving the new one
    # in, put the old copy back before deleting the temp folder.
    if [[ -n "$DL_TMP" && -d "$DL_TMP" ]]; then
        if [[ -n "$DL_DEST" && -e "$DL_TMP/previous" && ! -e "$DL_DEST" ]]; then
            mv -- "$DL_TMP/previous" "$DL_DEST" || true
        fi
        rm -rf -- "$DL_TMP"
    fi
    # A failed run must not leave empty folders behind (rmdir refuses non-empty ones).
    local d
    for d in ${DL_MADE_DIRS[@]+"${DL_MADE_DIRS[@]}"}; do rmdir -- "$d" 2>/dev/null || true; done
}

# dl_mkdir DIR: mkdir -p that remembers which folders it created, deepest first.
dl_mkdir() {
    local d="$1" missing=()
    while [[ ! -d "$d" ]]; do missing+=("$d"); d="$(dirname "$d")"; done
    mkdir -p -- "$1" || dl_die "cannot create folder $1"
    DL_MADE_DIRS+=(${missing[@]+"${missing[@]}"})
}

# dl_make_tmp PARENT LABEL: create the temp folder inside PARENT and arm cleanup traps.
dl_make_tmp() {
    trap dl_cleanup EXIT
    # Convert signals into a normal exit so the EXIT trap runs exactly once.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    dl_mkdir "$1"
    DL_TMP="$(mktemp -d "$1/.$2.download.XXXXXX")" || dl_die "cannot create a temp folder in $1"
}

# dl_in_list WORD LIST...: true when WORD is one of LIST.
dl_in_list() {
    local word="$1"; shift
    local item
    for item in "$@"; do [[ "$item" == "$word" ]] && return 0; done
    return 1
}

# dl_fetch URL OUTFILE: download with curl or wget; prints a clear error and returns 1 on failure.
dl_fetch() {
    local url="$1" out="$2" tool="${GAN_DOWNLOADER:-}" log="$DL_TMP/fetch.log" rc=0
    if [[ -z "$tool" ]]; then
        if command -v curl >/dev/null 2>&1; then tool=curl
        elif command -v wget >/dev/null 2>&1; then tool=wget
        else dl_err "neither curl nor wget is installed; install one of them"; return 1
        fi
    fi
    local cmd
    case "$tool" in
        # -f: HTTP errors (404, 500) are failures instead of saved error pages.
        curl) cmd=(curl -fL --retry 3 --retry-delay 2 --connect-timeout 30 -o "$out") ;;
        wget) cmd=(wget --tries=3 --timeout=30 -O "$out") ;;
        *) dl_err "GAN_DOWNLOADER must be curl or wget, not '$tool'"; return 1 ;;
    esac
    echo "Downloading $url"
    if [[ -t 2 ]]; then
        # Interactive: show the progress bar; errors appear on the terminal as they happen.
        if [[ "$tool" == curl ]]; then cmd+=(--progress-bar); else cmd+=(-q --show-progress); fi
        "${cmd[@]}" "$url" || rc=$?
    else
        # Logs and CI: quiet, but keep the tool's error text for the message below.
        if [[ "$tool" == curl ]]; then cmd+=(-sS); else cmd+=(-nv); fi
        "${cmd[@]}" "$url" 2>"$log" || rc=$?
    fi
    if [[ $rc -ne 0 ]]; then
        local reason=""
        if [[ -s "$log" ]]; then
            reason="$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 | tr -d '\r')"
            [[ -n "$reason" ]] && reason=" ($reason)"
        fi
        rm -f -- "$out"
        dl_err "download failed: $url$reason [$tool exit code $rc]. Nothing was changed."
        return 1
    fi
    if [[ ! -s "$out" ]]; then
        rm -f -- "$out"
        dl_err "download of $url produced an empty file. Nothing was changed."
        return 1
    fi
}

# dl_check_members LISTING_FILE LABEL: refuse absolute paths and '..' (the archive must
# not write outside the temp folder).
dl_check_members() {
    local listing="$1" label="$2"
    if grep -qE '^/|(^|/)\.\.(/|$)' "$listing"; then
        dl_err "archive $label contains absolute or '..' paths; refusing to unpack it. Nothing was changed."
        return 1
    fi
}

# dl_extract ARCHIVE TYPE DIR LABEL: test and unpack a tar.gz or zip archive into DIR.
dl_extract() {
    local archive="$1" type="$2" dir="$3" label="$4" listing="$DL_TMP/members.txt"
    local bad="archive $label is not a valid $type file (corrupt, truncated, or the server sent an error page). Nothing was changed."
    mkdir -p -- "$dir"
    case "$type" in
        tar.gz)
            tar -tzf "$archive" >"$listing" 2>/dev/null || { dl_err "$bad"; return 1; }
            dl_check_members "$listing" "$label" || return 1
            # Links could point outside the dataset folder; datasets never need them.
            if tar -tvzf "$archive" 2>/dev/null | grep -q '^[lh]'; then
                dl_err "archive $label contains links; refusing to unpack it. Nothing was changed."
                return 1
            fi
            tar -xzf "$archive" -C "$dir" --no-same-owner 2>"$DL_TMP/extract.log" \
                || { dl_err "$bad ($(tail -n 1 "$DL_TMP/extract.log"))"; return 1; }
            ;;
        zip)
            if command -v unzip >/dev/null 2>&1; then
                unzip -tq "$archive" >/dev/null 2>&1 || { dl_err "$bad"; return 1; }
                unzip -Z1 "$archive" >"$listing" 2>/dev/null || { dl_err "$bad"; return 1; }
                dl_check_members "$listing" "$label" || return 1
                unzip -q -o "$archive" -d "$dir" >/dev/null 2>"$DL_TMP/extract.log" \
                    || { dl_err "$bad"; return 1; }
            elif command -v python3 >/dev/null 2>&1; then
                # zipfile sanitises member paths itself; -t checks CRCs.
                python3 -m zipfile -t "$archive" >/dev/null 2>&1 || { dl_err "$bad"; return 1; }
                python3 -m zipfile -e "$archive" "$dir" 2>/dev/null || { dl_err "$bad"; return 1; }
            else
                dl_err "unpacking .zip archives needs unzip or python3; install unzip"; return 1
            fi
            ;;
        *) dl_err "unknown archive type $type"; return 1 ;;
    esac
}

# dl_has_folders DIR FOLDER...: true when every FOLDER exists under DIR and holds at least one file.
dl_has_folders() {
    local dir="$1"; shift
    local f
    for f in "$@"; do
        [[ -d "$dir/$f" ]] || return 1
        [[ -n "$(find "$dir/$f" -type f -print -quit 2>/dev/null)" ]] || return 1
    done
}

# dl_install_dataset NAME URL TYPE DATASETS_DIR FORCE FOLDER...
# Download URL, unpack, check that the dataset root has FOLDER..., then move it to
# DATASETS_DIR/NAME (replacing an existing copy only when FORCE is 1).
dl_install_dataset() {
    local name="$1" url="$2" type="$3" parent="$4" force="$5"; shift 5
    local dest="$parent/$name" root="" cand
    if [[ -e "$dest" && "$force" != 1 ]]; then
        echo "Dataset '$name' already exists at $dest; nothing to do (use --force to download it again and replace it)."
        return 0
    fi
    dl_make_tmp "$parent" "$name"
    dl_fetch "$url" "$DL_TMP/archive.$type" || exit 1
    echo "Checking and unpacking $(basename "$url")"
    dl_extract "$DL_TMP/archive.$type" "$type" "$DL_TMP/unpacked" "$(basename "$url")" || exit 1
    rm -f -- "$DL_TMP/archive.$type"   # free the space before the move
    # Classic archives unpack to NAME/; also accept a lone, differently named top folder,
    # or the split folders directly at the top of the archive.
    local tops=()
    while IFS= read -r cand; do
        [[ "$(basename "$cand")" == "__MACOSX" ]] || tops+=("$cand")
    done < <(find "$DL_TMP/unpacked" -mindepth 1 -maxdepth 1 -type d | sort)
    if [[ -d "$DL_TMP/unpacked/$name" ]]; then cand="$DL_TMP/unpacked/$name"
    elif [[ ${#tops[@]} -eq 1 ]]; then cand="${tops[0]}"
    else cand="$DL_TMP/unpacked"
    fi
    dl_has_folders "$cand" "$@" && root="$cand"
    if [[ -z "$root" ]]; then
        local found
        found="$(cd "$DL_TMP/unpacked" && find . -mindepth 1 -maxdepth 2 -type d | sed 's|^\./||' | sort | head -n 20 | paste -sd ' ' -)"
        dl_die "archive from $url does not have the expected layout: need $name/{$(IFS=,; echo "$*")} with files in each; found: ${found:-nothing}. Nothing was changed."
    fi
    DL_DEST="$dest"
    if [[ -e "$dest" ]]; then
        echo "Replacing existing $dest"
        mv -- "$dest" "$DL_TMP/previous" || dl_die "cannot move the existing $dest aside"
    fi
    if ! mv -- "$root" "$dest"; then
        [[ -e "$DL_TMP/previous" ]] && mv -- "$DL_TMP/previous" "$dest"
        dl_die "cannot move the unpacked dataset to $dest; the previous state was kept"
    fi
    DL_DEST=""
    echo "Dataset '$name' is ready at $dest"
}

# dl_install_model NAME URL CHECKPOINTS_DIR FORCE: download URL to
# CHECKPOINTS_DIR/NAME_pretrained/latest_net_G.pth after checking it looks like a torch file.
dl_install_model() {
    local name="$1" url="$2" ckpt="$3" force="$4"
    local dir="$ckpt/${name}_pretrained"
    local dest="$dir/latest_net_G.pth" tmpfile magic
    if [[ -e "$dest" && "$force" != 1 ]]; then
        echo "Model '$name' already exists at $dest; nothing to do (use --force to download it again and replace it)."
        return 0
    fi
    # The temp folder sits in CHECKPOINTS_DIR so that a failed download does not leave an
    # empty NAME_pretrained/ behind.
    dl_make_tmp "$ckpt" "${name}_pretrained"
    tmpfile="$DL_TMP/latest_net_G.pth"
    dl_fetch "$url" "$tmpfile" || exit 1
    # torch.save writes a zip ("PK\3\4") since PyTorch 1.6, a pickle (0x80) before;
    # anything else (typically an HTML error page) is not a checkpoint.
    magic="$(head -c 2 "$tmpfile" | od -An -tx1 | tr -d ' \n')"
    if [[ "$magic" != "504b" && "$magic" != 80* ]]; then
        dl_die "file from $url is not a PyTorch checkpoint (starts with bytes 0x$magic). Nothing was changed."
    fi
    dl_mkdir "$dir"
    mv -f -- "$tmpfile" "$dest" || dl_die "cannot write $dest"
    echo "Model '$name' is ready at $dest"
}

# dl_parse_args USAGE_FN DIR_OPTION DEFAULT_DIR "$@": sets DL_NAME, DL_DIR, DL_FORCE, DL_LIST.
dl_parse_args() {
    local usage_fn="$1" dir_opt="$2"; DL_DIR="$3"; shift 3
    DL_NAME="" DL_FORCE=0 DL_LIST=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
            -h|--help) "$usage_fn"; exit 0 ;;
            --list) DL_LIST=1 ;;
            -f|--force) DL_FORCE=1 ;;
            "$dir_opt") [[ $# -ge 2 ]] || { dl_err "$dir_opt needs a folder"; exit 2; }
                        DL_DIR="$2"; shift ;;
            "$dir_opt"=*) DL_DIR="${1#*=}" ;;
            -*) dl_err "unknown option $1"; "$usage_fn" >&2; exit 2 ;;
            *) [[ -z "$DL_NAME" ]] || { dl_err "give exactly one name (got '$DL_NAME' and '$1')"; exit 2; }
               DL_NAME="$1" ;;
        esac
        shift
    done
}

# dl_require_known NAME KIND VALID...: exit 2 with the valid names when NAME is not one of them.
dl_require_known() {
    local name="$1" kind="$2"; shift 2
    if [[ -z "$name" ]]; then
        dl_err "no $kind name given. Valid names: $*"
        exit 2
    fi
    if ! dl_in_list "$name" "$@"; then
        dl_err "unknown $kind '$name'. Valid names: $*"
        exit 2
    fi
}

# The whole command line of a model download script: dl_model_main KIND URL_DIR HINT NAME... -- ARGS...
# KIND names the model family in messages, URL_DIR is the folder under the base URL, HINT is printed after
# a successful download (with NAME substituted), then the valid names, '--', and the script's arguments.
dl_model_main() {
    local kind=$1 url_dir=$2 hint=$3
    shift 3
    local names=()
    while [[ $1 != -- ]]; do names+=("$1"); shift; done
    shift
    _dl_model_usage() {
        cat <<USAGE
Usage: bash $0 [--force] [--checkpoints_dir DIR] NAME
Download a pretrained $kind generator to DIR/NAME_pretrained/latest_net_G.pth
(default DIR: $DL_REPO_ROOT/checkpoints).
NAME: ${names[*]}
  --force                 replace an existing latest_net_G.pth
  --checkpoints_dir DIR   checkpoints folder (same meaning as test.py --checkpoints_dir)
  --list                  print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
    }
    dl_parse_args _dl_model_usage --checkpoints_dir "$DL_REPO_ROOT/checkpoints" "$@"
    if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${names[@]}"; exit 0; fi
    dl_require_known "$DL_NAME" "$kind model" "${names[@]}"
    dl_install_model "$DL_NAME" "$DL_BASE_URL/$url_dir/$DL_NAME.pth" "$DL_DIR" "$DL_FORCE"
    echo "Use it with: ${hint//NAME/$DL_NAME}"
}

# The whole command line of a dataset download script:
#   dl_dataset_main KIND WHAT URL_DIR TYPE FOLDERS_FN NAME... -- ARGS...
# KIND names the dataset family in messages, WHAT describes one dataset in the usage text, the archive is
# URL_DIR/NAME.TYPE (tar.gz or zip) under the base URL; `FOLDERS_FN NAME` prints the folders the unpacked
# dataset must contain, or explains on stderr why NAME cannot be downloaded and returns 1 (the script then
# exits 1); then the valid names, '--', and the script's arguments.
dl_dataset_main() {
    local kind=$1 what=$2 url_dir=$3 type=$4 folders_fn=$5
    shift 5
    local names=()
    while [[ $1 != -- ]]; do names+=("$1"); shift; done
    shift
    _dl_dataset_usage() {
        cat <<USAGE
Usage: bash $0 [--force] [--datasets_dir DIR] NAME
Download a $what into DIR/NAME (default: $DL_REPO_ROOT/datasets).
NAME: ${names[*]}
  --force              replace an existing DIR/NAME (only after the new copy is verified)
  --datasets_dir DIR   where to put the dataset
  --list               print the valid names, one per line
Env: GAN_DOWNLOAD_BASE_URL (default $DL_DEFAULT_BASE_URL), GAN_DOWNLOADER (curl|wget)
USAGE
    }
    dl_parse_args _dl_dataset_usage --datasets_dir "$DL_REPO_ROOT/datasets" "$@"
    if [[ $DL_LIST == 1 ]]; then printf '%s\n' "${names[@]}"; exit 0; fi
    dl_require_known "$DL_NAME" "$kind dataset" "${names[@]}"
    local folders
    folders="$("$folders_fn" "$DL_NAME")" || exit 1
    # shellcheck disable=SC2086  # one word per folder
    dl_install_dataset "$DL_NAME" "$DL_BASE_URL/$url_dir/$DL_NAME.$type" "$type" "$DL_DIR" "$DL_FORCE" $folders
}
