# common.capnp — types shared by the runsc-ts protocols (gofer, control, netstack).
#
# Conventions (all schemas in this directory follow them):
#
# * Errors are errno values in the result. Every method whose Linux counterpart can fail has
#   `errno :UInt16` as result field @0: 0 means success, otherwise a Linux errno number (EBADF = 9,
#   ENOENT = 2, ...; the values of the host's <errno.h>, which `@runsc-ts/abi` generates). When
#   errno is non-zero every other result field is unspecified (normally left null/zero) unless the
#   method's comment says otherwise. An errno is the *peer's answer*; a transport failure (peer
#   gone, malformed frame, unknown method) is not an errno — the RPC engine reports it as a
#   rejected call, and the caller treats the peer as dead.
#
# * Host file descriptors travel as capabilities. A field of type `HostFd` carries exactly one
#   host FD: the RPC engine puts the FD into the frame's SCM_RIGHTS list and sets the capability
#   descriptor's `attachedFd` (rpc.capnp's convention). A null field means "no FD". The sender
#   donates the FD: once the message is sent the sender may close its copy, and the receiver owns
#   the copy it got (and must close it). HostFd has no methods; it is only a typed slot.
#
# * Byte strings the host kernel treats as bytes — file names, symlink targets, xattr names and
#   values, socket addresses — are `Data`, never `Text`. Linux names are not UTF-8: `Text` would
#   pass them through TextEncoder/TextDecoder and map distinct invalid sequences to U+FFFD, so two
#   host names would collide and a name could not round-trip. `Text` is used only for strings that
#   are UTF-8 by definition (OCI JSON, container IDs, human-readable messages).
#
# * Numbers keep their Linux meaning and spelling in comments (O_* flags, S_IF* modes, STATX_*
#   masks, EPOLL* events); field names are lowerCamelCase.
#
# * Each method's comment names the Linux call it mirrors.

@0x88ab15bd00ad2d6f;

interface HostFd {}
# Marker for one donated host file descriptor (see above). Never called.

struct Timespec {
  # struct timespec / struct statx_timestamp.
  sec @0 :Int64;
  nsec @1 :UInt32;
}

struct Statx {
  # struct statx (statx(2)). `mask` says which STATX_* fields are valid; fields the host did not
  # fill are zero. Timestamps are groups (inline in the data section, no extra pointers): this
  # struct rides on every walk and stat, so it is kept to one flat 136-byte data section.
  mask @0 :UInt32;            # stx_mask: the STATX_* bits the host filled.
  blksize @1 :UInt32;         # stx_blksize
  attributes @2 :UInt64;      # stx_attributes: STATX_ATTR_* flags.
  nlink @3 :UInt32;           # stx_nlink
  uid @4 :UInt32;             # stx_uid
  gid @5 :UInt32;             # stx_gid
  mode @6 :UInt16;            # stx_mode: S_IFMT type bits | permission bits.
  ino @7 :UInt64;             # stx_ino
  size @8 :UInt64;            # stx_size
  blocks @9 :UInt64;          # stx_blocks (512-byte units)
  attributesMask @10 :UInt64; # stx_attributes_mask
  atime :group { sec @11 :Int64; nsec @12 :UInt32; }   # stx_atime
  btime :group { sec @13 :Int64; nsec @14 :UInt32; }   # stx_btime (valid iff mask & STATX_BTIME)
  ctime :group { sec @15 :Int64; nsec @16 :UInt32; }   # stx_ctime
  mtime :group { sec @17 :Int64; nsec @18 :UInt32; }   # stx_mtime
  rdevMajor @19 :UInt32;      # stx_rdev_major
  rdevMinor @20 :UInt32;      # stx_rdev_minor
  devMajor @21 :UInt32;       # stx_dev_major
  devMinor @22 :UInt32;       # stx_dev_minor
  mntId @23 :UInt64;          # stx_mnt_id (valid iff mask & STATX_MNT_ID)
}

struct Statfs {
  # struct statfs (fstatfs(2), x86-64 layout widths).
  type @0 :UInt64;            # f_type: filesystem magic (e.g. EXT4_SUPER_MAGIC)
  bsize @1 :UInt64;           # f_bsize
  blocks @2 :UInt64;          # f_blocks
  bfree @3 :UInt64;           # f_bfree
  bavail @4 :UInt64;          # f_bavail
  files @5 :UInt64;           # f_files
  ffree @6 :UInt64;           # f_ffree
  fsid0 @7 :UInt32;           # f_fsid.val[0]
  fsid1 @8 :UInt32;           # f_fsid.val[1]
  namelen @9 :UInt64;         # f_namelen
  frsize @10 :UInt64;         # f_frsize
  flags @11 :UInt64;          # f_flags: ST_RDONLY | ST_NOSUID | ...
}

struct Credentials {
  # The identity a process runs as (setresuid(2)/setresgid(2)/setgroups(2) inputs).
  uid @0 :UInt32;
  gid @1 :UInt32;
  additionalGids @2 :List(UInt32);  # supplementary groups (setgroups(2))
}
