package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/session"
	"github.com/oidcrp/oidcrp/session/redisstore"
)

// The Store goes into session.Config as Store, Replay, Revocations and
// Coordinator.
func Example() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL")) // redis://127.0.0.1:6379/0
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	keys, err := session.ParseKeys(os.Getenv("SESSION_KEYS"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := session.New(session.Config{Keys: keys, Store: store, Replay: store, Revocations: store, Coordinator: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = sessions // middleware.New(middleware.Config{RP: rp, Sessions: sessions})
}

// Do runs a piece of work once across every instance sharing Redis; the
// others reuse its result for the ttl given.
func ExampleStore_Do() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := store.Do(ctx, "refresh:abc", 2*time.Minute, func(ctx context.Context) ([]byte, error) {
		return []byte("new tokens"), nil // runs on one instance only
	})
	fmt.Println(string(v), err)
}
