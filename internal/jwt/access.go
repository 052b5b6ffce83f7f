package jwt

// AccessClaims are the claims of a JWT access token (RFC 9068 section 2.2),
// and of an introspection answer (RFC 7662 section 2.2), that are checked
// or exposed.
type AccessClaims struct {
	Registered
	ClientID string        `json:"client_id"`
	Scope    string        `json:"scope"`
	Cnf      *Confirmation `json:"cnf"`
}

// Confirmation is the cnf claim (RFC 7800); jkt binds a DPoP key (RFC 9449
// section 6.1).
type Confirmation struct {
	JKT string `json:"jkt"`
}
