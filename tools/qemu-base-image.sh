#!/usr/bin/env bash
# Build the base image of the local QEMU target: a small, bootable,
# cloud-init-enabled Debian 12 (bookworm) amd64 qcow2, from Debian's packages
# only (no cloud image download, no loop device, no mount).
#
#   tools/qemu-base-image.sh [options] OUT.qcow2
#
# Writes OUT.qcow2 (compressed qcow2, 2 GiB virtual), OUT.qcow2.sha256
# (`sha256sum -c` format, relative name) and OUT.qcow2.key (the cache key).
#
# How (all as root, in a scratch directory under TMPDIR, ~3 GB free needed):
#   1. mmdebstrap --variant=apt builds the root file system into a directory.
#   2. The tree is configured for a cloud VM: fstab by UUID, cloud-init with
#      datasource_list [NoCloud, None] and the systemd-networkd renderer, no SSH
#      host keys, empty machine-id, hostname "localhost", LANG=C.UTF-8.
#   3. `mkfs.ext4 -d` turns the tree into an ext4 partition image; sfdisk
#      writes an MBR partition table into a sparse raw disk; GRUB's boot.img
#      (MBR code) and a core.img made by the guest's own grub-mkimage (with
#      every module it needs built in) go into sector 0 and the post-MBR gap,
#      the partition at 1 MiB, all with dd. This is what grub-install does,
#      minus the device probing that needs a mounted, loop-backed disk.
#   4. qemu-img convert -c makes the compressed qcow2.
# The disk boots through the firmware (SeaBIOS, as Packer's qemu builder
# does): GRUB loads /vmlinuz and /initrd.img (Debian's kernel symlinks, so
# kernel upgrades inside the guest keep booting) with console=ttyS0. On first
# boot cloud-init grows the partition and file system to the disk size
# (growpart + resize2fs), creates users from the NoCloud seed (CD labelled
# "cidata") and renders DHCP for the NIC into systemd-networkd.
#
# Caching: the key is the sha256 of this script's bytes and the inputs below
# (suite, packages, mirrors, size). When OUT exists, OUT.key holds the same
# key and OUT.sha256 verifies, nothing is rebuilt. The key does not cover what
# the mirror serves (package updates): use --force to refresh. `--print-key`
# prints the key and exits (e.g. for a CI cache key).
#
# Options:
#   -f, --force       rebuild even when the cached image matches
#       --print-key   print the cache key and exit
#   -h, --help        this help
#
# Environment:
#   DEBIAN_MIRROR           default http://deb.debian.org/debian (also what
#                           the guest's /etc/apt/sources.list points at)
#   DEBIAN_SECURITY_MIRROR  default http://deb.debian.org/debian-security;
#                           "none" leaves bookworm-security out
#   BASE_IMAGE_SIZE_MIB     virtual disk size in MiB (default 2048, min 1024)
#   TMPDIR                  where the scratch directory goes (default /tmp)
#
# Host requirements: root, amd64, and the Debian packages
#   mmdebstrap qemu-utils e2fsprogs fdisk
# (checked up front; nothing is installed by this script).
set -euo pipefail

readonly SUITE=bookworm
readonly ARCH=amd64
readonly ROOT_LABEL=sindri-root
readonly GUEST_PACKAGES=(
	linux-image-cloud-amd64 systemd-sysv systemd-resolved dbus udev
	openssh-server cloud-init cloud-guest-utils e2fsprogs sudo
	ca-certificates curl iproute2 netbase procps apt-utils grub-pc-bin
)
# GRUB modules built into core.img (dependencies are added by grub-mkimage).
readonly GRUB_MODULES=(
	biosdisk part_msdos ext2 search search_fs_uuid normal configfile linux
	echo test serial terminal
)
readonly KERNEL_CMDLINE="ro console=tty0 console=ttyS0,115200n8"

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
size_mib=${BASE_IMAGE_SIZE_MIB:-2048}

log() { printf '[qemu-base-image] %s\n' "$*" >&2; }
die() { printf '[qemu-base-image] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

force=0
print_key=0
out=
while (($#)); do
	case $1 in
	-f | --force) force=1; shift ;;
	--print-key) print_key=1; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option: $1 (see --help)" ;;
	*)
		[[ -z $out ]] || die "only one output file, got '$out' and '$1'"
		out=$1; shift ;;
	esac
done
if (($#)); then
	[[ -z $out && $# -eq 1 ]] || die "only one output file"
	out=$1
fi

if [[ ! $size_mib =~ ^[1-9][0-9]*$ ]] || ((size_mib < 1024)); then
	die "BASE_IMAGE_SIZE_MIB must be a whole number >= 1024, got '$size_mib'"
fi
[[ $mirror =~ ^(https?|file):// ]] || die "DEBIAN_MIRROR must be an http(s):// or file:// URL, got '$mirror'"
[[ $security_mirror == none || $security_mirror =~ ^(https?|file):// ]] ||
	die "DEBIAN_SECURITY_MIRROR must be a URL or 'none', got '$security_mirror'"

sources=("deb $mirror $SUITE main" "deb $mirror $SUITE-updates main")
[[ $security_mirror == none ]] || sources+=("deb $security_mirror $SUITE-security main")

# ------------------------------------------------------------ cache key ----

self=${BASH_SOURCE[0]}
key=$({
	sha256sum <"$self"
	printf 'suite=%s\narch=%s\nsize_mib=%s\n' "$SUITE" "$ARCH" "$size_mib"
	printf 'packages=%s\n' "${GUEST_PACKAGES[*]}"
	printf 'source=%s\n' "${sources[@]}"
} | sha256sum | cut -d' ' -f1)

if ((print_key)); then
	printf '%s\n' "$key"
	exit 0
fi
[[ -n $out ]] || die "usage: $0 [options] OUT.qcow2 (see --help)"

out_dir=$(dirname "$out")
out_name=$(basename "$out")
[[ -d $out_dir ]] || die "output directory $out_dir does not exist"
key_file=$out.key
sum_file=$out.sha256

if ((!force)) && [[ -f $out && -f $key_file && -f $sum_file ]] &&
	[[ $(<"$key_file") == "$key" ]] &&
	(cd "$out_dir" && sha256sum --quiet --status -c "$out_name.sha256"); then
	log "up to date: $out (key $key)"
	exit 0
fi

# ---------------------------------------------------------- host checks ----

((EUID == 0)) || die "must run as root (mmdebstrap root mode, file ownership in the image)"
case $(uname -m) in
x86_64 | amd64) ;;
*) die "host must be amd64 (no foreign-architecture support), got $(uname -m)" ;;
esac
missing=()
need() { # need COMMAND DEBIAN_PACKAGE
	command -v "$1" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$1" >/dev/null 2>&1 ||
		missing+=("$2")
}
need mmdebstrap mmdebstrap
need qemu-img qemu-utils
need mkfs.ext4 e2fsprogs
need e2fsck e2fsprogs
need sfdisk fdisk
need chroot coreutils
need sha256sum coreutils
if ((${#missing[@]})); then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	die "missing tools; install the Debian packages: apt-get install ${missing[*]}"
fi
export PATH=$PATH:/usr/sbin:/sbin
# mkfs.ext4 -d (populate from a directory) needs e2fsprogs >= 1.43.
mkfs_usage=$(mkfs.ext4 2>&1 || true)
[[ $mkfs_usage == *"[-d root-directory]"* ]] || die "mkfs.ext4 is too old (no -d); need e2fsprogs >= 1.43"

# ------------------------------------------------------------- scratch -----

work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-base-image.XXXXXX")
chmod 0755 "$work" # apt downloads as _apt (sandboxed) need to reach it
tmp_out=
cleanup() {
	local rc=$?
	# --one-file-system: never descend into something still mounted in the
	# chroot (mmdebstrap unmounts on exit, this is a second line of defence).
	rm -rf --one-file-system "$work" || log "warning: could not remove $work"
	[[ -z $tmp_out ]] || rm -f "$tmp_out"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

rootfs=$work/rootfs
start=$SECONDS
log "building $out: Debian $SUITE $ARCH, ${size_mib} MiB (key $key)"

# ----------------------------------------------------------- root tree -----

include=$(
	IFS=,
	printf '%s' "${GUEST_PACKAGES[*]}"
)
log "mmdebstrap ($mirror)"
# The hook runs under mmdebstrap's sh with $1 = the root directory.
# shellcheck disable=SC2016
mmdebstrap --mode=root --variant=apt --format=directory --architectures="$ARCH" \
	--include="$include" \
	--aptopt='Acquire::Retries "3"' \
	--customize-hook='chroot "$1" systemctl enable systemd-networkd.service systemd-resolved.service' \
	"$SUITE" "$rootfs" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1 ||
	{ tail -n 40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
log "mmdebstrap done ($((SECONDS - start)) s)"

# Sanity: what the boot path relies on.
for f in vmlinuz initrd.img usr/lib/grub/i386-pc/boot.img usr/bin/grub-mkimage \
	usr/bin/cloud-init usr/bin/growpart usr/sbin/sshd; do
	[[ -e $rootfs/$f ]] || die "$f missing from the root file system"
done

uuid=$(</proc/sys/kernel/random/uuid)

# --------------------------------------------------------- configuration ---

printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$uuid" >"$rootfs/etc/fstab"
printf 'localhost\n' >"$rootfs/etc/hostname"
cat >"$rootfs/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
# A system locale that needs no locale-gen (cloud-init's locale module would
# otherwise generate en_US.UTF-8 on first boot).
printf 'LANG=C.UTF-8\n' >"$rootfs/etc/default/locale"

cat >"$rootfs/etc/cloud/cloud.cfg.d/90-sindri-base.cfg" <<'EOF'
# sindri-packer QEMU base image (tools/qemu-base-image.sh).
# Only the NoCloud seed (a CD labelled "cidata"); no metadata-server probing.
datasource_list: [ NoCloud, None ]
system_info:
  network:
    # systemd-networkd renders cloud-init's network config (DHCP by default).
    renderers: [ networkd ]
# No DSA host key (cloud-init 22.4 would generate one by default).
ssh_genkeytypes: [ rsa, ecdsa, ed25519 ]
# GRUB is installed by the image builder, not by grub-pc: nothing to preseed.
grub_dpkg:
  enabled: false
EOF

# No identity baked in: cloud-init generates SSH host keys on first boot and
# systemd a machine-id; no user has a password (cloud-init creates users).
rm -f "$rootfs"/etc/ssh/ssh_host_*
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"
if awk -F: '$2 !~ /^[!*]/ && $2 != "" {found=1} END {exit !found}' "$rootfs/etc/shadow"; then
	die "a user has a password in /etc/shadow"
fi
rm -rf "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin "${rootfs:?}"/tmp/* "${rootfs:?}"/var/log/*.log

# ---------------------------------------------------------------- GRUB -----

mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/boot/grub/i386-pc/"
cat >"$rootfs/boot/grub/grub.cfg" <<EOF
# Written by tools/qemu-base-image.sh (no grub-pc/update-grub in this image).
# /vmlinuz and /initrd.img follow the newest installed kernel.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout_style=countdown
set timeout=1
set default=0
menuentry 'Debian GNU/Linux 12 (sindri QEMU base)' {
	search --no-floppy --fs-uuid --set=root $uuid
	echo 'Loading /vmlinuz ...'
	linux /vmlinuz root=UUID=$uuid $KERNEL_CMDLINE
	initrd /initrd.img
}
EOF
cat >"$rootfs/tmp/grub-early.cfg" <<EOF
search --no-floppy --fs-uuid --set=root $uuid
set prefix=(\$root)/boot/grub
EOF
chroot "$rootfs" grub-mkimage -O i386-pc -c /tmp/grub-early.cfg -p /boot/grub \
	-o /tmp/core.img "${GRUB_MODULES[@]}"
mv "$rootfs/tmp/core.img" "$work/core.img"
cp "$rootfs/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"
rm -f "$rootfs/tmp/grub-early.cfg"

# ---------------------------------------------------------------- disk -----

# Layout: sector 0 MBR (boot.img code + partition table), sectors 1..2047
# core.img, partition 1 (ext4, bootable) from 1 MiB to the end.
readonly PART_START=2048
core_sectors=$((($(stat -c %s "$work/core.img") + 511) / 512))
((core_sectors < PART_START - 1)) || die "core.img ($core_sectors sectors) does not fit before the partition"
disk=$work/disk.raw
part=$work/root.ext4
part_bytes=$(((size_mib - 1) * 1024 * 1024))

# Pin the ext4 feature set to bookworm's mke2fs defaults: a newer host
# e2fsprogs would enable features (orphan_file, metadata_csum_seed) that
# bookworm's GRUB 2.06 or e2fsck may not accept.
cat >"$work/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
EOF
log "mkfs.ext4 -d ($((SECONDS - start)) s)"
truncate -s "$part_bytes" "$part"
MKE2FS_CONFIG=$work/mke2fs.conf mkfs.ext4 -q -F -t ext4 -L "$ROOT_LABEL" -U "$uuid" \
	-E nodiscard -d "$rootfs" "$part"
e2fsck -fn "$part" >"$work/e2fsck.log" 2>&1 || { cat "$work/e2fsck.log" >&2; die "e2fsck found problems"; }
rm -rf --one-file-system "$rootfs"

truncate -s "$((size_mib * 1024 * 1024))" "$disk"
printf 'label: dos\nstart=%d, type=83, bootable\n' "$PART_START" |
	sfdisk --quiet --no-reread --no-tell-kernel "$disk" >/dev/null
# boot.img: only the 440 bytes of code; keep the disk signature and table.
dd if="$work/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
dd if="$work/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$part"

log "qemu-img convert -c ($((SECONDS - start)) s)"
tmp_out=$(mktemp "$out_dir/.$out_name.XXXXXX")
qemu-img convert -c -f raw -O qcow2 -o compat=1.1 "$disk" "$tmp_out"
chmod 0644 "$tmp_out"
rm -f "$key_file" "$sum_file"
mv -f "$tmp_out" "$out"
tmp_out=
(cd "$out_dir" && sha256sum "$out_name" >"$out_name.sha256.tmp" && mv -f "$out_name.sha256.tmp" "$out_name.sha256")
printf '%s\n' "$key" >"$key_file"
log "done in $((SECONDS - start)) s: $out ($(du -h "$out" | cut -f1) on disk, ${size_mib} MiB virtual)"
