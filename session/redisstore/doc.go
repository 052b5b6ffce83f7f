// Package redisstore keeps oidcrp's server-side session data in Redis (or
// Valkey, 7.0 or later), so that several instances of an app behind a load
// balancer share logins, logouts and token refreshes. One Store serves as
// all five of the session package's shared interfaces:
//
//	rdb := redis.NewClient(opts) // opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
//	store, err := redisstore.New(rdb, redisstore.Options{})
//	sessions, err := session.New(session.Config{
//		Keys:        keys,  // the same on every instance
//		Store:       store, // sessions, indexed by sid and subject for logout
//		Replay:      store, // login attempts and logout tokens, used once
//		Revocations: store, // logouts, checked on every request
//		Coordinator: store, // one redemption per refresh, across instances
//	})
//	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions})
//
// What each does in Redis, under Options.Prefix (default "oidcrp:"):
//
//   - session.Store: a hash per session (the sealed session, its sid and
//     subject) that expires with the session (PEXPIREAT), and a set per sid
//     and per subject naming its sessions, which lives as long as its
//     longest-lived member; a Lua script changes them together.
//   - session.Revoker: DeleteBySID and DeleteBySubject remove the sessions
//     an index names, in one script, skipping members that expired.
//   - session.ReplayCache: SET key NX PXAT expiry.
//   - session.Revocations: a record per sid and per subject of the
//     sessions issued (so that logouts naming anything else store nothing)
//     and per session ID logged out, holding the latest logout times, until
//     the sessions it covers would have expired; Revoked is one MGET, one
//     round trip per authenticated request.
//   - session.Coordinator: a lock per key (SET NX PX with a random token,
//     renewed while held, released by compare-and-delete), the winner's
//     result kept for the other instances, which poll for it (and, with
//     Keep, a refresh result the browser could not be given, until the
//     next request of its session); behind an
//     in-process single flight, so that an instance sends one request to
//     Redis however many of its requests wait.
//
// When Redis fails, every method returns an *Error, which matches
// session.ErrStore: the session.Manager and the middleware then refuse
// access (503) rather than grant it. go-redis reconnects by itself, so
// service resumes when Redis is back.
//
// Tests can start a throwaway redis-server with package redistest.
package redisstore
