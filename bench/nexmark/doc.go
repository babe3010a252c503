// Package nexmark generates the Nexmark benchmark's event stream: people
// registering with an auction site, opening auctions and bidding on them.
// It is the generator of the nexmark/nexmark Flink suite (a port of Apache
// Beam's NexmarkGenerator), rewritten for runnel so that its events are
// reproducible under any parallelism and cost next to no allocation.
//
//	gens, err := nexmark.Split(nexmark.GeneratorConfig{Events: 100_000_000}, parallelism)
//	…
//	for e, ok := gens[i].Next(); ok; e, ok = gens[i].Next() {
//		emit(e, nexmark.EventTimestamp(e))
//	}
//
// A source subtask uses NewGenerator(cfg, subtask, parallelism), keeps
// Position in its checkpoint and calls Restore on recovery, as Source, the
// replayable stream source of the generator, does; Watermark is a valid
// watermark at any point. WriteJSON and ReadJSON store events as JSON
// lines with the field names of the Nexmark SQL suite; EventCodec is a
// compact codec for exchanges and state.
//
// # What is generated
//
// Events are numbered from 0 in emission order. Event number n has an id:
// n itself, or with OutOfOrderGroupSize g > 1 the shuffle g·⌊n/g⌋ +
// (953·n mod g) within its group of g. The id decides everything else:
//
//   - The kind: of each cycle of PersonProportion+AuctionProportion+
//     BidProportion ids (1+3+46 = 50 by default), the first ones are
//     persons, then auctions, then bids.
//   - The time: BaseTime + ⌊id·interEventDelayUs⌋/1000 ms, where
//     interEventDelayUs = 1e6/EventsPerSecond (100 µs by default). Event
//     time is simulated; how fast Next runs is another matter.
//   - The random draws: a java.util.Random seeded with the id (reproduced
//     bit for bit by this package), as in Beam.
//   - Person and auction ids count up from FirstPersonID and FirstAuctionID
//     (1000), one per person or auction, computed from the id alone.
//   - A person has a name from 11 first and 9 last names, a random e-mail
//     address and credit card number, one of 10 cities and 6 states.
//   - An auction has a random item name and description, an initial bid
//     and a reserve above it (prices are 100·10^u cents for u uniform in
//     [0, 6)), one of 5 categories from FirstCategoryID (10), a seller and
//     an expiry: uniform within twice the time it takes to open
//     NumInFlightAuctions (100) more auctions.
//   - The seller is, with probability 1-1/HotSellersRatio (3/4), the hot
//     seller: the first of the current batch of 100 people; otherwise one
//     of the last NumActivePeople (1000) people or of the 10 to come.
//   - A bid is, with probability 1-1/HotAuctionRatio (1/2), for the hot
//     auction, the first of the current batch of 100 auctions; otherwise
//     for one of the last NumInFlightAuctions auctions or of the 10 to
//     come. Its bidder is, with probability 1-1/HotBiddersRatio (3/4), the
//     hot bidder (the second of the current batch of 100 people), otherwise
//     chosen as a seller is. Half the bids come through one of 4 hot
//     channels (Google, Facebook, Baidu, Apple), the others through one of
//     10,000 channels "channel-N", each with its URL.
//   - Every event is padded with an Extra string so that its size in
//     Nexmark's accounting (8 bytes per counted number plus the lengths of
//     the strings; a bid's channel and URL, added after the accounting, are
//     not counted) averages AvgPersonByteSize, AvgAuctionByteSize and
//     AvgBidByteSize (200, 500 and 100 bytes), uniform within ±20% of the
//     remainder. Its characters run from 'H' to 'z', as Java's remainders of
//     negative numbers make them.
//
// # Where this differs from the reference, and why
//
//   - Seeding. nexmark-flink draws every event from one unseeded Random, so
//     no two runs see the same events. Here, as in Beam, each event draws
//     from a Random seeded with its id: the stream is a function of the
//     config, which is what makes splitting and replay exact.
//   - Splitting. Beam and nexmark-flink split a stream of M events n ways
//     into contiguous ranges of ids, each on its own timeline that starts at
//     the base time (the per-generator delay is multiplied by n): the
//     parallel stream is not the serial one, and ids and times disagree
//     across subtasks. Here share i of n takes event numbers i, i+n, i+2n,
//     … of the one serial stream: the union of the shares is that stream,
//     and all shares advance through event time together, so per-subtask
//     watermarks stay aligned. An auction's expiry is computed from the
//     global event number, which is what the reference computes with one
//     generator.
//   - Bidders. nexmark-flink's BidGenerator (as of the version read) adds
//     FirstPersonID to the bidder twice, so no bidder is a person who
//     exists; here it is added once, as Beam does.
//   - Channel URLs. nexmark-flink draws the URLs of the hot channels and of
//     the 10,000 others from unseeded randoms once per process (so they
//     differ between runs and between TaskManagers); here they come from
//     fixed seeds. Which channel a bid uses is drawn from the event's random,
//     as there.
//   - Not implemented: rate shapes (nextEventRate, ratePeriodSec;
//     nexmark-flink ignores them too), Beam's deliberately delayed events
//     (probDelayedEvent, occasionalDelaySec), wall-clock pacing (the job of
//     the source that runs a Generator), the extended bid mode, and
//     firstEventId offsets. The default base time is Beam's fixed
//     2015-07-15, not nexmark-flink's current time. EventsPerSecond is the
//     rate of the whole stream, not of one generator.
//   - OutOfOrderGroupSize may not be a multiple of 953: the reference's
//     shuffle then maps a whole group to one id and repeats events.
//   - SharedExtra (off by default) cuts the padding from one fixed string:
//     same lengths and character distribution, no per-event memory, about
//     half the cost of an event.
//   - Prices use Go's math.Pow where Java uses Math.pow; they could round
//     differently if 100·10^u fell within an ulp of a half, which did not
//     happen in the first 1,000,000 events.
//
// # Invariants
//
// Each is proved by the test named.
//
//  1. The events are those of the reference algorithm with the choices
//     above, byte for byte: the first 1,000,000 events of the default
//     config, and 20,000 with OutOfOrderGroupSize 7, hash to the output of
//     a Java transcription of the reference run on OpenJDK 17, whose first
//     100 lines are testdata/oracle_head.txt (TestMatchesJavaOracle,
//     TestJavaRandom for java.util.Random itself).
//  2. Event number n is a pure function of the config and n: equal configs
//     give equal streams, and the JSON of the first 10,000 events of the
//     default config has a fixed hash (TestDeterminism,
//     TestGoldenJSONHash). Seed changes the content, not the kinds and
//     times.
//  3. Share i of n returns the events numbered i, i+n, … of the single
//     stream, identical to them, so the union of the shares of 1, 2, 4 or 7
//     generators is the single stream (TestSplitUnion).
//  4. After Restore(p), a generator returns what it returned, or would
//     have, after its first p events (TestRestore).
//  5. Each cycle of ids is persons, auctions and bids in the configured
//     proportions, exactly (TestProportions).
//  6. Average sizes in Nexmark's accounting are within 1% of the configured
//     ones over 200,000 events (the test allows 15%) (TestAverageSizes).
//  7. With OutOfOrderGroupSize 1 timestamps never decrease and Watermark is
//     the next event's timestamp; with any group size Watermark never
//     exceeds a timestamp still to come in that share (TestTimestamps).
//  8. The hot auction, bidder and seller get tens of times their uniform
//     share (TestHotSkew).
//  9. Person and auction ids count up by one; sellers and bidders are
//     people who exist or are at most 10 ahead; bids are for one of the
//     last NumInFlightAuctions auctions or at most 10 ahead, over 90% for
//     auctions already opened; an event has only the entity of its kind
//     (TestReferences).
//  10. Next allocates under 0.01 times per event: strings and entities come
//     from blocks (TestNextAllocs), and what it returned never changes
//     (TestArenaStrings).
//  11. ReadJSON returns what WriteJSON wrote, and encoding/json reads the
//     same events from it (TestJSONRoundTrip, TestJSONMatchesEncodingJSON).
//  12. EventCodec decodes what it encodes (TestEventCodec).
//  13. SharedExtra changes only the characters of Extra (TestSharedExtra).
//  14. Source is replayable: a job restored from a checkpoint or a
//     savepoint, at any parallelism, emits exactly the events that followed
//     it, and each share's events in order, also in a subtask that holds
//     several (TestSourceReaderShares, TestSourceRescaledFromSavepoint); a
//     query that fails midway and recovers gives exactly the reference's
//     results (TestCheckpointedRunIsExactlyOnce).
package nexmark
