/* Registered rooms, kept (issue 13): the glue between the hub's
 * registered rooms (chat/hub.h) and the store, as history.c is for
 * events. At start it loads every registered room on the worker pool
 * and restores it in the hub (on the loop); from then on it observes the
 * hub and saves a registered room whole, through the history writer,
 * whenever its topic or modes (lists and operators included) change.
 * Registering and dropping are the doors' (ChanServ, /register #room):
 * they call hub_room_register, then rooms_save, or hub_room_drop (whose
 * event the observer forgets the room on). It knows both chat and
 * store; neither knows it. */
#ifndef PARLEY_ROOMS_H
#define PARLEY_ROOMS_H

struct hub;
struct room;
struct store;
struct worker_pool;

struct rooms;

/* Observes hub, and loads the registered rooms of s on pool (their
 * restoring comes later, on the loop). NULL when out of memory or the
 * hub has no room for an observer. */
struct rooms *rooms_new(struct hub *hub, struct store *s, struct worker_pool *pool);
/* After the worker pool is freed (the load's done has run). */
void rooms_free(struct rooms *r);
/* Loads the registered rooms again, on the pool, and makes the hub's
 * registrations exactly the database's (a room registered here that the
 * database does not hold is registered no more): for a cluster's node
 * that may have missed registrations and drops (its links to Redis were
 * down), or that starts. Read again if a registration came meanwhile.
 * NULL is fine. */
void rooms_reload(struct rooms *r);
/* Saves room (registered) whole, at its version (hub_room_stamp):
 * queued for the history writer with the events around it. -1 when the
 * pending batch is full or memory fails. A room dropped
 * (hub_room_drop) is forgotten by the observer, at the drop's version. */
int rooms_save(struct store *s, const struct room *room);

#endif
