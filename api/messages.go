package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/switchyard-hub/switchyard/platform"
	"github.com/switchyard-hub/switchyard/transaction"
	"github.com/switchyard-hub/switchyard/workflows"
)

// Message limits.
const (
	maxMessageTo       = 256
	maxMessageText     = 4096
	maxMediaURL        = 2048
	maxMediaMimeType   = 255
	maxMessageBodySize = 16 << 10
)

// MessageRequest is a message to send through an integration.
type MessageRequest struct {
	To      string         `json:"to"`
	Content MessageContent `json:"content"`
}

// MessageContent is what a message carries: TEXT, or an IMAGE or FILE with its media URL.
type MessageContent struct {
	Type  string        `json:"type"`
	Text  string        `json:"text"`
	Media *MessageMedia `json:"media"`
}

// MessageMedia is a message's attachment.
type MessageMedia struct {
	URL      string `json:"url"`
	MimeType string `json:"mimeType"`
}

// check reports every problem of the message, by field.
func (m MessageRequest) check() error {
	problems := map[string]string{}
	switch {
	case m.To == "":
		problems["to"] = "required"
	case len(m.To) > maxMessageTo:
		problems["to"] = "must be at most " + strconv.Itoa(maxMessageTo) + " characters"
	}
	if !utf8.ValidString(m.Content.Text) || utf8.RuneCountInString(m.Content.Text) > maxMessageText {
		problems["content.text"] = "must be at most " + strconv.Itoa(maxMessageText) + " characters"
	}
	switch m.Content.Type {
	case platform.ContentText:
		if m.Content.Text == "" {
			problems["content.text"] = "required for TEXT"
		}
		if m.Content.Media != nil {
			problems["content.media"] = "only for IMAGE and FILE"
		}
	case platform.ContentImage, platform.ContentFile:
		if m.Content.Media == nil || m.Content.Media.URL == "" {
			problems["content.media.url"] = "required for " + m.Content.Type
			break
		}
		u, err := url.Parse(m.Content.Media.URL)
		if len(m.Content.Media.URL) > maxMediaURL || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems["content.media.url"] = "must be an absolute http or https URL of at most " + strconv.Itoa(maxMediaURL) + " characters"
		}
		if len(m.Content.Media.MimeType) > maxMediaMimeType {
			problems["content.media.mimeType"] = "must be at most " + strconv.Itoa(maxMediaMimeType) + " characters"
		}
	case "":
		problems["content.type"] = "required"
	default:
		problems["content.type"] = "must be TEXT, IMAGE or FILE"
	}
	if len(problems) > 0 {
		return invalidFields(problems)
	}
	return nil
}

func (m MessageRequest) outbound() platform.Outbound {
	out := platform.Outbound{To: m.To, Content: platform.Content{Type: m.Content.Type, Text: m.Content.Text}}
	if m.Content.Media != nil {
		out.Content.Media = &platform.Media{URL: m.Content.Media.URL, MimeType: m.Content.Media.MimeType}
	}
	return out
}

// messageView is a sent message.
type messageView struct {
	CorrelationID string `json:"correlation_id"`
	Status        string `json:"status"`
	MessageID     string `json:"message_id,omitempty"`
	Attempts      int    `json:"attempts"`
	EventID       string `json:"event_id,omitempty"`
	StatusURL     string `json:"status_url"`
}

// sendMessage sends a message through one of the caller's messaging integrations as a
// SendMessage workflow (ID message:<correlation id>), answering like the operation routes: the
// outcome, or 202 with the status URL after INTEGRATION_TIMEOUT (at once with ?async=true).
// Idempotency-Key makes a repeat join, or answer, the first send.
func (s *Server) sendMessage(c *gin.Context) {
	who := currentClient(c)
	async, err := asyncRequested(c.Request)
	if err != nil {
		writeError(c, err)
		return
	}
	var req MessageRequest
	if err := decodeCapped(c, maxMessageBodySize, &req); err != nil {
		writeError(c, err)
		return
	}
	row, err := s.ownIntegration(c)
	if err != nil {
		writeError(c, err)
		return
	}
	name := platform.Name(row.Platform)
	switch {
	case !name.Messaging():
		writeError(c, &Error{Status: http.StatusBadRequest, Code: CodeValidation,
			Message: "platform " + row.Platform + " does not send messages", Details: map[string]any{"field": "platform"}})
		return
	case !row.IsActive:
		writeError(c, newError(http.StatusConflict, CodeConflict, "the integration is inactive"))
		return
	}
	if err := req.check(); err != nil {
		writeError(c, err)
		return
	}
	route := IntegrationsBase + "/" + row.ID + "/messages"
	key := c.GetHeader("Idempotency-Key")
	correlationID, err := s.keyedCorrelationID(c.Request.Context(), who.ID, transaction.KindMessage, route, key)
	if err != nil {
		writeError(c, err)
		return
	}
	msg := req.outbound()
	params, _ := json.Marshal(msg)
	in := workflows.SendMessageInput{CorrelationID: correlationID, ClientID: who.ID, IntegrationID: row.ID,
		Platform: row.Platform, Message: msg, Keyed: key != "",
		Fingerprint: transaction.Fingerprint(transaction.KindMessage, http.MethodPost, route, params)}
	s.runWorkflow(c, workflowStart{kind: transaction.KindMessage, correlationID: correlationID, keyed: in.Keyed,
		taskQueue: workflows.TaskQueueWebhook, workflowType: workflows.WorkflowSendMessage, input: in,
		memo: transaction.Memo{ClientID: who.ID, Label: labelMessage, Method: http.MethodPost, Path: route,
			Fingerprint: in.Fingerprint}},
		async, s.cfg.IntegrationTimeout, func(ctx context.Context, run client.WorkflowRun) error {
			var res workflows.SendMessageResult
			if err := run.Get(ctx, &res); err != nil {
				return err
			}
			writeSendResult(c, correlationID, res)
			return nil
		})
}

// writeSendResult answers a finished send: 200 with the platform's message id, or 502 with the
// result's error code.
func writeSendResult(c *gin.Context, correlationID string, res workflows.SendMessageResult) {
	c.Header("X-Correlation-ID", correlationID)
	if res.Status == transaction.StatusSuccessful {
		writeData(c, http.StatusOK, messageView{CorrelationID: correlationID, Status: res.Status, MessageID: res.MessageID,
			Attempts: res.Attempts, EventID: res.EventID, StatusURL: statusURL(correlationID)})
		return
	}
	code := res.ErrorCode
	if code == "" {
		code = transaction.ErrorCodePlatformError
	}
	msg := res.Error
	if msg == "" {
		msg = "the message could not be sent"
	}
	details := map[string]any{"correlation_id": correlationID, "attempts": res.Attempts, "status": res.Status,
		"status_url": statusURL(correlationID)}
	if res.EventID != "" {
		details["event_id"] = res.EventID
	}
	writeError(c, &Error{Status: http.StatusBadGateway, Code: code, Message: msg, Details: details})
}
