/* SCRAM-SHA-256 (RFC 5802, RFC 7677), the server's side, with no I/O:
 * the credentials kept for a password (salted with PBKDF2, so SCRAM
 * works without the cleartext), and the exchange as a small state
 * machine: the client's first message, the server's first, the
 * client's final with its proof, the server's final. No channel
 * binding (a client that asks for it, "p=", is refused; "y" and "n"
 * are taken). The password is used as bytes (no SASLprep): a client
 * that normalizes the same way gets in, as with PLAIN.
 *
 * The random parts (salt, the server's nonce) are the caller's to give,
 * so a test can replay RFC 7677's example exactly. */
#ifndef PARLEY_SCRAM_H
#define PARLEY_SCRAM_H

#include <stddef.h>
#include <stdint.h>

#define SCRAM_KEY_LEN 32          /* SHA-256 */
#define SCRAM_SALT_LEN 16         /* the salt made for a new password */
/* PBKDF2's iterations for new credentials: RFC 7677's minimum, what
 * clients expect; the client does them at each login, the server only
 * when the password is set. */
#define SCRAM_ITERATIONS 4096
#define SCRAM_ITERATIONS_MAX 1000000
/* A client's message, and the parts kept of it. */
#define SCRAM_MSG_MAX 1024
#define SCRAM_USER_MAX 64         /* the user name, unescaped */
#define SCRAM_NONCE_MAX 128       /* the client's and the server's together */
#define SCRAM_SERVER_MSG_MAX 256  /* server-first, server-final */

enum scram_status {
	SCRAM_OK = 0,
	SCRAM_BAD_MESSAGE,   /* does not parse, or out of order */
	SCRAM_NO_BINDING,    /* asks for channel binding ("p="), not offered */
	SCRAM_BAD_PROOF,     /* the password is wrong (or the user unknown) */
	SCRAM_FAILED,        /* the crypto library failed */
};

/* The credentials of a password: StoredKey = H(HMAC(SaltedPassword,
 * "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). 0, or
 * -1 when the library fails. Slow by design (PBKDF2): a worker's job. */
int scram_credentials(const char *password, size_t len, const uint8_t *salt,
    size_t salt_len, uint32_t iterations, uint8_t stored_key[SCRAM_KEY_LEN],
    uint8_t server_key[SCRAM_KEY_LEN]);

/* One exchange; zero it before the first step. */
struct scram {
	int step;                                  /* 0, 1: first taken, 2: server-first made */
	char user[SCRAM_USER_MAX + 1];             /* from n=, unescaped */
	char cbind[16];                            /* the gs2 header, e.g. "n,," */
	char bare[SCRAM_MSG_MAX + 1];              /* client-first-message-bare */
	char nonce[SCRAM_NONCE_MAX + 1];           /* the client's, then both */
	char server_first[SCRAM_SERVER_MSG_MAX + 1];
};

/* The client's first message ("n,,n=user,r=nonce"). An authorization
 * identity (a=) other than the user is refused (BAD_MESSAGE). */
enum scram_status scram_client_first(struct scram *x, const char *msg, size_t len);
/* The server's first message, from the user's salt and iterations and a
 * fresh nonce of the server's (printable ASCII, no comma): into
 * x->server_first. */
enum scram_status scram_server_first(struct scram *x, const uint8_t *salt, size_t salt_len,
    uint32_t iterations, const char *server_nonce);
/* The client's final message ("c=biws,r=...,p=..."), checked against the
 * user's keys: SCRAM_OK with the server's final message ("v=...") in out
 * (SCRAM_SERVER_MSG_MAX + 1 bytes), or why not. */
enum scram_status scram_client_final(struct scram *x, const char *msg, size_t len,
    const uint8_t stored_key[SCRAM_KEY_LEN], const uint8_t server_key[SCRAM_KEY_LEN],
    char out[SCRAM_SERVER_MSG_MAX + 1]);

#endif
