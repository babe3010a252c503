// Package blob is the BlobServer: it stores the binaries of submitted jobs
// by the SHA-256 of their content and serves them over HTTP, so that
// TaskManagers can fetch the binary a job's subtasks run in.
//
//	PUT  /blobs        body: the binary; answers 201 with {"key": "<sha256 hex>"}
//	GET  /blobs/<key>  the binary
//	DELETE /blobs/<key>
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
