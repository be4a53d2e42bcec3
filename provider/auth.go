package provider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// HMAC request signing headers.
const (
	HeaderAPIKey    = "X-API-Key"
	HeaderTimestamp = "X-Timestamp"
	HeaderSignature = "X-Signature"
)

// StringToSign is what an HMAC signature covers: method, path with query, timestamp, and the
// SHA-256 of the body, one per line.
func StringToSign(method, pathAndQuery, timestamp string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + "\n" + pathAndQuery + "\n" + timestamp + "\n" + hex.EncodeToString(sum[:])
}

// Sign returns the hex HMAC-SHA256 of StringToSign under secret.
func Sign(secret, method, pathAndQuery, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(StringToSign(method, pathAndQuery, timestamp, body)))
	return hex.EncodeToString(mac.Sum(nil))
}

// signHMAC sets X-API-Key, X-Timestamp and X-Signature on req. Every attempt signs anew, so a
// retried request carries a fresh timestamp.
func signHMAC(req *http.Request, body []byte, keyID, secret string, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set(HeaderAPIKey, keyID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(secret, req.Method, req.URL.RequestURI(), ts, body))
}

// VerifyHMAC checks a signed request, as a provider does: known key, timestamp within
// tolerance, signature matching (all compared in constant time).
func VerifyHMAC(r *http.Request, body []byte, keyID, secret string, tolerance time.Duration, now time.Time) error {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderAPIKey)), []byte(keyID)) != 1 {
		return errors.New("unknown API key")
	}
	ts, err := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return errors.New("missing or malformed timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp outside the %s tolerance", tolerance)
	}
	want := Sign(secret, r.Method, r.URL.RequestURI(), r.Header.Get(HeaderTimestamp), body)
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(HeaderSignature)), []byte(want)) != 1 {
		return errors.New("signature mismatch")
	}
	return nil
}

// tokenCache holds an OAuth2 client-credentials token until shortly before it expires.
type tokenCache struct {
	cfg  clientcredentials.Config
	http *http.Client

	mu  sync.Mutex
	tok *oauth2.Token
}

// tokenRefreshMargin renews a token this long before its expiry.
const tokenRefreshMargin = 30 * time.Second

func newTokenCache(a Auth, httpClient *http.Client) *tokenCache {
	return &tokenCache{http: httpClient, cfg: clientcredentials.Config{ClientID: a.ClientID,
		ClientSecret: a.ClientSecret, TokenURL: a.TokenURL, Scopes: a.Scopes, AuthStyle: oauth2.AuthStyleInHeader}}
}

// token returns a valid access token; renew fetches a new one even if the cached one has not
// expired (after the provider answered 401).
func (t *tokenCache) token(ctx context.Context, renew bool) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !renew && t.tok != nil && (t.tok.Expiry.IsZero() || time.Until(t.tok.Expiry) > tokenRefreshMargin) {
		return t.tok.AccessToken, nil
	}
	tok, err := t.cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		return "", &TokenError{Err: err}
	}
	t.tok = tok
	return tok.AccessToken, nil
}

// TokenError is a failure to obtain an OAuth2 token.
type TokenError struct{ Err error }

func (e *TokenError) Error() string {
	var re *oauth2.RetrieveError
	if errors.As(e.Err, &re) && re.Response != nil {
		return fmt.Sprintf("token endpoint answered %d", re.Response.StatusCode)
	}
	return "token endpoint unavailable"
}

func (e *TokenError) Unwrap() error { return e.Err }

// Rejected reports whether the token endpoint refused the credentials (no retry can help).
func (e *TokenError) Rejected() bool {
	var re *oauth2.RetrieveError
	return errors.As(e.Err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500
}
