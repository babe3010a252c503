package httpserve

import (
	"log"
	"log/slog"
	"strings"
)

// slogErrorLog routes the http.Server's own messages (failed TLS
// handshakes, malformed requests) to log at debug level: they are the
// peers' mistakes, and a port scanner must not flood the log. Discarded
// if log is nil.
func slogErrorLog(l *slog.Logger) *log.Logger {
	if l == nil {
		return log.New(discard{}, "", 0)
	}
	return log.New(writer{l}, "", 0)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type writer struct{ l *slog.Logger }

func (w writer) Write(p []byte) (int, error) {
	w.l.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}
