/* Failed logins, counted per key (an account's folded name, or an
 * address) in a bounded table: a leaky bucket per key. Each failure
 * adds one; one is forgiven every forgive_ms; while a key holds burst
 * or more, its attempts are refused without being checked. Past
 * max_entries keys, the one touched longest ago is forgotten. Pure: the
 * caller gives the time (tests need no clock). Loop only. */
#ifndef PARLEY_THROTTLE_H
#define PARLEY_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

/* The accounts service's two tables (README, "Accounts"): 5 failures
 * for one account, then one attempt a minute; 20 from one address,
 * then one every 15 seconds. 4,096 keys each (about 100 bytes a key). */
#define THROTTLE_ACCOUNT_BURST 5
#define THROTTLE_ACCOUNT_FORGIVE_MS 60000
#define THROTTLE_ADDR_BURST 20
#define THROTTLE_ADDR_FORGIVE_MS 15000
#define THROTTLE_ENTRIES 4096
#define THROTTLE_KEY_MAX 63

struct throttle;

/* NULL when out of memory. */
struct throttle *throttle_new(size_t max_entries, unsigned burst, uint32_t forgive_ms);
void throttle_free(struct throttle *t);
/* 1 when key may try now (it holds fewer than burst failures). */
int throttle_allowed(struct throttle *t, const char *key, int64_t now_ms);
/* One failure of key (charged before the check, so that attempts in
 * flight count). */
void throttle_fail(struct throttle *t, const char *key, int64_t now_ms);
/* One failure taken back (the attempt succeeded). */
void throttle_refund(struct throttle *t, const char *key, int64_t now_ms);
/* key forgotten (its account logged in). */
void throttle_clear(struct throttle *t, const char *key);
/* Keys held now. */
size_t throttle_size(const struct throttle *t);

#endif
