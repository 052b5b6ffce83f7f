// Package jsonx reads the members of a JSON object the way encoding/json
// decodes them into a struct, without reflection and without copying: the
// strict, small decoder behind the JOSE headers and JWT claims that are
// verified on every login and every first-seen access token.
//
// An Object validates the whole text as encoding/json does (RFC 8259: the
// grammar, string escapes, numbers, nesting at most 10,000 deep, nothing but
// whitespace after the object) while it hands out each member's name and raw
// value. Values the caller does not read are validated and skipped, never
// decoded. Strings without escapes are views of the input (String); a
// string with escapes or invalid UTF-8 is decoded by encoding/json itself,
// so that both agree on every string. Match finds a member's field as
// encoding/json does: the exact name, else the name under Unicode case
// folding (bytes.EqualFold).
//
// The input must not be modified while the strings it yielded are in use:
// they share its memory.
package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"
)

// ErrSyntax is a text that is not a JSON object as encoding/json reads one.
var ErrSyntax = errors.New("jsonx: invalid JSON")

// ErrType is a member whose value does not fit the field it was read into.
var ErrType = errors.New("jsonx: value of the wrong type")

var errNumber = fmt.Errorf("%w: bad number", ErrSyntax)

// maxDepth is encoding/json's bound on nesting.
const maxDepth = 10000

// Object iterates over the members of the JSON object in data.
type Object struct {
	data []byte
	pos  int
	err  error
	done bool
}

// NewObject starts reading data, which must hold one JSON object and
// nothing else but whitespace.
func NewObject(data []byte) Object {
	o := Object{data: data}
	o.pos = skipSpace(data, 0)
	if o.pos >= len(data) || data[o.pos] != '{' {
		o.fail("not an object")
		return o
	}
	o.pos = skipSpace(data, o.pos+1)
	if o.pos < len(data) && data[o.pos] == '}' {
		o.end(o.pos + 1)
	}
	return o
}

// Next returns the next member's name (unescaped) and raw value (without
// surrounding whitespace; already validated). ok is false at the end of
// the object or on an error, which Err then reports. The whole input has
// been validated once Next returned false with a nil Err.
func (o *Object) Next() (name, value []byte, ok bool) {
	if o.done || o.err != nil {
		return nil, nil, false
	}
	d := o.data
	i := o.pos
	if i >= len(d) || d[i] != '"' {
		o.fail("member name expected")
		return nil, nil, false
	}
	end, escaped, err := scanString(d, i)
	if err != nil {
		o.err = err
		return nil, nil, false
	}
	name = d[i+1 : end-1]
	if escaped {
		s, err := unquote(d[i:end])
		if err != nil {
			o.err = err
			return nil, nil, false
		}
		name = bytesOf(s)
	}
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		o.fail("':' expected")
		return nil, nil, false
	}
	i = skipSpace(d, i+1)
	vend, err := skipValue(d, i, 1)
	if err != nil {
		o.err = err
		return nil, nil, false
	}
	value = d[i:vend]
	i = skipSpace(d, vend)
	switch {
	case i < len(d) && d[i] == ',':
		o.pos = skipSpace(d, i+1)
		if o.pos >= len(d) || d[o.pos] != '"' {
			o.fail("member name expected after ','")
			return nil, nil, false
		}
	case i < len(d) && d[i] == '}':
		o.end(i + 1)
		if o.err != nil {
			return nil, nil, false
		}
	default:
		o.fail("',' or '}' expected")
		return nil, nil, false
	}
	return name, value, true
}

// Err returns the error that stopped Next, if any.
func (o *Object) Err() error { return o.err }

func (o *Object) end(i int) {
	o.done = true
	if skipSpace(o.data, i) != len(o.data) {
		o.fail("data after the object")
	}
}

func (o *Object) fail(what string) {
	o.err = fmt.Errorf("%w: %s", ErrSyntax, what)
	o.done = true
}

// Match returns the index in names of the field a member called name fills
// in encoding/json: the name equal to it, else the first equal under
// Unicode case folding; -1 if none. names must be distinct and lower case.
func Match(name []byte, names []string) int {
	for i, n := range names {
		if string(name) == n {
			return i
		}
	}
	return Fold(name, names)
}

// Fold is Match for a name known to equal none of names: the index of the
// first of names equal to it under Unicode case folding, or -1. It returns
// at once for a lower-case ASCII name, the usual one.
func Fold(name []byte, names []string) int {
	// Only a name with an upper-case ASCII letter or a non-ASCII byte can
	// fold to a lower-case name it does not equal ("ISS", or "ſub" with
	// the long s, which folds to "s").
	fold := false
	for _, c := range name {
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			fold = true
			break
		}
	}
	if !fold {
		return -1
	}
	for i, n := range names {
		if len(name) >= len(n) && bytes.EqualFold(name, bytesOf(n)) {
			return i
		}
	}
	return -1
}

// IsNull reports whether a raw value is the literal null, which
// encoding/json decodes into a field as leaving it unset.
func IsNull(v []byte) bool { return len(v) == 4 && v[0] == 'n' }

// String returns the string a raw value holds; null gives "". The result
// shares v's memory unless v has escapes or invalid UTF-8, which are
// decoded as encoding/json decodes them.
func String(v []byte) (string, error) {
	if len(v) == 0 || v[0] != '"' {
		if IsNull(v) {
			return "", nil
		}
		return "", ErrType
	}
	body := v[1 : len(v)-1]
	ascii := true
	for _, c := range body {
		if c == '\\' {
			return unquote(v)
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(body) {
		return unquote(v)
	}
	return unsafe.String(unsafe.SliceData(body), len(body)), nil
}

// Strings returns the strings of a raw array of strings (null elements
// give "", as encoding/json decodes them into a []string); a null value
// gives nil, an empty array a non-nil empty slice. one, if not nil, holds
// the result when the array has exactly one element, so that a caller can
// spare the allocation.
func Strings(v []byte, one *[1]string) ([]string, error) {
	if IsNull(v) {
		return nil, nil
	}
	if len(v) == 0 || v[0] != '[' {
		return nil, ErrType
	}
	n := 0
	for i, e := skipSpace(v, 1), []byte(nil); ; n++ {
		if e, i = element(v, i); e == nil {
			break
		}
	}
	var out []string
	if n == 1 && one != nil {
		out = one[:0]
	} else {
		out = make([]string, 0, n)
	}
	for i, e := skipSpace(v, 1), []byte(nil); ; {
		if e, i = element(v, i); e == nil {
			break
		}
		s, err := String(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// element returns the element of the validated raw array v at i and the
// index of the next one; nil at the end.
func element(v []byte, i int) ([]byte, int) {
	if v[i] == ']' {
		return nil, i
	}
	end, _ := skipValue(v, i, 1)
	next := skipSpace(v, end)
	if v[next] == ',' {
		next = skipSpace(v, next+1)
	}
	return v[i:end], next
}

// unquote decodes a JSON string literal (quotes included) with
// encoding/json: the rare strings with escapes or invalid UTF-8.
func unquote(lit []byte) (string, error) {
	var s string
	if err := json.Unmarshal(lit, &s); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	return s, nil
}

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func skipSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString validates the string literal starting at d[i] (a quote) and
// returns the index after its closing quote, and whether it has escapes.
func scanString(d []byte, i int) (end int, escaped bool, err error) {
	i++
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(d) {
				return 0, false, fmt.Errorf("%w: unterminated string", ErrSyntax)
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return 0, false, fmt.Errorf("%w: bad \\u escape", ErrSyntax)
				}
				i += 6
			default:
				return 0, false, fmt.Errorf("%w: bad escape", ErrSyntax)
			}
		case c < 0x20:
			return 0, false, fmt.Errorf("%w: control character in string", ErrSyntax)
		default:
			i++
		}
	}
	return 0, false, fmt.Errorf("%w: unterminated string", ErrSyntax)
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// skipValue validates the value starting at d[i], at nesting depth depth
// (the enclosing container's), and returns the index after it.
func skipValue(d []byte, i, depth int) (int, error) {
	if i >= len(d) {
		return 0, fmt.Errorf("%w: value expected", ErrSyntax)
	}
	switch c := d[i]; {
	case c == '"':
		end, _, err := scanString(d, i)
		return end, err
	case c == '{' || c == '[':
		if depth+1 > maxDepth {
			return 0, fmt.Errorf("%w: nested too deep", ErrSyntax)
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(d, i+1)
		if i < len(d) && d[i] == closing {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(d) || d[i] != '"' {
					return 0, fmt.Errorf("%w: member name expected", ErrSyntax)
				}
				end, _, err := scanString(d, i)
				if err != nil {
					return 0, err
				}
				i = skipSpace(d, end)
				if i >= len(d) || d[i] != ':' {
					return 0, fmt.Errorf("%w: ':' expected", ErrSyntax)
				}
				i = skipSpace(d, i+1)
			}
			end, err := skipValue(d, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipSpace(d, end)
			if i >= len(d) {
				return 0, fmt.Errorf("%w: unterminated %c", ErrSyntax, c)
			}
			if d[i] == closing {
				return i + 1, nil
			}
			if d[i] != ',' {
				return 0, fmt.Errorf("%w: ',' expected", ErrSyntax)
			}
			i = skipSpace(d, i+1)
		}
	case c == 't':
		return literal(d, i, "true")
	case c == 'f':
		return literal(d, i, "false")
	case c == 'n':
		return literal(d, i, "null")
	case c == '-' || '0' <= c && c <= '9':
		return number(d, i)
	}
	return 0, fmt.Errorf("%w: unexpected %q", ErrSyntax, d[i])
}

func literal(d []byte, i int, lit string) (int, error) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, fmt.Errorf("%w: bad literal", ErrSyntax)
	}
	return i + len(lit), nil
}

// number validates -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func number(d []byte, i int) (int, error) {
	bad := errNumber
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = digits(d, i)
	default:
		return 0, bad
	}
	if i < len(d) && d[i] == '.' {
		j := digits(d, i+1)
		if j == i+1 {
			return 0, bad
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := digits(d, i)
		if j == i {
			return 0, bad
		}
		i = j
	}
	return i, nil
}

func digits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}
