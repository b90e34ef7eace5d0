package blob

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// maxS3PutSize is the largest object a single PutObject may create.
const maxS3PutSize = 5 << 30

// defaultRegion is used when neither the configuration nor the environment names
// one; S3-compatible services usually accept any region.
const defaultRegion = "us-east-1"

// S3Config locates a bucket in an S3-compatible object store.
type S3Config struct {
	// Endpoint is the base URL of an S3-compatible service, such as
	// "http://127.0.0.1:9000"; empty means AWS itself.
	Endpoint string
	// Region is the signing region; empty means AWS_REGION or else us-east-1.
	Region string
	// Bucket must already exist.
	Bucket string
	// AccessKey and SecretKey are static credentials; when AccessKey is empty the
	// AWS SDK's default chain is used (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, …).
	AccessKey string
	SecretKey string
	// Prefix is prepended verbatim to every key (key = Prefix + hash); end it
	// with "/" to keep blobs in a folder.
	Prefix string
	// PathStyle puts the bucket in the URL path instead of the host name,
	// as most self-hosted services (MinIO) expect.
	PathStyle bool
	// SpoolDir holds the temporary copy Put makes while hashing; empty means
	// os.TempDir().
	SpoolDir string
}

// S3 is a Store in an S3-compatible bucket; the blob with hash h is the object
// with key Prefix+h.
type S3 struct {
	client   *s3.Client
	bucket   string
	prefix   string
	spoolDir string
	maxSize  int64
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket described by cfg and checks that it is reachable.
func NewS3(ctx context.Context, cfg S3Config, opts ...Option) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("blob: s3 store: empty bucket name")
	}
	o := applyOptions(opts)

	load := []func(*config.LoadOptions) error{
		// Put always sends the SHA-256 checksum it computed itself, and Get
		// verifies what it reads; leave the SDK's own checksums to when the API
		// requires them, which also keeps S3-compatible services that do not
		// understand aws-chunked trailers working.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if cfg.Region != "" {
		load = append(load, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKey != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 store: load AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = defaultRegion
	}
	client := s3.NewFromConfig(awsCfg, func(so *s3.Options) {
		if cfg.Endpoint != "" {
			so.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		so.UsePathStyle = cfg.PathStyle
	})

	maxSize := o.maxSize
	if maxSize <= 0 || maxSize > maxS3PutSize {
		maxSize = maxS3PutSize
	}
	s := &S3{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix, spoolDir: cfg.SpoolDir, maxSize: maxSize}
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
		return nil, fmt.Errorf("blob: s3 store: bucket %q: %w", cfg.Bucket, err)
	}
	return s, nil
}

func (s *S3) key(hash string) *string {
	return aws.String(s.prefix + hash)
}

// Put stores the content of r. See Store. The content is spooled to a temporary
// file first, so its hash and length are known before anything is uploaded.
func (s *S3) Put(ctx context.Context, r io.Reader) (Info, error) {
	f, info, err := spool(ctx, s.spoolDir, r, s.maxSize)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()

	sum, _ := hex.DecodeString(info.Hash)
	checksum := base64.StdEncoding.EncodeToString(sum)

	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket:       aws.String(s.bucket),
		Key:          s.key(info.Hash),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	switch {
	case err == nil:
		sameSize := aws.ToInt64(head.ContentLength) == info.Size
		sameSum := head.ChecksumSHA256 == nil || *head.ChecksumSHA256 == checksum
		if sameSize && sameSum {
			return info, nil
		}
		// The stored object does not match its name: replace it below.
	case isS3NotFound(err):
	default:
		return Info{}, fmt.Errorf("blob: put %s: check existing object: %w", info.Hash, err)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Info{}, fmt.Errorf("blob: put %s: rewind: %w", info.Hash, err)
	}
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           s.key(info.Hash),
		Body:          f,
		ContentLength: aws.Int64(info.Size),
		ContentType:   aws.String("application/octet-stream"),
		// The service rejects the upload if the bytes it received differ.
		ChecksumSHA256: aws.String(checksum),
	})
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %s: upload: %w", info.Hash, err)
	}
	return info, nil
}

// Get opens the blob named hash. See Store.
func (s *S3) Get(ctx context.Context, hash string) (io.ReadCloser, error) {
	if err := checkHash(hash); err != nil {
		return nil, fmt.Errorf("blob: get: %w", err)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    s.key(hash),
	})
	if err != nil {
		return nil, fmt.Errorf("blob: get %s: %w", hash, s3NotFound(err))
	}
	size := int64(-1)
	if out.ContentLength != nil {
		size = *out.ContentLength
	}
	return newVerifyingReader(out.Body, hash, size), nil
}

// Stat reports the size of the blob named hash. See Store.
func (s *S3) Stat(ctx context.Context, hash string) (Info, error) {
	if err := checkHash(hash); err != nil {
		return Info{}, fmt.Errorf("blob: stat: %w", err)
	}
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    s.key(hash),
	})
	if err != nil {
		return Info{}, fmt.Errorf("blob: stat %s: %w", hash, s3NotFound(err))
	}
	return Info{Hash: hash, Size: aws.ToInt64(out.ContentLength)}, nil
}

// Delete removes the blob named hash. See Store.
func (s *S3) Delete(ctx context.Context, hash string) error {
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("blob: delete: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    s.key(hash),
	})
	if err != nil && !isS3NotFound(err) {
		return fmt.Errorf("blob: delete %s: %w", hash, err)
	}
	return nil
}

// isS3NotFound reports whether err says the object does not exist. A missing
// bucket (NoSuchBucket) is a configuration error and deliberately not included.
func isS3NotFound(err error) bool {
	var noSuchKey *types.NoSuchKey
	var notFound *types.NotFound
	if errors.As(err, &noSuchKey) || errors.As(err, &notFound) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound":
			return true
		}
	}
	return false
}

// s3NotFound maps a missing object to ErrNotFound and keeps other errors.
func s3NotFound(err error) error {
	if isS3NotFound(err) {
		return ErrNotFound
	}
	return err
}
