package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Open builds the store named by rawURL: a plain path or a file:///abs/path URL for
// a filesystem store, or an s3://bucket/prefix?… URL for an S3 store. The URL forms
// and their parameters are described in the package documentation. Options given
// here override the URL's max_size. Errors never contain the URL's secret.
func Open(ctx context.Context, rawURL string, opts ...Option) (Store, error) {
	if rawURL == "" {
		return nil, errors.New("blob: open: empty store URL")
	}
	if !hasScheme(rawURL) {
		return NewFS(rawURL, opts...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, secret included: keep only the cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("blob: open: parse store URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		return openFile(u, opts)
	case "s3":
		return openS3(ctx, u, opts)
	default:
		return nil, fmt.Errorf("blob: open: unsupported store URL scheme %q (want file or s3)", u.Scheme)
	}
}

// hasScheme reports whether s starts with a URL scheme ("file:", "s3:", …) rather
// than being a plain path such as "/var/lib/blobs" or "data/blobs".
func hasScheme(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j, c := range s[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (j == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

func openFile(u *url.URL, opts []Option) (Store, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("blob: open: file URL with host %q: want file:///absolute/path", u.Host)
	}
	if u.User != nil {
		return nil, errors.New("blob: open: file URL must not carry user info")
	}
	if u.Opaque != "" || !filepath.IsAbs(u.Path) {
		return nil, errors.New("blob: open: file URL without an absolute path: want file:///absolute/path")
	}
	q, err := parseQuery(u, "max_size")
	if err != nil {
		return nil, err
	}
	urlOpts, err := maxSizeOption(q)
	if err != nil {
		return nil, err
	}
	return NewFS(u.Path, append(urlOpts, opts...)...)
}

func openS3(ctx context.Context, u *url.URL, opts []Option) (Store, error) {
	if u.Host == "" {
		return nil, errors.New("blob: open: s3 URL without a bucket: want s3://bucket/prefix")
	}
	q, err := parseQuery(u, "endpoint", "region", "path_style", "spool_dir", "max_size")
	if err != nil {
		return nil, err
	}
	cfg := S3Config{
		Endpoint: q.Get("endpoint"),
		Region:   q.Get("region"),
		Bucket:   u.Host,
		SpoolDir: q.Get("spool_dir"),
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	if v := q.Get("path_style"); v != "" {
		cfg.PathStyle, err = strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("blob: open: path_style=%q: want true or false", v)
		}
	}
	if u.User != nil {
		cfg.AccessKey = u.User.Username()
		cfg.SecretKey, _ = u.User.Password()
		if cfg.AccessKey == "" {
			return nil, errors.New("blob: open: s3 URL user info without an access key")
		}
	}
	urlOpts, err := maxSizeOption(q)
	if err != nil {
		return nil, err
	}
	s, err := NewS3(ctx, cfg, append(urlOpts, opts...)...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parseQuery returns u's query, rejecting parameters not in allowed and repeated ones.
func parseQuery(u *url.URL, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("blob: open: store URL query: %w", err)
	}
	for k, v := range q {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("blob: open: unknown %s URL parameter %q (known: %s)",
				u.Scheme, k, strings.Join(allowed, ", "))
		}
		if len(v) > 1 {
			return nil, fmt.Errorf("blob: open: URL parameter %q given %d times", k, len(v))
		}
	}
	return q, nil
}

func maxSizeOption(q url.Values) ([]Option, error) {
	v := q.Get("max_size")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("blob: open: max_size=%q: want a positive number of bytes", v)
	}
	return []Option{WithMaxSize(n)}, nil
}
