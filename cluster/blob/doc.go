// Package blob is the BlobServer: it stores the binaries of submitted jobs
// by the SHA-256 of their content (Server.Put, in the JobManager's
// process) and serves them over HTTP, so that TaskManagers can fetch the
// binary a job's subtasks run in:
//
//	GET  /blobs/<key>  the binary
//
// The network reads blobs only: no request stores or deletes one
// (TestNetworkCannotWrite).
//
// Invariants:
//  1. A blob is stored under the hash of its content and is visible only
//     once it is complete: it is written to a temporary file and renamed
//     (TestPutIsAtomicAndContentAddressed).
//  2. A client never uses a blob whose content does not hash to its key
//     (TestGetVerifiesTheHash).
//  3. Uploads above the server's size limit are refused without being
//     stored (TestPutRefusesOversizedBlobs).
package blob
