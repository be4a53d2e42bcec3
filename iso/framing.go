package iso

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/network"
)

// Framings: how a message's length is written before it.
const (
	FramingBinary2 = "binary2" // 2-byte big-endian binary (default)
	FramingASCII4  = "ascii4"  // 4 ASCII digits
	FramingBCD2    = "bcd2"    // 2-byte BCD
)

// MaxMessageLength bounds what a peer may announce; a larger length is a framing error.
const MaxMessageLength = 8192

// Codec reads and writes framed messages of one spec: length header, optional TPDU header,
// packed message. It satisfies iso8583-connection's MessageReader and MessageWriter.
type Codec struct {
	spec    *iso8583.MessageSpec
	framing string
	tpdu    []byte
}

// NewCodec builds a codec for messages of spec. tpduHex is the TPDU header in hex
// ("6000010000"), empty for none.
func NewCodec(spec *iso8583.MessageSpec, framing, tpduHex string) (*Codec, error) {
	if spec == nil {
		return nil, errors.New("a codec needs a message spec")
	}
	switch framing {
	case "":
		framing = FramingBinary2
	case FramingBinary2, FramingASCII4, FramingBCD2:
	default:
		return nil, fmt.Errorf("framing %q: want binary2, ascii4 or bcd2", framing)
	}
	tpdu, err := hex.DecodeString(tpduHex)
	if err != nil {
		return nil, fmt.Errorf("TPDU %q is not hex: %w", tpduHex, err)
	}
	return &Codec{spec: spec, framing: framing, tpdu: tpdu}, nil
}

// Spec is the spec of the codec's messages.
func (c *Codec) Spec() *iso8583.MessageSpec { return c.spec }

// WriteMessage packs msg and writes it with its headers in one write.
func (c *Codec) WriteMessage(w io.Writer, msg *iso8583.Message) error {
	packed, err := msg.Pack()
	if err != nil {
		return fmt.Errorf("packing message: %w", err)
	}
	var buf bytes.Buffer
	if err := c.writeLength(&buf, len(c.tpdu)+len(packed)); err != nil {
		return err
	}
	buf.Write(c.tpdu)
	buf.Write(packed)
	_, err = w.Write(buf.Bytes())
	return err
}

// ReadMessage reads one framed message. A length out of bounds or a message that does not
// unpack is an error, never a panic.
func (c *Codec) ReadMessage(r io.Reader) (*iso8583.Message, error) {
	n, err := c.readLength(r)
	if err != nil {
		return nil, err
	}
	if n < len(c.tpdu) || n > MaxMessageLength {
		return nil, fmt.Errorf("message length %d out of bounds (%d..%d)", n, len(c.tpdu), MaxMessageLength)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("reading message: %w", err)
	}
	msg, err := Unpack(c.spec, raw[len(c.tpdu):])
	if err != nil {
		return nil, fmt.Errorf("unpacking message: %w", err)
	}
	return msg, nil
}

func (c *Codec) writeLength(w io.Writer, n int) error {
	var err error
	switch c.framing {
	case FramingASCII4:
		if n > 9999 {
			return fmt.Errorf("message of %d bytes does not fit 4 ASCII digits", n)
		}
		h := network.NewASCII4BytesHeader()
		h.SetLength(n)
		_, err = h.WriteTo(w)
	case FramingBCD2:
		if n > 9999 {
			return fmt.Errorf("message of %d bytes does not fit 2 BCD bytes", n)
		}
		h := network.NewBCD2BytesHeader()
		h.SetLength(n)
		_, err = h.WriteTo(w)
	default:
		h := network.NewBinary2BytesHeader()
		if err := h.SetLength(n); err != nil {
			return err
		}
		_, err = h.WriteTo(w)
	}
	return err
}

func (c *Codec) readLength(r io.Reader) (int, error) {
	var err error
	var n int
	switch c.framing {
	case FramingASCII4:
		h := network.NewASCII4BytesHeader()
		_, err = h.ReadFrom(r)
		n = h.Length()
	case FramingBCD2:
		h := network.NewBCD2BytesHeader()
		_, err = h.ReadFrom(r)
		n = h.Length()
	default:
		h := network.NewBinary2BytesHeader()
		_, err = h.ReadFrom(r)
		n = h.Length()
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, err
		}
		return 0, fmt.Errorf("reading length header: %w", err)
	}
	return n, nil
}
