// Package network moves serialized records between tasks.
//
// A producing subtask writes records of one output edge through a
// RecordWriter, which serializes them with the edge's codec into pooled
// Segments (32 KiB by default), one open segment per consumer channel, and
// hands full segments to a Sender per channel. A consuming subtask reads from
// one InputGate that unites all of its input channels, and a RecordReader per
// channel turns segments back into typed records.
//
// Watermarks and watermark statuses are written into the data segments
// between the records. Events that a consumer must act on per channel (end
// of partition now, checkpoint barriers later) travel as Buffers without a
// segment, in the same ordered channel: a channel never reorders a record
// and an event.
//
// The in-process exchange (LocalChannel) and the TCP exchange implement the
// same Sender and feed the same InputGate, so the tasks do not know which one
// they use.
//
// Invariants:
//
//  1. Order: the buffers a Sender accepts reach the gate's consumer in the
//     order they were sent (TestChannelOrder).
//  2. Bounded memory: a channel queues at most its capacity of buffers, and a
//     Pool hands out at most its limit of segments; a producer whose consumer
//     does not keep up blocks in Send or Pool.Get (back-pressure) instead of
//     queueing more (TestBackPressureBlocksProducer).
//  3. Fairness: a gate serves its channels round-robin, so one busy channel
//     cannot starve another (TestGateRoundRobin).
//  4. Liveness under cancellation: every blocking call returns when its
//     context is done (TestSendHonoursContext).
//
// Framing of a data segment: a sequence of entries, each starting with a
// uvarint header whose low two bits are a tag:
//
//	record:              uvarint(len(payload)<<2 | 0)  payload
//	record with time:    uvarint(len(payload)<<2 | 1)  varint(timestamp)  payload
//	watermark:           uvarint(2)                    varint(watermark)
//	watermark status:    uvarint(idle<<2 | 3)
//
// where payload is what the edge's codec appended.
package network
