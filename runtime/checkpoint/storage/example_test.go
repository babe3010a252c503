package storage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
)

// A checkpoint from begin to restore: the job master begins it, a task
// writes its state, the job master commits the metadata, and a restore
// after a crash finds it again.
func Example() {
	base, err := os.MkdirTemp("", "checkpoints")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)
	s, err := storage.Open("file://"+base, "")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	loc, err := s.Begin(ctx, "job1", 1, checkpoint.Options{Kind: checkpoint.KindCheckpoint})
	if err != nil {
		log.Fatal(err)
	}
	h, err := loc.WriteState(ctx, "op-a-0-operator", []byte("offset=42"))
	if err != nil {
		log.Fatal(err)
	}
	md := &checkpoint.Metadata{
		JobID: "job1", CheckpointID: 1, Kind: checkpoint.KindCheckpoint,
		Operators: []checkpoint.OperatorState{{
			ID: "a", Name: "Source: numbers", Parallelism: 1, MaxParallelism: 128,
			Subtasks: []checkpoint.SubtaskState{{Operator: h}},
		}},
	}
	if err := loc.Commit(ctx, md); err != nil {
		log.Fatal(err)
	}

	latest, where, ok, err := s.LatestCheckpoint(ctx, "job1")
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	b, err := s.ReadState(ctx, where, latest.Operators[0].Subtasks[0].Operator)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(latest.CheckpointID, strings.TrimPrefix(where, "file://"+base), h.Path, string(b))
	// Output: 1 /job1/chk-1 op-a-0-operator offset=42
}
