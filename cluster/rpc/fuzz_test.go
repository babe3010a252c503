package rpc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echo registers a handler for method that answers the decoded request.
func echo[Req any](s *Server, method string) {
	Handle(s, method, func(_ context.Context, r *Req) (*Req, error) { return r, nil })
}

// fuzzServer serves every method of the control plane with echo handlers.
func fuzzServer() (*Server, []string) {
	s := NewServer(nil)
	methods := map[string]func(){
		MethodRegisterTaskManager:    func() { echo[RegisterTaskManager](s, MethodRegisterTaskManager) },
		MethodHeartbeat:              func() { echo[Heartbeat](s, MethodHeartbeat) },
		MethodRegisterJobMaster:      func() { echo[RegisterJobMaster](s, MethodRegisterJobMaster) },
		MethodJobStatus:              func() { echo[JobStatus](s, MethodJobStatus) },
		MethodRequestSlots:           func() { echo[RequestSlots](s, MethodRequestSlots) },
		MethodReleaseSlots:           func() { echo[ReleaseSlots](s, MethodReleaseSlots) },
		MethodTaskManagerUnreachable: func() { echo[TaskManagerUnreachable](s, MethodTaskManagerUnreachable) },
		MethodSlotsAllocated:         func() { echo[SlotsAllocated](s, MethodSlotsAllocated) },
		MethodSlotsLost:              func() { echo[SlotsLost](s, MethodSlotsLost) },
		MethodSlotRequestFailed:      func() { echo[SlotRequestFailed](s, MethodSlotRequestFailed) },
		MethodJobControl:             func() { echo[JobControl](s, MethodJobControl) },
		MethodRegisterWorker:         func() { echo[RegisterWorker](s, MethodRegisterWorker) },
		MethodWorkerReport:           func() { echo[WorkerReport](s, MethodWorkerReport) },
		MethodWorkerExited:           func() { echo[WorkerExited](s, MethodWorkerExited) },
		MethodCheckWorker:            func() { echo[CheckWorker](s, MethodCheckWorker) },
		MethodStartWorker:            func() { echo[StartWorker](s, MethodStartWorker) },
		MethodStopWorker:             func() { echo[StopWorker](s, MethodStopWorker) },
		MethodWorkerControl:          func() { echo[WorkerControl](s, MethodWorkerControl) },
	}
	var names []string
	for m, register := range methods {
		register()
		names = append(names, m)
	}
	return s, names
}

// FuzzMessages sends arbitrary bodies to every method: a body that is
// not one JSON value of the method's message is answered 400, never with
// a panic, and one that is comes back as a message of that type.
func FuzzMessages(f *testing.F) {
	s, methods := fuzzServer()
	seeds := []string{
		`{"taskManager":"tm-1","reports":[{"kind":"acknowledge","attempt":1,"task":{"Vertex":0,"Subtask":1},"checkpointId":3,"states":{"op":{"Keyed":{"Path":"k","Size":3},"KeyGroups":{"Start":0,"End":127}}}}]}`,
		`{"jobId":"j","controls":[{"kind":"deploy","attempt":0,"assignment":{"workers":{"tm-1":"127.0.0.1:1"},"subtasks":[["tm-1"]]},"options":{}}]}`,
		`{"jobId":"j","controls":[{"kind":"trigger","barrier":{"ID":1,"Timestamp":2,"Options":{"Kind":1}},"options":{}}]}`,
		`{"id":"tm","address":"h:1","slots":2}`, `null`, `[]`, `{"slots":"x"}`, `{} {}`, `{`, "",
	}
	for i, seed := range seeds {
		f.Add(uint8(i), []byte(seed))
	}
	f.Fuzz(func(t *testing.T, m uint8, body []byte) {
		method := methods[int(m)%len(methods)]
		req := httptest.NewRequest(http.MethodPost, "/rpc/v1/"+method, bytes.NewReader(body))
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK:
			if !json.Valid(body) {
				t.Fatalf("%s: %q, which is no JSON, was accepted", method, body)
			}
		case http.StatusBadRequest:
			var e Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code != CodeBadRequest {
				t.Fatalf("%s: a refusal of %q is %q", method, body, w.Body.String())
			}
		default:
			t.Fatalf("%s: %q answered %d %s", method, body, w.Code, w.Body.String())
		}
	})
}

func TestOversizedMessageIsRefused(t *testing.T) {
	s, _ := fuzzServer()
	body := `{"jobId":"` + strings.Repeat("x", MaxBody) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/rpc/v1/"+MethodStopWorker, strings.NewReader(body))
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a message of %d bytes answered %d, want 413", len(body), w.Code)
	}
}
