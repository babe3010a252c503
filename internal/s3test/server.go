package s3test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/runnel-io/runnel/internal/javatest"
)

// Version is the S3Proxy release the tests run.
const Version = "2.6.0"

// The credentials the server accepts.
const (
	AccessKey = "runnel-test"
	SecretKey = "runnel-test-secret"
)

// Region is the region clients sign for.
const Region = "us-east-1"

// startTimeout bounds the wait for the server to serve.
const startTimeout = time.Minute

// logback.xml keeps S3Proxy's log to warnings.
const logback = `<configuration>
  <appender name="err" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level %logger{20} - %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="err"/></root>
</configuration>
`

// Jars returns the directory holding S3Proxy's jars and those it needs,
// fetching them with Maven from Maven Central the first time.
func Jars() (string, error) {
	lib, err := javatest.Fetch("s3proxy-"+Version, "S3Proxy "+Version, "org.gaul:s3proxy:"+Version)
	if err != nil {
		return "", fmt.Errorf("s3test: %w", err)
	}
	return lib, nil
}

// Server is a running S3Proxy.
type Server struct {
	dir  string
	port int
	proc *javatest.Process
}

// Start starts a server on a free loopback port, keeping its buckets
// under dir, and returns once it serves. Its output goes to log
// (discarded if nil).
func Start(dir string, log io.Writer) (*Server, error) {
	jars, err := Jars()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	ports, err := javatest.FreePorts(1)
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, port: ports[0]}
	blobs, tmp := filepath.Join(dir, "blobs"), filepath.Join(dir, "tmp")
	for _, d := range []string{blobs, tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("s3test: %w", err)
		}
	}
	props := fmt.Sprintf("s3proxy.endpoint=%s\ns3proxy.authorization=aws-v2-or-v4\n"+
		"s3proxy.identity=%s\ns3proxy.credential=%s\n"+
		"jclouds.provider=filesystem-nio2\njclouds.identity=local\njclouds.credential=local\n"+
		"jclouds.filesystem.basedir=%s\n",
		s.Endpoint(), AccessKey, SecretKey, blobs)
	conf, logConf := filepath.Join(dir, "s3proxy.conf"), filepath.Join(dir, "logback.xml")
	if err := os.WriteFile(conf, []byte(props), 0o644); err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	if err := os.WriteFile(logConf, []byte(logback), 0o644); err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	cmd := exec.Command("java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Djava.io.tmpdir="+tmp, "-Dlogback.configurationFile="+logConf,
		"-cp", filepath.Join(jars, "*"), "org.gaul.s3proxy.Main", "--properties", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if s.proc, err = javatest.Start(cmd); err != nil {
		return nil, fmt.Errorf("s3test: starting S3Proxy (is Java installed?): %w", err)
	}
	if err := s.waitServing(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// waitServing waits until the server answers HTTP requests (an unsigned
// one is refused, which is an answer).
func (s *Server) waitServing() error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		if resp, err := hc.Get(s.Endpoint() + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.proc.Exited():
			return errors.New("s3test: S3Proxy exited while starting (its output went to the server's log)")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("s3test: S3Proxy does not serve after %v", startTimeout)
		}
	}
}

// Endpoint is the server's URL: "http://127.0.0.1:PORT".
func (s *Server) Endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

// Addr is the server's address: "127.0.0.1:PORT".
func (s *Server) Addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// Client returns a client of the server, signing with AccessKey and
// SecretKey.
func (s *Server) Client() (*minio.Client, error) {
	c, err := minio.New(s.Addr(), &minio.Options{
		Creds:        credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Secure:       false,
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("s3test: %w", err)
	}
	return c, nil
}

// CreateBucket creates the bucket name.
func (s *Server) CreateBucket(name string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		return fmt.Errorf("s3test: creating bucket %s: %w", name, err)
	}
	return nil
}

// Close stops the server and removes its data.
func (s *Server) Close() error {
	if s.proc != nil {
		s.proc.Stop(10 * time.Second)
	}
	return os.RemoveAll(s.dir)
}
