# gofer.capnp — the file protocol between the sentry (client) and a gofer (server), one gofer
# process per mount.
#
# FD-based, not path-based: every operation is relative to a `File`, a gofer-side handle on one
# host file or directory opened O_PATH|O_NOFOLLOW inside the mount. The sentry resolves paths
# itself (it owns the dentry tree, `..`, mount crossings and symlink following) and asks the gofer
# one directory level at a time, so the gofer never interprets a path and never follows a symlink.
#
# Names: every `name` / `names` element is exactly one path component as raw bytes (see
# common.capnp on Data vs Text): non-empty, at most NAME_MAX (255) bytes, no '/' and no NUL, and
# never "." or "..". The gofer answers EINVAL (ENAMETOOLONG for length) otherwise.
#
# Ownership and permissions: the sentry is the permission authority (it checks modes, ownership
# and capabilities against its own credentials before calling). The gofer assumes the sentry is
# compromised and enforces only confinement: nothing outside the mount root is reachable, no
# writes on a read-only mount (EROFS), no device nodes. Creating methods take the `uid`/`gid` the
# new file must get (the sentry has already applied fsuid/fsgid and setgid-directory rules) and
# the gofer sets them with fchownat(2) after creating.
#
# Lifetime: a `File` lives until the sentry releases the capability (rpc Release; the connection
# closing releases everything). There is no close method: the capability refcount already says
# when the handle is unused, an explicit close would add a "closed but still referenced" state to
# every method, and a crashed sentry must not leak gofer FDs. Host FDs donated by a method
# (`HostFd` results) are independent of the File: the sentry owns them and closes them itself.

@0xc00368ce07004cf2;

using Common = import "common.capnp";
using HostFd = Common.HostFd;
using Statx = Common.Statx;
using Statfs = Common.Statfs;

interface Gofer {
  # Bootstrap capability of a gofer connection.

  mount @0 () -> (errno :UInt16, root :File, rootStat :Statx, readOnly :Bool);
  # Attaches to the mount root (the seed of mount(2) for this filesystem). `readOnly` reports
  # the gofer's --ro: every mutating call will fail with EROFS, so the sentry should mount
  # MS_RDONLY. Each call returns a new root capability.
}

enum WalkStatus {
  # Why a walk stopped (errno = 0).
  complete @0;      # every name was walked: entries.length == names.length.
  missing @1;       # names[entries.length] does not exist (ENOENT for that component).
  symlink @2;       # the last entry is a symlink: walking stopped *at* it (it is included and
                    # may be the final name); the sentry reads it and follows it itself.
  notDirectory @3;  # the last entry is neither a directory nor a symlink but names remain
                    # (the caller answers ENOTDIR).
}

struct WalkEntry {
  file @0 :File;
  stat @1 :Statx;
}

struct Dirent {
  # One struct linux_dirent64 (getdents64(2)).
  ino @0 :UInt64;   # d_ino
  off @1 :UInt64;   # d_off: the cookie that resumes reading *after* this entry
  type @2 :UInt8;   # d_type: DT_REG, DT_DIR, DT_LNK, ... (DT_UNKNOWN if the host did not say)
  name @3 :Data;    # d_name without the NUL
}

interface File {
  # A gofer-side handle on one host file (any type) in the mount, held open O_PATH|O_NOFOLLOW.

  walk @0 (names :List(Data)) -> (errno :UInt16, status :WalkStatus, entries :List(WalkEntry));
  # openat(2) of each name relative to the previous one (this File first), O_PATH|O_NOFOLLOW,
  # then statx(2) of it; one capability and stat per component walked. Stops early at a missing
  # component, at a symlink, or at a non-directory with names remaining, and returns what it got
  # with the reason in `status`: a partial walk is a success (errno 0), because the sentry caches
  # the dentries walked and a negative dentry for a missing name. errno is non-zero only for a
  # failure that leaves nothing useful (EINVAL for a bad name or too many names, ENOTDIR if this
  # File is not a directory, EACCES/EIO/EMFILE from the host), and then `entries` is empty.
  # At most 256 names per call (each walked component costs the gofer a host FD; more is
  # EINVAL): the sentry splits longer paths. (A schema `const` would be the natural home for 256,
  # but capnp-es 0.0.16 emits no code for consts.)

  walkStat @1 (names :List(Data)) -> (errno :UInt16, status :WalkStatus, stats :List(Statx));
  # The same walk as `walk` but returns only stats and creates no capabilities (fstatat(2) per
  # component, AT_SYMLINK_NOFOLLOW): how the sentry revalidates cached dentries cheaply. An empty
  # `names` is EINVAL (use fstat).

  openAt @2 (flags :UInt32) -> (errno :UInt16, fd :HostFd);
  # open(2) of this file itself with `flags` (re-opening the O_PATH handle through
  # /proc/self/fd): O_RDONLY/O_WRONLY/O_RDWR plus O_TRUNC, O_APPEND, O_DIRECT, O_DSYNC, O_SYNC,
  # O_NOATIME; O_CREAT, O_EXCL, O_TMPFILE, O_PATH and O_NOFOLLOW are EINVAL; the gofer adds
  # O_CLOEXEC|O_NOCTTY|O_NONBLOCK as it sees fit. Write access or O_TRUNC on a read-only mount is
  # EROFS; a device, socket or symlink is ENXIO/ELOOP. Donates the opened host FD: the sentry
  # reads, writes, mmaps and closes it without further RPCs.

  openCreateAt @3 (name :Data, flags :UInt32, mode :UInt32, uid :UInt32, gid :UInt32)
      -> (errno :UInt16, child :File, stat :Statx, fd :HostFd);
  # openat(2) relative to this directory with O_CREAT|O_EXCL|O_NOFOLLOW always added (creation
  # is always exclusive: the sentry creates only after a walk found the name missing; EEXIST
  # means it lost a race and walks again), `flags` access mode and O_TRUNC/O_APPEND/... as for
  # openAt, `mode` the S_IRWXUGO|S_ISUID|S_ISGID|S_ISVTX permission bits after the umask; then
  # fchownat(2) to uid/gid. Returns a handle on the new file, its stat, and donates the opened FD.

  mkdirAt @4 (name :Data, mode :UInt32, uid :UInt32, gid :UInt32)
      -> (errno :UInt16, child :File, stat :Statx);
  # mkdirat(2) relative to this directory, then fchownat(2) to uid/gid.

  mknodAt @5 (name :Data, mode :UInt32, rdevMajor :UInt32, rdevMinor :UInt32,
              uid :UInt32, gid :UInt32) -> (errno :UInt16, child :File, stat :Statx);
  # mknodat(2) relative to this directory; `mode` includes the S_IFMT type. Only S_IFREG,
  # S_IFIFO and S_IFSOCK are allowed (device nodes are EPERM: the sentry serves devices itself).

  symlinkAt @6 (name :Data, target :Data, uid :UInt32, gid :UInt32)
      -> (errno :UInt16, child :File, stat :Statx);
  # symlinkat(2): creates `name` in this directory pointing at `target` (stored verbatim, never
  # resolved by the gofer).

  linkAt @7 (target :File, name :Data) -> (errno :UInt16, child :File, stat :Statx);
  # linkat(2) with AT_EMPTY_PATH: a new hard link `name` in this directory to `target`, which
  # must be a File of this same gofer connection (otherwise EXDEV); directories are EPERM.

  unlinkAt @8 (name :Data, flags :UInt32) -> (errno :UInt16);
  # unlinkat(2) relative to this directory; flags is 0 or AT_REMOVEDIR.

  renameAt @9 (oldName :Data, newDir :File, newName :Data, flags :UInt32) -> (errno :UInt16);
  # renameat2(2) of oldName in this directory to newName in newDir (a File of this same gofer
  # connection, else EXDEV). flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE; RENAME_WHITEOUT is
  # EINVAL.

  readLinkAt @10 () -> (errno :UInt16, target :Data);
  # readlinkat(2) of this symlink (empty path on the O_PATH FD). EINVAL if it is not a symlink.

  fstat @11 () -> (errno :UInt16, stat :Statx);
  # statx(2) of this file: AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS|STATX_BTIME.

  setStat @12 (mask :UInt32, mode :UInt32, uid :UInt32, gid :UInt32, size :UInt64,
               atime :Common.Timespec, mtime :Common.Timespec)
      -> (errno :UInt16, failedMask :UInt32);
  # The setattr family on this file: fchmodat(2) (STATX_MODE: permission bits only), fchownat(2)
  # (STATX_UID, STATX_GID), truncate(2) (STATX_SIZE, regular files), utimensat(2) (STATX_ATIME,
  # STATX_MTIME; nsec may be UTIME_NOW or UTIME_OMIT as in utimensat(2)). `mask` selects what to
  # change with those STATX_* bits; unselected fields are ignored. Applied in the order size,
  # mode, owner, times and stopped at the first failure: errno is that failure and `failedMask`
  # the selected bits that were not applied (0 on success).

  getdents64 @13 (cookie :UInt64, count :UInt32) -> (errno :UInt16, entries :List(Dirent));
  # getdents64(2) on this directory starting at `cookie` (0: the beginning; otherwise a `off`
  # returned earlier — lseek(2) to it), returning at most as many entries as fit in `count`
  # bytes of linux_dirent64 records. "." and ".." are omitted (the sentry synthesizes them). An
  # empty list means end of directory. The gofer keeps no per-caller position, so any number of
  # sentry open file descriptions can read one directory concurrently.

  fsync @14 (dataOnly :Bool) -> (errno :UInt16);
  # fsync(2) (fdatasync(2) if dataOnly) of this file; mostly for directories, since the sentry
  # syncs donated FDs itself.

  statfs @15 () -> (errno :UInt16, stat :Statfs);
  # fstatfs(2) of the filesystem holding this file.

  getXattr @16 (name :Data, size :UInt32) -> (errno :UInt16, value :Data);
  # getxattr(2) of this file. ERANGE if the value is longer than `size`; size 0 returns the whole
  # value (so one call answers the size query and the sentry can cache it). ENODATA if absent.

  setXattr @17 (name :Data, value :Data, flags :UInt32) -> (errno :UInt16);
  # setxattr(2): flags 0, XATTR_CREATE or XATTR_REPLACE. The gofer may restrict namespaces
  # (only "user." by default; EOPNOTSUPP otherwise).

  listXattr @18 (size :UInt32) -> (errno :UInt16, names :List(Data));
  # listxattr(2): one element per name, without NULs. ERANGE if the NUL-terminated list would
  # exceed `size`; size 0 returns them all.

  removeXattr @19 (name :Data) -> (errno :UInt16);
  # removexattr(2).

  bindAt @20 (name :Data, sockType :UInt32, mode :UInt32, uid :UInt32, gid :UInt32)
      -> (errno :UInt16, child :File, stat :Statx, fd :HostFd);
  # socket(AF_UNIX, sockType) + bind(2) to `name` in this directory (the socket file is created
  # by bind), then fchmodat(2)/fchownat(2). Donates the bound, not yet listening, socket: the
  # sentry calls listen(2) and accept(2) on it. sockType: SOCK_STREAM, SOCK_DGRAM or
  # SOCK_SEQPACKET.

  connect @21 (sockType :UInt32) -> (errno :UInt16, fd :HostFd);
  # socket(AF_UNIX, sockType) + connect(2) to the host Unix socket this File names (through
  # /proc/self/fd, never a path outside the mount). Donates the connected socket. ECONNREFUSED
  # if it is not a socket or nobody listens.
}
