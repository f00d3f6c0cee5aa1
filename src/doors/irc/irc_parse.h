/* An IRC message (Modern IRC "Message format"; RFC 2812 section 2.3.1),
 * split in place into tags, source, command and parameters. Knows nothing
 * of what the commands mean. */
#ifndef PARLEY_IRC_PARSE_H
#define PARLEY_IRC_PARSE_H

#include <stddef.h>

#define IRC_PARAMS_MAX 15      /* RFC 2812: at most 15 parameters */
#define IRC_TAGS_MAX 64        /* tags kept; more are a parse error */
#define IRC_LINE_MAX 512       /* the message after the tags, CRLF included */
/* The tag section a client may send, '@' and its space included: IRCv3
 * message-tags lets clients send 4094 bytes of tag data. (8191 is what
 * servers may send, with their own tags added.) */
#define IRC_TAGS_LEN_MAX 4096

struct irc_tag {
	char *key;     /* with its '+' client prefix and vendor, if any */
	char *value;   /* unescaped; NULL when the tag had no '=' */
};

struct irc_message {
	struct irc_tag tags[IRC_TAGS_MAX];
	int ntags;
	char *source;          /* without the ':', or NULL */
	char *command;         /* as sent (case kept), never NULL on success */
	char *params[IRC_PARAMS_MAX];
	int nparams;
};

enum irc_parse_status {
	IRC_PARSE_OK,
	IRC_PARSE_EMPTY,          /* nothing but spaces: ignore it */
	IRC_PARSE_NO_COMMAND,     /* tags or source, then nothing */
	IRC_PARSE_TAGS_TOO_LONG,  /* tag section over IRC_TAGS_LEN_MAX, or too many tags */
	IRC_PARSE_TOO_LONG,       /* message over IRC_LINE_MAX - 2 bytes after the tags */
	IRC_PARSE_BAD_COMMAND,    /* neither letters nor three digits */
};

/* Parses line (len bytes, NUL-terminated, without CR LF), modifying it in
 * place; m's pointers point into line. */
enum irc_parse_status irc_parse(char *line, size_t len, struct irc_message *m);

/* Writes value escaped for a tag (IRCv3 message-tags: ';' '\\s' '\\'
 * CR LF as \: \s \\ \r \n) into dst of size cap; returns the length it
 * needs (like snprintf). */
size_t irc_tag_escape(char *dst, size_t cap, const char *value);

/* 1 when a parameter can be sent as a middle parameter (not empty, no
 * space, not starting with ':'); otherwise it must be the trailing one. */
int irc_param_is_middle(const char *param);

/* The next item of a comma-separated list (a parameter such as
 * "#a,#b"), split in place; NULL at the end. */
char *irc_list_next(char **list);

#endif
