// TUN/TAP devices and packet-at-a-time I/O, for the netstack's TAP link.
//
// tunOpen opens /dev/net/tun and attaches it to a device with TUNSETIFF (creating the device if
// it does not exist, which needs CAP_NET_ADMIN); tunGetFlags and tunSetOffload are TUNGETIFF and
// TUNSETOFFLOAD (IFF_VNET_HDR devices: partial checksums and large TCP segments). readPackets/writePackets move whole packets on
// any packet-oriented descriptor (a TAP or TUN fd, a SOCK_DGRAM or SOCK_SEQPACKET socket): one
// read(2) or write(2) per packet, several packets per call so a busy link costs one N-API
// crossing per batch rather than per frame. Like socket.cc, nothing blocks here: "would block"
// ends a batch, EINTR is retried, every other failure throws a SystemError.
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>

#include "args.h"
#include "errors.h"
#include "modules.h"

namespace runsc {

namespace {

// tunOpen(name, flags) -> [fd, name]. `flags` is IFF_TAP or IFF_TUN, optionally or'ed with
// IFF_NO_PI, IFF_VNET_HDR... (the caller's choice; the TAP link uses IFF_TAP | IFF_NO_PI).
// `name` may be empty (the kernel picks "tapN") or a printf pattern like "tap%d". The
// descriptor is non-blocking and close-on-exec; the returned name is the device's real name.
Napi::Value TunOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) {
    ThrowTypeError(env, "The \"name\" argument must be of type string");
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) {
    ThrowRangeError(env, "The \"name\" argument must be under " + std::to_string(IFNAMSIZ) +
                             " bytes without NUL");
    return env.Undefined();
  }
  int flags;
  if (!GetInt(env, info[1], "flags", -1, 0, 0xffff, &flags)) return env.Undefined();
  if ((flags & (IFF_TUN | IFF_TAP)) == 0 || (flags & (IFF_TUN | IFF_TAP)) == (IFF_TUN | IFF_TAP)) {
    ThrowRangeError(env, "The \"flags\" argument must hold exactly one of IFF_TUN and IFF_TAP");
    return env.Undefined();
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    ThrowSystemError(env, errno, "open", "/dev/net/tun");
    return env.Undefined();
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = static_cast<short>(flags);
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    ThrowSystemError(env, err, "ioctl", "TUNSETIFF");
    return env.Undefined();
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, fd));
  result.Set(1u, Napi::String::New(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ)));
  return result;
}

// tunGetFlags(fd) -> the device's IFF_* flags (TUNGETIFF): IFF_TAP, IFF_NO_PI, IFF_VNET_HDR...
// of a descriptor someone else opened (the netstack's --tap-fd).
Napi::Value TunGetFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) != 0) {
    ThrowSystemError(env, errno, "ioctl", "TUNGETIFF");
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<unsigned short>(ifr.ifr_flags));
}

// tunSetOffload(fd, flags): TUNSETOFFLOAD with TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6: what the
// reader of this descriptor accepts (partial checksums, large TCP segments). Needs IFF_VNET_HDR.
Napi::Value TunSetOffload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, flags;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (!GetInt(env, info[1], "flags", -1, 0, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, &flags)) {
    return env.Undefined();
  }
  if (ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned int>(flags)) != 0) {
    ThrowSystemError(env, errno, "ioctl", "TUNSETOFFLOAD");
  }
  return env.Undefined();
}

// readPackets(fd, buf, stride, lengths) -> packets read.
//
// Reads up to lengths.length packets; packet i lands at buf[i * stride] (at most `stride`
// bytes; a longer packet is truncated by the kernel, so the stride should exceed the MTU plus
// link header) and its length goes to lengths[i]. Stops early when the descriptor would block.
// Returns 0 when nothing was waiting. A read of 0 bytes (end of file) ends the batch too and is
// reported as a packet of length 0 only if it is the first, so the caller can tell EOF apart.
Napi::Value ReadPackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd, stride;
  void* data = nullptr;
  size_t length = 0;
  if (!GetFdArg(info, 0, "fd", &fd)) return env.Undefined();
  if (!GetUint8Array(env, info[1], &data, &length)) {
    ThrowTypeError(env, "The \"buf\" argument must be a Uint8Array");
    return env.Undefined();
  }
  if (!GetInt(env, info[2], "stride", -1, 1, INT_MAX, &stride)) return env.Undefined();
  if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowTypeError(env, "The \"lengths\" argument must be an Int32Array");
    return env.Undefined();
  }
  Napi::Int32Array lengths = info[3].As<Napi::Int32Array>();
  size_t slots = lengths.ElementLength();
  if (slots == 0 || length / static_cast<size_t>(stride) < slots) {
    ThrowRangeError(env, "The \"buf\" argument must hold lengths.length (> 0) packets of stride bytes");
    return env.Undefined();
  }
  int32_t* out = lengths.Data();
  char* base = static_cast<char*>(data);
  size_t n = 0;
  while (n < slots) {
    ssize_t got;
    do {
      got = read(fd, base + n * static_cast<size_t>(stride), static_cast<size_t>(stride));
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n > 0) break;  // report what arrived; the error repeats on the next call
      ThrowSystemError(env, errno, "read");
      return env.Undefined();
    }
    if (got == 0) {
      if (n == 0) {
        out[0] = 0;
        n = 1;
      }
      break;
    }
    out[n++] = static_cast<int32_t>(got);
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// writePackets(fd, packets[, prefix]) -> packets written. One write(2) per packet, in order (a
// writev of `prefix` then the packet when a prefix is given: a TAP's virtio_net_hdr, without
// copying the packet); stops at the first that would block. An error on the first packet
// throws; on a later one the count so far is returned (the error repeats on the next call).
Napi::Value WritePackets(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  Napi::Array packets;
  if (!GetFdArg(info, 0, "fd", &fd) || !GetArrayArg(info, 1, "packets", &packets)) {
    return env.Undefined();
  }
  struct iovec iov[2];
  int niov = 1;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    if (!GetUint8Array(env, info[2], &iov[0].iov_base, &iov[0].iov_len)) {
      ThrowTypeError(env, "The \"prefix\" argument must be a Uint8Array");
      return env.Undefined();
    }
    niov = 2;
  }
  uint32_t count = packets.Length();
  uint32_t n = 0;
  for (; n < count; n++) {
    napi_value packet;
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_element(env, packets, n, &packet) != napi_ok ||
        !GetUint8Array(env, packet, &data, &length)) {
      if (env.IsExceptionPending()) return env.Undefined();
      ThrowTypeError(env, "The \"packets[" + std::to_string(n) + "]\" argument must be a Uint8Array");
      return env.Undefined();
    }
    iov[niov - 1].iov_base = data;
    iov[niov - 1].iov_len = length;
    ssize_t sent;
    do {
      sent = writev(fd, iov, niov);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (n > 0) break;
      ThrowSystemError(env, errno, "write");
      return env.Undefined();
    }
  }
  return Napi::Number::New(env, n);
}

}  // namespace

void InitTun(Napi::Env env, Napi::Object exports) {
  exports.Set("tunOpen", Napi::Function::New(env, TunOpen, "tunOpen"));
  exports.Set("tunGetFlags", Napi::Function::New(env, TunGetFlags, "tunGetFlags"));
  exports.Set("tunSetOffload", Napi::Function::New(env, TunSetOffload, "tunSetOffload"));
  exports.Set("readPackets", Napi::Function::New(env, ReadPackets, "readPackets"));
  exports.Set("writePackets", Napi::Function::New(env, WritePackets, "writePackets"));
  Napi::Object constants = Constants(env, exports);
  constants.Set("IFF_TUN", Napi::Number::New(env, IFF_TUN));
  constants.Set("IFF_TAP", Napi::Number::New(env, IFF_TAP));
  constants.Set("IFF_NO_PI", Napi::Number::New(env, IFF_NO_PI));
  constants.Set("IFF_VNET_HDR", Napi::Number::New(env, IFF_VNET_HDR));
  constants.Set("TUN_F_CSUM", Napi::Number::New(env, TUN_F_CSUM));
  constants.Set("TUN_F_TSO4", Napi::Number::New(env, TUN_F_TSO4));
  constants.Set("TUN_F_TSO6", Napi::Number::New(env, TUN_F_TSO6));
}

}  // namespace runsc
