/* History: the hub's events, stored (issue 12). An observer of the hub
 * (hub_observe) turns each room event into a store_event and appends it
 * to the store's pending batch; the server seals the batch as an epoch
 * before the loop sleeps, and the durability gate (net/gate.h) holds what
 * shows it back until it is committed.
 *
 * What is stored, per room: messages, actions and notices; joins, parts
 * and kicks; topics and mode changes; a quit or a nick change once in
 * every room the user was in (the same msgid in each); a TAGMSG that
 * carries more than typing notifications (a reaction). A REDACT marks the
 * message taken back. Private messages, notices, actions and reactions
 * between two logged-in users are stored under their accounts' pair
 * (store_pair_target); between a logged-in user and a nick that is not,
 * under that account only (store_half_target). Not stored: private
 * messages between two who are not logged in, typing notifications,
 * away, setname, chghost, invites, logins and user modes. The glue between chat and
 * store: it knows both; neither knows it. */
#ifndef PARLEY_HISTORY_H
#define PARLEY_HISTORY_H

#include <stdint.h>

struct hub;
struct store;

struct history;

/* Observes hub from now on, appending to s (which stays the caller's).
 * NULL when out of memory or the hub has no room for an observer. */
struct history *history_new(struct hub *hub, struct store *s);
/* Stops appending; the hub must emit nothing more (the observer stays
 * registered with it). */
void history_free(struct history *h);
/* Whether events were appended (or redactions asked) since the last seal. */
int history_pending(const struct history *h);
/* Seals them as the store's next epoch: its number, or 0 for none. */
uint64_t history_seal(struct history *h);

#endif
