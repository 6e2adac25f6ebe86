/** uds: SOCK_SEQPACKET Unix sockets on the event loop, with fd passing (SCM_RIGHTS) and peer credentials. */
export {
  SeqpacketServer,
  SeqpacketConn,
  connectSeqpacket,
  sockaddrUn,
  MAX_FDS_PER_MESSAGE,
  type PeerCred,
  type ListenOptions,
  type ConnOptions,
} from "./seqpacket.js";
