# netstack.capnp — socket endpoints between the sentry (client) and the netstack process
# (server), one connection per sandbox.
#
# Model: a guest socket on a netstack-served family (AF_INET, AF_INET6) is an `Endpoint`
# capability; the sentry's socket file description holds it and releases it on the last close
# (rpc Release), which is close(2) for the netstack: FIN or RST per SO_LINGER, ports freed.
# There is no close method for the same reasons as gofer.capnp's File.
#
# Nothing blocks in the netstack: every Endpoint method answers at once, with EAGAIN (accept,
# recvMsg, sendMsg on a full buffer) or EINPROGRESS (connect) where the Linux call would block.
# Blocking, timeouts (SO_RCVTIMEO/SO_SNDTIMEO), signals and MSG_WAITALL are the sentry's: it parks
# the task on a wait queue and retries when the endpoint's Notifier reports readiness. So one
# slow socket never holds an RPC answer open, and a signal interrupts a blocked recv without
# telling the netstack.
#
# Readiness flows back over the same connection: the sentry passes a `Notifier` capability (that
# it serves) to Endpoint.setNotifier and the netstack calls it — the only direction of calls from
# netstack to sentry.
#
# Addresses are the `SockAddr` struct, not raw sockaddr bytes: the sentry copies the guest's
# sockaddr and validates it once (it has the abi layouts and handles AF_UNIX/AF_NETLINK itself),
# the netstack never parses guest-controlled variable-layout bytes, and the port is a plain
# host-order integer so no side can get the byte order wrong.

@0xafc3ffe2495db8d7;

struct SockAddr {
  # struct sockaddr_in / sockaddr_in6, decoded. A null SockAddr where one is optional means
  # "none"; family AF_UNSPEC (0) is connect(2)'s "dissolve the association".
  family @0 :UInt16;     # AF_INET (2) or AF_INET6 (10) (AF_UNSPEC only for connect)
  port @1 :UInt16;       # host byte order (sin_port / sin6_port converted with ntohs)
  addr @2 :Data;         # 4 bytes (AF_INET) or 16 bytes (AF_INET6), network order
  flowInfo @3 :UInt32;   # sin6_flowinfo (AF_INET6 only)
  scopeId @4 :UInt32;    # sin6_scope_id (AF_INET6 only)
}

struct NetInterface {
  # One network interface (RTM_NEWLINK, SIOCGIFCONF/SIOCGIFFLAGS, /proc/net/dev).
  index @0 :Int32;       # ifindex (1 = loopback)
  name @1 :Text;         # "lo", "eth0"
  flags @2 :UInt32;      # IFF_UP | IFF_RUNNING | IFF_LOOPBACK | ...
  mtu @3 :UInt32;
  hwType @4 :UInt16;     # ARPHRD_ETHER, ARPHRD_LOOPBACK, ...
  hwAddr @5 :Data;       # link-layer address (6 bytes for Ethernet, empty for loopback)
  rxBytes @6 :UInt64;
  rxPackets @7 :UInt64;
  rxErrors @8 :UInt64;
  rxDropped @9 :UInt64;
  txBytes @10 :UInt64;
  txPackets @11 :UInt64;
  txErrors @12 :UInt64;
  txDropped @13 :UInt64;
}

struct InterfaceAddr {
  # One address assigned to an interface (RTM_NEWADDR, SIOCGIFADDR, /proc/net/if_inet6).
  ifIndex @0 :Int32;
  family @1 :UInt16;     # AF_INET or AF_INET6
  prefixLen @2 :UInt8;
  addr @3 :Data;         # 4 or 16 bytes
  flags @4 :UInt32;      # IFA_F_* (e.g. IFA_F_PERMANENT)
  scope @5 :UInt8;       # RT_SCOPE_* (host, link, universe)
}

struct Route {
  # One routing table entry (RTM_NEWROUTE, /proc/net/route, /proc/net/ipv6_route).
  family @0 :UInt16;     # AF_INET or AF_INET6
  dst @1 :Data;          # destination network, 4 or 16 bytes
  dstPrefixLen @2 :UInt8;
  gateway @3 :Data;      # empty when directly connected
  ifIndex @4 :Int32;
  metric @5 :UInt32;
  table @6 :UInt32;      # RT_TABLE_MAIN (254), RT_TABLE_LOCAL (255)
}

interface Stack {
  # Bootstrap capability of a netstack connection.

  socket @0 (family :UInt16, type :UInt32, protocol :UInt32)
      -> (errno :UInt16, endpoint :Endpoint);
  # socket(2): family AF_INET/AF_INET6; type SOCK_STREAM, SOCK_DGRAM or SOCK_RAW without
  # SOCK_NONBLOCK/SOCK_CLOEXEC (file description flags are the sentry's); protocol 0 or
  # IPPROTO_TCP/UDP/ICMP/ICMPV6. EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPERM (raw).

  interfaces @1 () -> (interfaces :List(NetInterface));
  # The interface list, sorted by index (getifaddrs(3)'s AF_PACKET half, SIOCGIFCONF).

  addresses @2 () -> (addresses :List(InterfaceAddr));
  # Every assigned address (getifaddrs(3)'s AF_INET/AF_INET6 half).

  routes @3 () -> (routes :List(Route));
  # The routing tables (ip route / netlink RTM_GETROUTE dump).
}

interface Endpoint {
  # One socket in the netstack. All methods are non-blocking (see the file comment).

  bind @0 (addr :SockAddr) -> (errno :UInt16);
  # bind(2). Port 0 picks an ephemeral port (read it back with getSockName).

  listen @1 (backlog :Int32) -> (errno :UInt16);
  # listen(2).

  accept @2 () -> (errno :UInt16, endpoint :Endpoint, peer :SockAddr);
  # accept4(2) without flags: a new Endpoint for the oldest completed connection and the peer's
  # address. EAGAIN if none is queued (wait for EPOLLIN).

  connect @3 (addr :SockAddr) -> (errno :UInt16);
  # connect(2). A stream connect answers EINPROGRESS and completes later: EPOLLOUT (or EPOLLERR)
  # is notified and getSockOpt(SOL_SOCKET, SO_ERROR) gives the result. A datagram connect sets the
  # default peer (AF_UNSPEC clears it) and answers at once.

  sendMsg @4 (data :Data, addr :SockAddr, flags :UInt32) -> (errno :UInt16, n :UInt32);
  # sendmsg(2) of one buffer (the sentry gathers the iovecs). `addr` null means the connected
  # peer. flags: MSG_DONTROUTE, MSG_EOR, MSG_MORE, MSG_NOSIGNAL, MSG_OOB, MSG_CONFIRM
  # (MSG_DONTWAIT is implied). `n` bytes were accepted (a stream may take fewer than offered);
  # EAGAIN if none fit (wait for EPOLLOUT). EPIPE does not raise SIGPIPE: the sentry does, unless
  # MSG_NOSIGNAL.

  recvMsg @5 (maxBytes :UInt32, flags :UInt32)
      -> (errno :UInt16, data :Data, n :UInt32, addr :SockAddr, msgFlags :UInt32);
  # recvmsg(2) of at most maxBytes. flags: MSG_PEEK, MSG_TRUNC, MSG_OOB, MSG_ERRQUEUE
  # (MSG_DONTWAIT is implied; MSG_WAITALL is done by the sentry looping). `n` is recvmsg's
  # return value: data.length, or a datagram's full length when flags has MSG_TRUNC. `addr` is
  # the sender (datagram sockets; null for streams). msgFlags is msghdr.msg_flags (MSG_TRUNC,
  # MSG_EOR, MSG_OOB, MSG_ERRQUEUE). EAGAIN if nothing is queued; errno 0 with n 0 on a stream is
  # end of file. Ancillary data (cmsg) is not carried yet.

  shutdown @6 (how :UInt32) -> (errno :UInt16);
  # shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR.

  getSockOpt @7 (level :Int32, name :Int32, maxLen :UInt32) -> (errno :UInt16, value :Data);
  # getsockopt(2): the option value as the bytes Linux would copy out (int options are 4
  # little-endian bytes; struct options their Linux layout), at most maxLen bytes.

  setSockOpt @8 (level :Int32, name :Int32, value :Data) -> (errno :UInt16);
  # setsockopt(2), value as the guest passed it. ENOPROTOOPT for options the netstack lacks.

  getSockName @9 () -> (errno :UInt16, addr :SockAddr);
  # getsockname(2).

  getPeerName @10 () -> (errno :UInt16, addr :SockAddr);
  # getpeername(2). ENOTCONN if unconnected.

  ioctl @11 (request :UInt32) -> (errno :UInt16, value :Int32);
  # ioctl(2) for the int-valued socket requests: FIONREAD/SIOCINQ (bytes readable), SIOCOUTQ
  # (bytes unsent), SIOCATMARK. ENOTTY for any other request (interface ioctls are answered by
  # the sentry from Stack.interfaces/addresses).

  readiness @12 (mask :UInt32) -> (events :UInt32);
  # poll(2) of this endpoint: the EPOLL* bits of `mask` that are ready now (EPOLLIN, EPOLLPRI,
  # EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP; EPOLLERR and EPOLLHUP are always reported).

  setNotifier @13 (notifier :Notifier, mask :UInt32) -> (events :UInt32);
  # Registers `notifier` (replacing any earlier one; null unregisters) for the EPOLL* bits in
  # `mask` and returns the current readiness, so the sentry cannot miss an event between a
  # failed EAGAIN and its registration. From then on the netstack calls notifier.notify(events)
  # with the current readiness whenever something that could wake a waiter on `mask` happens
  # (data arrives even if already readable, buffer space frees, state changes, an error is
  # queued). At most one notify per endpoint is in flight: the netstack waits for its return and
  # coalesces changes meanwhile into the next one, so a slow sentry bounds the callback traffic.
}

interface Notifier {
  # Readiness callback served by the sentry (one per socket file description, usually).
  notify @0 (events :UInt32) -> ();
  # The endpoint's current EPOLL* readiness (see Endpoint.setNotifier). Like a wake_up() of the
  # socket's wait queue: the sentry wakes pollers, epoll instances and blocked tasks.
}
