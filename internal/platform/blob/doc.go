// Package blob owns congso's content-addressed blob store: the bytes of uploaded
// documents, issued results and generated PDFs. Metadata about blobs (who uploaded
// them, which dossier they belong to) lives in the database; this package only keeps
// bytes and names them by their SHA-256.
//
// # Model
//
// A blob is named by the lowercase hex SHA-256 of its content (a [Info.Hash]). [Store]
// is the interface the rest of the platform uses; [FS] keeps blobs on a local
// filesystem (the default for a single node) and [S3] in an S3-compatible object
// store (production, shared by all nodes). [Open] builds either from a URL.
//
// # Invariants
//
//   - A blob is visible under its final name only when it is complete: Put streams the
//     content to a temporary file while hashing it, and only then publishes it (FS:
//     fsync the file, rename it into place, fsync the directories; S3: one PutObject
//     with a known length and the SHA-256 checksum, which services that support
//     checksums, AWS included, verify before accepting it). A crash
//     or a failed read leaves at most a temporary file, never a partial blob
//     (FS keeps them in <dir>/tmp; [FS.CleanTemp] removes stale ones).
//   - When Put returns without error the blob is durable and retrievable.
//   - Put is idempotent: putting content that is already stored returns the same
//     [Info] and does not rewrite it (FS keeps the existing file; S3 skips the upload
//     after a HeadObject). A stored copy whose size (or, on S3, recorded checksum)
//     does not match is replaced by the freshly verified content.
//   - Every read is verified: the reader returned by Get fails with [ErrCorrupt]
//     instead of io.EOF if the bytes read do not hash to the requested name.
//   - Hash arguments are validated before any I/O: anything but 64 lowercase hex
//     digits is rejected with [ErrInvalidHash], so a hash can never name a path or
//     key outside the store.
//   - Delete is idempotent (deleting a missing blob is not an error). Because the
//     same content may be referenced many times, deleting is the caller's decision:
//     delete only blobs that no metadata references and that are older than a grace
//     period, since a concurrent Put of the same content may have found the blob
//     already present just before it was deleted.
//
// # Store URLs
//
// [Open] accepts:
//
//	/var/lib/congso/blobs                  a plain path: filesystem store
//	file:///var/lib/congso/blobs           the same, as a URL (absolute path only)
//	s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true
//	s3://ACCESS_KEY:SECRET_KEY@bucket/prefix?...
//
// For s3:// URLs the host is the bucket and the path, if any, is a key prefix
// ("/blobs" becomes "blobs/", so keys look like "blobs/<hash>"). Credentials come from
// the URL's user info (percent-encode "/" and "+" in a secret key) or, when absent,
// from the AWS SDK's default chain: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, then shared config files and instance roles. Query parameters:
//
//	endpoint    base URL of an S3-compatible service (MinIO, Ceph…); empty for AWS
//	region      signing region; else AWS_REGION; else us-east-1
//	path_style  true for path-style addressing (bucket in the path), usual for MinIO
//	spool_dir   directory for the temporary copy made while hashing (default os.TempDir)
//	max_size    largest accepted blob in bytes (also accepted on file:// URLs)
//
// Unknown parameters are rejected so that a typo does not silently change behaviour.
// Errors from Open never include the URL's secret.
//
// # Limits
//
// The S3 store uploads with a single PutObject, so blobs are limited to 5 GiB there
// (larger ones fail with [ErrTooLarge]). Put on S3 needs free space in the spool
// directory for one copy of each blob being uploaded. Calls have no built-in
// deadline: callers bound them with ctx, sized for the blob being moved.
package blob
