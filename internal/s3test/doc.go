// Package s3test runs a real S3-compatible server for tests: S3Proxy
// (Apache-2.0) from Maven Central with its filesystem-nio2 backend, run with
// the installed Java on a free loopback port, answering requests signed
// (AWS Signature V2 or V4) with AccessKey and SecretKey. It serves
// buckets, objects, listing by prefix and multipart uploads (created,
// uploaded, completed, aborted), but not the listing of multipart uploads
// in progress (ListMultipartUploads answers 501 Not Implemented).
//
// The jars are fetched once, with Maven, into the cache directory
// ($RUNNEL_CACHE, else the user's cache directory's runnel/, e.g.
// ~/.cache/runnel), so that a second run downloads nothing (see package
// javatest).
//
// A package starts one server in TestMain and its tests share it, each
// with a bucket of its own (CreateBucket). Clients address buckets by
// path ("http://127.0.0.1:PORT/bucket/key"), not by host name. The
// server's process is killed with the test binary (Pdeathsig), and Close
// removes its data.
package s3test
