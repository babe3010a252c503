package tcp

// SenderStats is a snapshot of the producer's end of one channel.
type SenderStats struct {
	ID ChannelID
	// Remote is the consumer TaskManager's address.
	Remote string
	// Credit is how many buffers the channel may send before it waits.
	Credit int
	// Backlog is the number of buffers waiting for credit in Send: 1 while
	// the channel is back-pressured, 0 otherwise (one producer goroutine
	// sends at a time).
	Backlog int
	// Granted is the credit received in total; Granted - Sent - Credit is
	// 0 except while a Send is writing.
	Granted int64
	// Sent is the number of buffers written, data and events; SentBytes
	// counts the bytes of the data buffers.
	Sent, SentBytes int64
	// Waits counts the Sends that found no credit: back-pressure.
	Waits int64
	// Failed says that the channel's connection failed or the consumer
	// rejected the channel.
	Failed bool
}

// ReceiverStats is a snapshot of the consumer's end of one channel.
//
// Capacity = Credit + Queued + Unannounced, once the buffers sent have
// arrived: every buffer of the channel's window is either still to come
// (Credit, which bounds the buffers in flight on the wire), queued in the
// gate (Queued), or polled with its credit not yet written back
// (Unannounced).
type ReceiverStats struct {
	ID ChannelID
	// Remote is the producer TaskManager's address; "" before it opened
	// the channel.
	Remote string
	// Capacity is the gate channel's capacity, the initial credit; 0 before
	// Register and after Close.
	Capacity int
	// Credit is the credit announced to the producer and not used yet: an
	// upper bound of the buffers in flight.
	Credit int
	// Queued is the number of buffers delivered to the gate and not polled.
	Queued int
	// Unannounced is the credit returned by polls and not yet written.
	Unannounced int
	// Received is the number of buffers that arrived, data and events;
	// ReceivedBytes counts the bytes of the data buffers.
	Received, ReceivedBytes int64
	// SegmentsInUse is the number of the channel's pooled segments handed
	// to the consumer and not recycled.
	SegmentsInUse int
	// Ended says that the end of partition arrived; Failed that the channel
	// failed before it.
	Ended, Failed bool
}
