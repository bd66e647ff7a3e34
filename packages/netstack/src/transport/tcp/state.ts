/**
 * TCP connection states (RFC 9293 §3.3.2):
 *
 *                              +---------+ ---------\      active OPEN
 *                              |  CLOSED |            \    -----------
 *                              +---------+<---------\   \   create TCB
 *                                |     ^              \   \  snd SYN
 *                   passive OPEN |     |   CLOSE        \   \
 *                   ------------ |     | ----------       \   \
 *                    create TCB  |     | delete TCB         \   \
 *                                V     |                      \   \
 *          rcv RST (note 1)  +---------+            CLOSE    |    \
 *       -------------------->|  LISTEN |          ---------- |     |
 *      /                     +---------+          delete TCB |     |
 *     /           rcv SYN      |     |     SEND              |     |
 *    /           -----------   |     |    -------            |     V
 * +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
 * |        |<-----------------           ------------------>|        |
 * |  SYN   |                    rcv SYN                     |  SYN   |
 * |  RCVD  |<-----------------------------------------------|  SENT  |
 * |        |                  snd SYN,ACK                   |        |
 * |        |------------------           -------------------|        |
 * +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
 *    |         --------------   |     |   -----------
 *    |                x         |     |     snd ACK
 *    |                          V     V
 *    |  CLOSE                 +---------+
 *    | -------                |  ESTAB  |
 *    | snd FIN                +---------+
 *    |                 CLOSE    |     |    rcv FIN
 *    V                -------   |     |    -------
 * +---------+         snd FIN  /       \   snd ACK         +---------+
 * |  FIN    |<----------------          ------------------>|  CLOSE  |
 * | WAIT-1  |------------------                            |   WAIT  |
 * +---------+          rcv FIN  \                          +---------+
 *   | rcv ACK of FIN   -------   |                          CLOSE  |
 *   | --------------   snd ACK   |                         ------- |
 *   V        x                   V                         snd FIN V
 * +---------+               +---------+                    +---------+
 * |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
 * +---------+               +---------+                    +---------+
 *   |              rcv ACK of FIN |                 rcv ACK of FIN |
 *   |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
 *   |  -------            x       V    ------------        x       V
 *    \ snd ACK              +---------+delete TCB          +---------+
 *      -------------------->|TIME-WAIT|------------------->| CLOSED  |
 *                           +---------+                    +---------+
 */
export const TcpState = {
  Closed: "CLOSED",
  Listen: "LISTEN",
  SynSent: "SYN-SENT",
  SynReceived: "SYN-RECEIVED",
  Established: "ESTABLISHED",
  FinWait1: "FIN-WAIT-1",
  FinWait2: "FIN-WAIT-2",
  CloseWait: "CLOSE-WAIT",
  Closing: "CLOSING",
  LastAck: "LAST-ACK",
  TimeWait: "TIME-WAIT",
} as const;

export type TcpState = (typeof TcpState)[keyof typeof TcpState];

/** States in which sequence numbers on both sides are known (RFC 9293 §3.3.2). */
export function isSynchronized(s: TcpState): boolean {
  return s !== TcpState.Closed && s !== TcpState.Listen && s !== TcpState.SynSent;
}

/** States in which the application may still queue data to send. */
export function canQueueData(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.CloseWait;
}

/** States in which segment text from the peer is accepted (RFC 9293 §3.10.7.4, seventh). */
export function acceptsData(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2;
}

/** States in which the sender may (re)transmit data or our FIN. */
export function canTransmit(s: TcpState): boolean {
  return s === TcpState.Established || s === TcpState.CloseWait || s === TcpState.FinWait1 || s === TcpState.Closing || s === TcpState.LastAck;
}
