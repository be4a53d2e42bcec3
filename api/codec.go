package api

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

// CodecPath is where the codec server answers, following Temporal's codec-server protocol:
// POST CodecPath/encode and CodecPath/decode take {"payloads": [...]} (protojson) and answer
// the same shape. The Temporal Web UI (`--ui-codec-endpoint`, or its Codec Server setting) and
// `temporal --codec-endpoint http://host:8080/codec --codec-auth 'Bearer $ADMIN_TOKEN'` use it
// to show decrypted payloads; Temporal itself only ever stores them encrypted.
const CodecPath = "/codec"

// defaultCodecMaxBodyBytes caps a codec request when CODEC_MAX_BODY_BYTES is unset: a few
// payloads at Temporal's 2 MB limit, base64-encoded.
const defaultCodecMaxBodyBytes = 8 << 20

// codecRequestHeaders are the request headers a browser may send to the codec server; a
// preflight asking for others is answered with these.
var codecRequestHeaders = []string{"Authorization", "Content-Type", "X-Namespace"}

// registerCodec serves the codec server: CORS for the configured Web UI origins (preflights
// answered before authentication, as browsers send them without credentials), then the admin
// bearer token, then the codec.
func (s *Server) registerCodec(r gin.IRouter, codec converter.PayloadCodec) {
	g := r.Group(CodecPath, s.codecCORS)
	for _, op := range []struct {
		path string
		run  func([]*commonpb.Payload) ([]*commonpb.Payload, error)
	}{{"/encode", codec.Encode}, {"/decode", codec.Decode}} {
		g.OPTIONS(op.path, func(c *gin.Context) {}) // answered by codecCORS
		g.POST(op.path, s.codecAuth(), s.codecHandler(op.run))
	}
}

// codecCORS lets the configured origins (CODEC_CORS_ORIGINS: the Temporal Web UI's) call the
// codec server from a browser, and answers their preflight requests. A request from any other
// origin is refused (403, no CORS headers); requests without an Origin (the CLI) go on.
func (s *Server) codecCORS(c *gin.Context) {
	h := c.Writer.Header()
	h.Add("Vary", "Origin")
	origin := c.GetHeader("Origin")
	allowed := origin != "" && slices.Contains(s.cfg.CodecCORSOrigins, origin)
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if origin != "" && !allowed {
		// Not even a request a browser sends without a preflight is run for a foreign page.
		writeError(c, newError(http.StatusForbidden, CodeForbidden, "this origin may not call the codec server: see CODEC_CORS_ORIGINS"))
		return
	}
	if c.Request.Method != http.MethodOptions {
		c.Next()
		return
	}
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", strings.Join(codecRequestHeaders, ", "))
	h.Set("Access-Control-Max-Age", "600")
	c.AbortWithStatus(http.StatusNoContent)
}

// codecAuth demands the admin bearer token. With CODEC_TRUST_LOOPBACK (set by `switchyard dev`
// only, whose Web UI cannot send a token) a request without credentials from a loopback peer
// passes too.
func (s *Server) codecAuth() gin.HandlerFunc {
	admin := adminAuth(s.cfg.AdminToken)
	return func(c *gin.Context) {
		if s.cfg.CodecTrustLoopback && c.GetHeader("Authorization") == "" {
			if ip := net.ParseIP(c.RemoteIP()); ip != nil && ip.IsLoopback() {
				c.Next()
				return
			}
		}
		admin(c)
	}
}

// codecHandler runs one codec operation over the request's payloads. Decoded payloads are card
// data and credentials: the answer is never cached, and neither bodies nor payloads are logged.
func (s *Server) codecHandler(run func([]*commonpb.Payload) ([]*commonpb.Payload, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := readBody(c, s.cfg.codecMaxBodyBytes())
		if err != nil {
			writeError(c, err)
			return
		}
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			writeError(c, newError(http.StatusBadRequest, CodeMalformedJSON, `the body must be {"payloads": [...]} in protojson`))
			return
		}
		out, err := run(in.GetPayloads())
		if err != nil {
			logger(c).Warn("Codec request failed", "path", c.FullPath(), "namespace", truncate(c.GetHeader("X-Namespace"), 255),
				"error", err.Error())
			writeError(c, newError(http.StatusBadRequest, CodeValidation, "payloads could not be processed: "+err.Error()))
			return
		}
		// protojson leaves an empty list out; callers index "payloads" whatever its length.
		answer := []byte(`{"payloads":[]}`)
		if len(out) > 0 {
			if answer, err = protojson.Marshal(&commonpb.Payloads{Payloads: out}); err != nil {
				writeError(c, err)
				return
			}
		}
		c.Header("Cache-Control", "no-store")
		c.Data(http.StatusOK, "application/json", answer)
	}
}

// bodyLimit caps request bodies at MAX_REQUEST_BODY_BYTES, and codec requests (whole payloads,
// base64-encoded) at CODEC_MAX_BODY_BYTES.
func bodyLimit(cfg Config) gin.HandlerFunc {
	general := limitBody(cfg.MaxRequestBodyBytes, cfg.ReadTimeout, cfg.WriteTimeout)
	codec := limitBody(cfg.codecMaxBodyBytes(), cfg.ReadTimeout, cfg.WriteTimeout)
	return func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, CodecPath+"/") {
			codec(c)
			return
		}
		general(c)
	}
}

func (c Config) codecMaxBodyBytes() int64 {
	if c.CodecMaxBodyBytes > 0 {
		return c.CodecMaxBodyBytes
	}
	return defaultCodecMaxBodyBytes
}
