// Package tcp carries the channels of the data plane between TaskManagers
// over TCP, with credit-based flow control (Flink's network stack).
//
// A producer TaskManager has one Client; a consumer TaskManager has one
// Server, listening on its data port. The Client keeps one connection per
// Server address, and every channel from this TaskManager to that one
// shares it: a channel is the records of one job-graph edge from one
// producing subtask to one consuming subtask, named by a ChannelID.
//
//	producer task                                   consumer task
//	RecordWriter ─► Sender ─┐                  ┌─► InputGate channel ─► RecordReader
//	RecordWriter ─► Sender ─┼─► one connection ┼─► InputGate channel ─► RecordReader
//	                        └── (Client) ◄─────┘    (Server)
//	                             credits
//
// The consumer registers each gate channel with its Server
// (Server.Register); the producer opens the channel with Client.Sender and
// gets a network.Sender, which RecordWriter uses like a LocalChannel. The
// consumer announces as many credits as the gate channel's capacity
// (Flink's exclusive buffers per channel) and one more each time its task
// polls a buffer of the channel out of the gate (a poll hook,
// network.InputGate.SetOnPoll). A Send takes one credit per buffer, data
// or event, and waits while there is none: back-pressure on exactly that
// channel. Unlike Flink, where events need no credit, every buffer takes
// one here, because every buffer takes a slot of the gate channel's queue.
//
// A channel's segments come from a pool of capacity+1 segments of the
// Server's segment size (the consumer may still hold the buffer it polled
// last when the next one arrives); a larger buffer, or one arriving while
// the consumer holds more than that, gets memory of its own. The
// connection's reader therefore never waits: not for memory, and not for
// room in the gate channel, which the credit promised.
//
// # Channel IDs
//
// A ChannelID is {Job, Edge, Producer, Consumer}. On a connection the
// producer numbers its channels 0, 1, 2, ... in the order it opens them;
// the open frame binds the number to the ID once, and every later frame
// names the channel by its number, one to three bytes, with no hashing and
// so no collisions. A ChannelID has at most one producer at a time: the
// Server rejects a second open of a bound ID.
//
// # Wire format
//
// Over TLS 1.3 when the cluster's internal TLS is enabled
// (security.ssl.internal.enabled): the Server's listener is a
// tls.NewListener with mutual authentication, the Client dials with
// DialTLS. The Server completes the TLS handshake of each connection, in
// that connection's reader goroutine and under its handshake deadline,
// before it reads the hello. Inside the TLS stream, or on plain TCP, the
// protocol is the same:
//
// Handshake, then frames, each way. The producer opens with
//
//	hello:    "RNLX" version(1 byte, now 1)
//
// and the consumer answers
//
//	welcome:  "RNLX" version(1 byte) uvarint(max buffer size)
//
// where the max buffer size is the largest data payload it accepts
// (ServerOptions.MaxBufferSize, DefaultMaxBufferSize = 16 MiB, at most
// MaxBufferSizeLimit = 1 GiB): a data buffer is a segment (32 KiB by
// default) or an oversized buffer holding one record larger than a
// segment, and a Send of a buffer over the maximum fails before it reaches
// the wire. A consumer of another version answers with its own version and
// closes; the producer reports ErrVersion.
//
// A frame is
//
//	type(1 byte) channel(uvarint) length(uvarint) payload(length bytes)
//
// with these types, their payloads and the bound on their length:
//
//	producer → consumer
//	1 open               uvarint(len(job)) job uvarint(edge) uvarint(producer) uvarint(consumer)   ≤ 296
//	2 data               the segment's bytes (network's record framing)                        ≤ max buffer size
//	3 end-of-partition   empty                                                                 0
//	4 end-of-data        empty                                                                 0
//	5 checkpoint-barrier varint(id) varint(timestamp) kind(1) flags(1: terminate|drain<<1|final<<2)
//	                     uvarint(len(targetDir)) targetDir                                     ≤ 4128
//	6 cancel-barrier     varint(checkpoint id)                                                 ≤ 10
//	consumer → producer
//	16 credit            uvarint(n), 1 ≤ n, total credit ≤ 2^20                                ≤ 10
//	17 reject            a message saying why the channel was refused                          ≤ 1024
//
// A channel number is below 2^16. Decoding rejects, with an error wrapping
// ErrProtocol, a type the direction does not carry, a length over its
// type's bound, a malformed payload, an open out of sequence, and a frame
// for a channel that was not opened, has ended or has no credit; the
// connection then fails. Payload memory grows no more than 64 KiB ahead of
// the bytes that arrived, so a frame announcing more than it sends costs no
// more than about twice what it sent.
//
// # Failure and lifecycle
//
// A broken connection fails every channel on it that has not ended: each
// Send on the producer side returns an error naming the consumer's address
// ("tcp: connection to host:port: ..."), and each Receiver on the consumer
// side reports one naming the producer's ("tcp: connection from
// host:port: ..."). A later Client.Sender dials a new connection.
// Server.Run and Client.Close return only once every goroutine they own
// has stopped: per connection, the Server runs a reader and a credit
// writer, and the Client a reader of credits.
//
// # Invariants
//
//  1. Credit is never negative. A Sender takes a credit only when it has
//     one; the Server counts the credit it announced and fails the
//     connection with ErrProtocol on a buffer beyond it, so a gate channel
//     never holds more than its capacity (TestFrameWithoutCreditFailsChannel,
//     TestClientRejectsGarbage for credit the producer cannot use).
//  2. No frame goes to a channel without credit. A channel whose consumer
//     stops polling gets exactly its capacity of buffers, then its Send
//     waits (TestBackPressureIsolation); on every poll, the buffers sent
//     and not yet polled are at most the capacity
//     (TestRecordsAndEventsInOrder).
//  3. Per-channel order is preserved: records, watermarks, barriers, cancel
//     barriers, end of data and end of partition reach the consumer in the
//     order they were sent (TestRecordsAndEventsInOrder).
//  4. Back-pressure is per channel: the connection's reader never waits, so
//     a channel whose consumer stops polling does not slow the others on
//     the same connection (TestBackPressureIsolation).
//  5. Memory is bounded by credit: buffers in flight ≤ the credit
//     announced; a channel's consumer side holds at most its capacity of
//     queued buffers, and its producer the one buffer its Send waits with
//     (TestBackPressureIsolation).
//  6. A broken or closed connection fails every open channel on both
//     sides, naming the remote address (TestConnectionCutFailsBothSides,
//     TestServerStopFailsSenders).
//  7. Garbage is rejected with an error, never a panic, never an allocation
//     beyond the bounds above (FuzzReadFrame, FuzzHandshake,
//     TestServerRejectsGarbage, TestClientRejectsGarbage).
//  8. Every blocking call returns when its context is done; a failed Send
//     leaves the buffer to its caller (TestSendHonoursContext).
//  9. No goroutine outlives its owner: after Server.Run and Client.Close
//     return, none of the package's goroutines runs (every test's clean-up
//     checks it).
//  10. With TLS (a Server on a tls.NewListener of security.Internal.Server,
//     a Client dialling with DialTLS), a connection's TLS handshake, and
//     the check that the peer's certificate chains to the trust, complete
//     before any byte of the protocol is read, in the connection's own
//     goroutine and within ServerOptions.HandshakeTimeout: a plain TCP
//     peer, a TLS peer without a certificate or with one of another CA
//     is dropped without a frame read, opens no channel, and holds up no
//     other connection (TestDataPortRefusesStrangers,
//     FuzzDataTLSHandshake); a client refuses a server of another CA
//     (TestDialTLSRefusesForeignServer).
package tcp
