# compose/images/lib/rootfs.sh — helpers for image recipes that build a root filesystem from host files
# (there is no Docker Hub here: images are assembled from Debian packages and unpacked wheels).
# Source it from a recipe's `build` script:  source "$(dirname "$0")/../lib/rootfs.sh"
#
#   rootfs_init ROOT                  merged-/usr skeleton (bin, lib, sbin -> usr/...), /tmp 1777, /etc basics
#   rootfs_user ROOT NAME UID GID HOME [SHELL]     add a passwd + group entry
#   rootfs_copy ROOT PATH...          copy host files/trees to the same path inside ROOT (symlinks kept)
#   rootfs_copy_to ROOT SRC DST       copy a host file/tree to another path inside ROOT
#   rootfs_closure ROOT               add the host libraries every ELF file in ROOT needs (ldd, run on the
#                                     file inside ROOT so that $ORIGIN RPATHs resolve within ROOT)
#   rootfs_busybox ROOT               busybox-static plus a symlink per applet, never replacing a real file
#   rootfs_drop_packages ROOT PKG...  remove from ROOT the files (not directories) that host packages PKG own,
#                                     when installed, and the update-alternatives links leading to them: a tree
#                                     copied whole (e.g. /usr/lib/postgresql/15) stays what its own package
#                                     gives, whatever else the host added to it
#   rootfs_image ROOT DOCKERFILE_TAIL TAG...      docker build `FROM scratch` + `ADD rootfs.tar /` + TAIL
#                                     (legacy builder: no network, and STOPSIGNAL/USER/VOLUME work)
#   image_push TAG...                 docker push each tag, quietly
# Everything logs to stderr. Requires root (ownership inside the rootfs is kept in the tar).

rootfs_log() { printf '[rootfs] %s\n' "$*" >&2; }

rootfs_init() {
    local root="$1"
    rm -rf "$root"
    mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,tmp,var/tmp,var/run,run,proc,sys,dev,root}
    ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"
    ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
    : >"$root/etc/hosts"; : >"$root/etc/resolv.conf"
}

rootfs_user() {
    local root="$1" name="$2" uid="$3" gid="$4" home="$5" shell="${6:-/bin/sh}"
    printf '%s:x:%s:%s:%s:%s:%s\n' "$name" "$uid" "$gid" "$name" "$home" "$shell" >>"$root/etc/passwd"
    printf '%s:x:%s:\n' "$name" "$gid" >>"$root/etc/group"
}

# _rootfs_dst ROOT PATH: the path inside ROOT, with /bin, /lib, ... folded into /usr (merged-/usr layout).
_rootfs_dst() {
    local p="$2"
    case "$p" in
        /bin/*|/sbin/*|/lib/*|/lib64/*) p="/usr$p" ;;
    esac
    printf '%s%s' "$1" "$p"
}

rootfs_copy() {
    local root="$1" p; shift
    for p in "$@"; do rootfs_copy_to "$root" "$p" "$p"; done
}

rootfs_copy_to() {
    local root="$1" src="$2" dst
    dst="$(_rootfs_dst "$root" "$3")"
    mkdir -p "$(dirname "$dst")"
    rm -rf "$dst"
    cp -a "$src" "$dst"
}

rootfs_closure() {
    local root="$1" f lib dst missing=0
    # every ELF regular file: executables and shared objects (including dlopen'ed extension modules)
    while IFS= read -r -d '' f; do
        head -c4 "$f" 2>/dev/null | grep -q $'^\x7fELF' || continue
        local out
        out="$(ldd "$f" 2>/dev/null)" || continue          # "not a dynamic executable": static, fine
        if grep -q 'not found' <<<"$out"; then
            rootfs_log "missing libraries for ${f#"$root"}:"; grep 'not found' <<<"$out" >&2; missing=1
        fi
        while read -r lib; do
            case "$lib" in "$root"/*) continue ;; esac     # resolved inside ROOT (RPATH $ORIGIN)
            dst="$(_rootfs_dst "$root" "$lib")"
            [ -e "$dst" ] && continue
            mkdir -p "$(dirname "$dst")"
            cp -L "$lib" "$dst"
        done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
    done < <(find "$root" -xdev -type f \( -perm -u+x -o -name '*.so' -o -name '*.so.*' \) -print0)
    [ "$missing" = 0 ] || { rootfs_log "unresolved libraries: see above"; return 1; }
}

rootfs_busybox() {
    local root="$1" bb applet dst
    bb="$(command -v busybox || echo /bin/busybox)"
    [ -x "$bb" ] || { rootfs_log "busybox not found (apt-get install busybox-static)"; return 1; }
    cp "$bb" "$root/usr/bin/busybox"
    for applet in $("$bb" --list-full); do
        case "/$applet" in                     # _rootfs_dst inlined: no subshell per applet
            /bin/*|/sbin/*) dst="$root/usr/$applet" ;;
            *) dst="$root/$applet" ;;
        esac
        [ -e "$dst" ] || [ -L "$dst" ] && continue
        mkdir -p "$(dirname "$dst")"
        ln -s /usr/bin/busybox "$dst"
    done
}

rootfs_drop_packages() {
    local root="$1" p f l; shift
    local -A owned=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || continue
        while IFS= read -r f; do
            [ -d "$root$f" ] && [ ! -L "$root$f" ] && continue
            owned["$f"]=1
            rm -f "$(_rootfs_dst "$root" "$f")"
        done < <(dpkg-query -L "$p")
    done
    # their update-alternatives links (e.g. extension/postgis.control -> /etc/alternatives/... -> postgis-3.control)
    # are owned by no package: drop the ones that lead to a dropped file
    while IFS= read -r -d '' l; do
        f="${l#"$root"}"
        case "$(readlink "$l")" in /etc/alternatives/*) ;; *) continue ;; esac
        [ -n "${owned[$(readlink -f "$f" 2>/dev/null || echo /nonexistent)]:-}" ] && rm -f "$l"
    done < <(find "$root/usr" -type l -print0)
}

rootfs_image() {
    local root="$1" tail="$2"; shift 2
    local ctx args=() tag
    ctx="$(mktemp -d "${TMPDIR:-/tmp}/rootfs-ctx.XXXXXX")"
    tar --numeric-owner -C "$root" -cf "$ctx/rootfs.tar" .
    printf 'FROM scratch\nADD rootfs.tar /\n%s\n' "$tail" >"$ctx/Dockerfile"
    for tag in "$@"; do args+=(-t "$tag"); done
    rootfs_log "docker build ${*} ($(du -sh "$ctx/rootfs.tar" | cut -f1) rootfs)"
    local rc=0
    DOCKER_BUILDKIT=0 docker build -q "${args[@]}" "$ctx" >&2 || rc=$?
    rm -rf "$ctx"
    return "$rc"
}

image_push() {
    local tag
    for tag in "$@"; do docker push -q "$tag" >&2 || return 1; done
}
