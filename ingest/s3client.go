package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Config configures the S3 client used for s3:// sources and lakes.
// Credentials always come from the standard AWS chain (environment,
// shared config and SSO profiles, web identity, container and instance
// roles).
type S3Config struct {
	// Region is the region of the S3 API. Empty: the standard chain
	// (AWS_REGION, the profile), and each bucket's own region, looked up
	// once, when no endpoint is given.
	Region string
	// Endpoint is the URL of an S3-compatible server (MinIO, Ceph, a test
	// server); empty for AWS.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/bucket/key rather than
	// bucket.ENDPOINT/key, as most S3-compatible servers need.
	PathStyle bool
	// MaxAttempts bounds the attempts of each request (the SDK retries
	// throttling, 5xx and connection errors with exponential back-off);
	// 0 = 8.
	MaxAttempts int
	// MaxBackoff caps the delay between attempts; 0 = 20 seconds.
	MaxBackoff time.Duration
}

// s3Clients builds one SDK client per bucket region, lazily.
type s3Clients struct {
	opts S3Config
	base aws.Config
	mu   sync.Mutex
	by   map[string]*s3.Client // by bucket
}

func newS3Clients(ctx context.Context, opts S3Config) (*s3Clients, error) {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = 8
	}
	loads := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 20 * time.Second
				if opts.MaxBackoff > 0 {
					o.MaxBackoff = opts.MaxBackoff
				}
				// A batch ingest would rather wait than give up when many
				// requests fail at once (the default retry quota).
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if opts.Endpoint != "" {
		// S3-compatible servers rarely implement the newer flexible
		// checksums; ask for them only where S3 requires them.
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		if cfg.Region == "" {
			cfg.Region = "us-east-1"
		}
	}
	return &s3Clients{opts: opts, base: cfg, by: map[string]*s3.Client{}}, nil
}

func (c *s3Clients) newClient(region string) *s3.Client {
	return s3.NewFromConfig(c.base, func(o *s3.Options) {
		if region != "" {
			o.Region = region
		}
		if c.opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.opts.Endpoint)
		}
		o.UsePathStyle = c.opts.PathStyle
	})
}

// client returns the client for bucket, in the bucket's region.
func (c *s3Clients) client(ctx context.Context, bucket string) (*s3.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.by[bucket]; ok {
		return cl, nil
	}
	region := c.base.Region
	if c.opts.Endpoint == "" && c.opts.Region == "" {
		probe := c.newClient(cmpOr(region, "us-east-1"))
		r, err := manager.GetBucketRegion(ctx, probe, bucket)
		switch {
		case err == nil:
			region = r
		case region == "":
			return nil, fmt.Errorf("find the region of bucket %s: %w (name it with --s3-region)", bucket, s3Hint(err))
		}
	}
	if region == "" {
		return nil, fmt.Errorf("bucket %s: no AWS region configured; set --s3-region or AWS_REGION", bucket)
	}
	cl := c.newClient(region)
	c.by[bucket] = cl
	return cl, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseS3URI splits s3://bucket/prefix.
func parseS3URI(uri string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%s is not an s3:// URI", uri)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s names no bucket: use s3://bucket/prefix", uri)
	}
	return bucket, prefix, nil
}

// isNotFound reports whether err is S3's answer for a missing key.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "404":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}

// isPreconditionFailed reports whether a conditional request lost.
func isPreconditionFailed(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict") {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict)
}

// s3Hint shortens the SDK's errors for the usual causes.
func s3Hint(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken":
			return fmt.Errorf("%s: %s (check the AWS credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID, the instance or task role, and the bucket policy)", ae.ErrorCode(), ae.ErrorMessage())
		case "NoSuchBucket":
			return fmt.Errorf("bucket does not exist (%s)", ae.ErrorMessage())
		case "PermanentRedirect", "AuthorizationHeaderMalformed":
			return fmt.Errorf("%s: the bucket is in another region; name it with --s3-region", ae.ErrorCode())
		}
		return fmt.Errorf("%s: %s", ae.ErrorCode(), ae.ErrorMessage())
	}
	return err
}
