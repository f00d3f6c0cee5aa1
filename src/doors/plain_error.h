/* The plain door's errors: one line "!! code: text", the codes listed in
 * docs/protocol.md. Each is written once here: its code and its text,
 * which is a format the compiler checks against every use
 * (plain_err(c, NAME, args)). For the plain door's files only. */
#ifndef PARLEY_PLAIN_ERROR_H
#define PARLEY_PLAIN_ERROR_H

struct conn;

#define PLAIN_ERROR_LINE "!! %s: %s\n"
#define PLAIN_REFUSAL_MAX 256   /* the text of a refusal: why, and what to do */
#define PLAIN_ERR_NOMEM        "server-error", "out of memory, try again"
#define PLAIN_ERR_LINE_NOMEM   "server-error", "out of memory, line dropped"
#define PLAIN_ERR_UNEXPECTED   "server-error", "unexpected answer from the server"
#define PLAIN_ERR_BAD_NICK     "bad-nick", "\"%s\" is not a valid nickname (1-%d of " \
	"letters, digits and -_[]{}\\|^` not starting with a digit or -)"
#define PLAIN_ERR_NICK_RESERVED "nick-reserved", "%s is a service's name, nobody's"
#define PLAIN_ERR_NICK_IN_USE  "nick-in-use", "%s is already taken"
#define PLAIN_ERR_NICK_OWNED   "nick-owned", "%s is a registered account's; /login %s PASSWORD " \
	"to use it"
#define PLAIN_ERR_NO_SUCH_NICK "no-such-nick", "nobody is called %s"
#define PLAIN_ERR_BAD_ROOM     "bad-room", "\"%s\" is not a valid room name " \
	"(# and up to %d bytes, no spaces, commas or control characters)"
#define PLAIN_ERR_NO_SUCH_ROOM "no-such-room", "there is no room %s"
#define PLAIN_ERR_NOT_IN_ROOM  "not-in-room", "you are not in %s"
#define PLAIN_ERR_TOO_MANY_ROOMS "too-many-rooms", "you are in %d rooms already; /part one first"
#define PLAIN_ERR_TOO_MANY_MADE "too-many-rooms", "you have made %d rooms that still exist; " \
	"join one that exists"
#define PLAIN_ERR_NO_MORE_ROOMS "no-more-rooms", "the server has as many rooms as it holds " \
	"(%u); join one that exists"
#define PLAIN_ERR_NO_ROOM      "no-room", "you are not in a room; /join one first"
#define PLAIN_ERR_NOT_ROOM_OP  "not-room-op", "only operators of %s may do that"
#define PLAIN_ERR_BANNED       "banned", "you are banned from %s"
#define PLAIN_ERR_INVITE_ONLY  "invite-only", "%s is invitation only"
#define PLAIN_ERR_BAD_KEY      "bad-key", "%s needs the right key: /join %s KEY"
#define PLAIN_ERR_ROOM_FULL    "room-full", "%s is full"
#define PLAIN_ERR_CANNOT_SEND  "cannot-send", "you may not speak in %s now"
#define PLAIN_ERR_USAGE        "usage", "%s"
#define PLAIN_ERR_PASS_AGAIN   "usage", "the password is given once, before anything else"
#define PLAIN_ERR_UNKNOWN_COMMAND "unknown-command", "/%s is not a command; /help lists them"
#define PLAIN_ERR_LONE_SLASH   "unknown-command", "a lone / is not a command; /help lists them"
#define PLAIN_ERR_PASSWORD_REQUIRED "password-required", "this server needs a password " \
	"first: /pass PASSWORD"
#define PLAIN_ERR_BAD_PASSWORD "bad-password", "that is not the password; goodbye"
#define PLAIN_ERR_LINE_TOO_LONG "line-too-long", "lines may be at most %lu bytes; that one " \
	"was discarded"
#define PLAIN_ERR_NO_HISTORY   "no-history", "this server keeps no history"
#define PLAIN_ERR_NO_ACCOUNTS  "no-accounts", "this server keeps no accounts"
#define PLAIN_ERR_NO_ACCOUNTS_CLUSTER "no-accounts", "this cluster keeps no accounts: " \
	"they need a database its nodes share (database postgresql://...)"
#define PLAIN_ERR_LOGIN_FAILED "login-failed", "wrong password or unknown account"
#define PLAIN_ERR_THROTTLED    "throttled", "too many failed attempts; wait a minute and try again"
#define PLAIN_ERR_ACCOUNT_EXISTS "account-exists", "%s is already registered; /login %s " \
	"PASSWORD if it is yours"
#define PLAIN_ERR_ACCOUNT_NAME "bad-account-name", "%s cannot be an account's name"
#define PLAIN_ERR_PASSWORD_LENGTH "password-length", "a password is %d to %d bytes"
#define PLAIN_ERR_LOGGED_IN    "logged-in", "you are logged in as %s; /logout first"
#define PLAIN_ERR_NOT_LOGGED_IN "not-logged-in", "you are not logged in; /login NAME PASSWORD"
#define PLAIN_ERR_ACCOUNTS_FAILED "server-error", "the accounts could not be read; try again " \
	"later"
#define PLAIN_ERR_ROOM_REGISTERED "room-registered", "%s is already registered (to %s)"
#define PLAIN_ERR_BUSY         "busy", "the server is busy; try again in a moment"
#define PLAIN_ERR_SERVER_FULL  "server-full", "%s, try again later"
#define PLAIN_ERR_WRONG_PROTOCOL "wrong-protocol", "this is parley's plain-text port (nc, " \
	"parley); TLS and the web page have ports of their own; goodbye"
#define plain_err(c, ...) plain_error(c, __VA_ARGS__)
#define PLAIN_ERR_CODE_(code, fmt) code
#define PLAIN_ERR_FMT_(code, fmt) fmt
#define PLAIN_ERR_CODE(e) PLAIN_ERR_CODE_(e)
#define PLAIN_ERR_FMT(e) PLAIN_ERR_FMT_(e)


void plain_error(struct conn *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
