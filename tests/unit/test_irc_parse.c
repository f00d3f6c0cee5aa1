/* Unit tests for the IRC message parser: tags and their escaping, source,
 * command, parameters, and the limits of Modern IRC, RFC 2812 and IRCv3
 * message-tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "doors/irc/irc_parse.h"

/* What the parser splits in place; each test's message points into it. */
static char line[IRC_TAGS_LEN_MAX + IRC_LINE_MAX + 64];

static enum irc_parse_status
parse(const char *s, struct irc_message *m)
{
	snprintf(line, sizeof line, "%s", s);
	return irc_parse(line, strlen(line), m);
}

/* A line of exactly n bytes: "@" and tag data up to tags bytes in all
 * (the space included, 0 for none), then "CMD " and a middle parameter
 * filling the rest up to rest bytes. */
static enum irc_parse_status
parse_sized(size_t tags, size_t rest, struct irc_message *m)
{
	size_t n = 0;
	if (tags > 0) {
		line[n++] = '@';
		line[n++] = 'k';
		line[n++] = '=';
		memset(line + n, 'v', tags - 4);
		n += tags - 4;
		line[n++] = ' ';
	}
	memcpy(line + n, "CMD ", 4);
	memset(line + n + 4, 'x', rest - 4);
	n += rest;
	line[n] = '\0';
	return irc_parse(line, n, m);
}

static const char *
tag(const struct irc_message *m, const char *key)
{
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value;
	fail_msg("no tag %s", key);
	return NULL;
}

static int
has_tag(const struct irc_message *m, const char *key)
{
	for (int i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return 1;
	return 0;
}

static void
test_simple_command(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("PING", &m), IRC_PARSE_OK);
	assert_string_equal(m.command, "PING");
	assert_ptr_equal(m.command, line);
	assert_null(m.source);
	assert_int_equal(m.ntags, 0);
	assert_int_equal(m.nparams, 0);

	/* The case is the sender's: matching is the caller's business. */
	assert_int_equal(parse("privMsg #a hi", &m), IRC_PARSE_OK);
	assert_string_equal(m.command, "privMsg");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#a");
	assert_string_equal(m.params[1], "hi");
	assert_ptr_equal(m.params[1], line + 11);
}

static void
test_numeric_command(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse(":irc.example.com 001 dan :Welcome home", &m),
	    IRC_PARSE_OK);
	assert_string_equal(m.source, "irc.example.com");
	assert_string_equal(m.command, "001");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "dan");
	assert_string_equal(m.params[1], "Welcome home");
}

static void
test_source(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse(":dan!d@localhost PRIVMSG #chan :Hey!", &m), IRC_PARSE_OK);
	assert_string_equal(m.source, "dan!d@localhost");
	assert_ptr_equal(m.source, line + 1);
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "#chan");
	assert_string_equal(m.params[1], "Hey!");

	/* An empty source is still a source. */
	assert_int_equal(parse(": PING x", &m), IRC_PARSE_OK);
	assert_string_equal(m.source, "");
	assert_string_equal(m.command, "PING");
}

static void
test_tag_escapes(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("@a=x\\:y\\sz\\\\w\\r\\n;b=\\b;c=end\\;d=\\\\\\ CMD", &m),
	    IRC_PARSE_OK);
	assert_int_equal(m.ntags, 4);
	assert_string_equal(tag(&m, "a"), "x;y z\\w\r\n");
	/* An invalid escape loses its backslash. */
	assert_string_equal(tag(&m, "b"), "b");
	/* A lone trailing backslash stands for nothing. */
	assert_string_equal(tag(&m, "c"), "end");
	assert_string_equal(tag(&m, "d"), "\\");
	assert_string_equal(m.command, "CMD");

	/* The spec's example: plus, colon, equals and comma travel raw. */
	assert_int_equal(parse("@+example=raw+:=,escaped\\:\\s\\\\ "
	    ":irc.example.com NOTICE #channel :Message", &m), IRC_PARSE_OK);
	assert_string_equal(tag(&m, "+example"), "raw+:=,escaped; \\");
	assert_string_equal(m.source, "irc.example.com");
	assert_string_equal(m.command, "NOTICE");
	assert_string_equal(m.params[1], "Message");
}

static void
test_tag_values_missing_and_empty(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("@aaa=bbb;ccc;example.com/ddd=eee "
	    ":nick!ident@host.com PRIVMSG me :Hello", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 3);
	assert_string_equal(m.tags[0].key, "aaa");
	assert_string_equal(m.tags[0].value, "bbb");
	assert_string_equal(m.tags[1].key, "ccc");
	assert_null(m.tags[1].value);
	assert_string_equal(tag(&m, "example.com/ddd"), "eee");
	assert_string_equal(m.source, "nick!ident@host.com");
	assert_string_equal(m.params[1], "Hello");

	/* "url=" is as good as "url"; the header keeps the difference. */
	assert_int_equal(parse("@url=;netsplit=tur,ty CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 2);
	assert_string_equal(tag(&m, "url"), "");
	assert_string_equal(tag(&m, "netsplit"), "tur,ty");

	/* Empty tags and empty keys name nothing. */
	assert_int_equal(parse("@;;=x;a; CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 1);
	assert_string_equal(m.tags[0].key, "a");

	/* "@" alone is a tag section with no tags. */
	assert_int_equal(parse("@ PING", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 0);
	assert_string_equal(m.command, "PING");
}

static void
test_client_and_vendor_tags(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("@+example;example.com/foo=1;+example.com/bar=2;"
	    "+draft/reply=abc TAGMSG #c", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 4);
	/* The prefix and vendor are part of the key, kept as sent. */
	assert_null(tag(&m, "+example"));
	assert_string_equal(tag(&m, "example.com/foo"), "1");
	assert_string_equal(tag(&m, "+example.com/bar"), "2");
	assert_string_equal(tag(&m, "+draft/reply"), "abc");
	assert_false(has_tag(&m, "example"));
	assert_false(has_tag(&m, "foo"));
	/* Keys are case-sensitive opaque identifiers. */
	assert_int_equal(parse("@A=1;a=2 CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 2);
	/* Values may carry '='. */
	assert_int_equal(parse("@k=a=b CMD", &m), IRC_PARSE_OK);
	assert_string_equal(tag(&m, "k"), "a=b");
}

static void
test_duplicate_tags_last_wins(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("@a=1;b=2;a=3 CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 2);
	assert_string_equal(tag(&m, "a"), "3");
	assert_string_equal(tag(&m, "b"), "2");

	assert_int_equal(parse("@a=1;a CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 1);
	assert_null(tag(&m, "a"));

	assert_int_equal(parse("@a;a=x CMD", &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 1);
	assert_string_equal(tag(&m, "a"), "x");
}

static void
test_tag_count(void **state)
{
	(void)state;
	struct irc_message m;
	char s[2048] = "@";
	for (int i = 0; i < IRC_TAGS_MAX; i++)
		snprintf(s + strlen(s), sizeof s - strlen(s), "t%d=%d;", i, i);
	strcat(s, " CMD");
	assert_int_equal(parse(s, &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, IRC_TAGS_MAX);
	assert_string_equal(tag(&m, "t63"), "63");

	/* One more distinct key is one too many. */
	s[strlen(s) - 4] = '\0';
	strcat(s, "extra CMD");
	assert_int_equal(parse(s, &m), IRC_PARSE_TAGS_TOO_LONG);

	/* Repeats are not counted: they replace. */
	strcpy(s, "@");
	for (int i = 0; i < 3 * IRC_TAGS_MAX; i++)
		strcat(s, "same;");
	strcat(s, " CMD");
	assert_int_equal(parse(s, &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 1);
}

static void
test_trailing(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("PRIVMSG #c :hello  world ", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1], "hello  world ");

	assert_int_equal(parse(":irc.example.com CAP * LIST :", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 3);
	assert_string_equal(m.params[0], "*");
	assert_string_equal(m.params[1], "LIST");
	assert_string_equal(m.params[2], "");

	assert_int_equal(parse("CAP REQ :sasl message-tags foo", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[1], "sasl message-tags foo");

	/* Only the first ':' is stripped; colons inside a middle stay. */
	assert_int_equal(parse("PRIVMSG #chan ::-)", &m), IRC_PARSE_OK);
	assert_string_equal(m.params[1], ":-)");
	assert_int_equal(parse("PRIVMSG a:b :x :y", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "a:b");
	assert_string_equal(m.params[1], "x :y");

	/* The trailing parameter may be the only one. */
	assert_int_equal(parse("QUIT :", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "");
}

static void
test_multiple_spaces(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("@a=1   :src   PRIVMSG   #c    x   :  y ", &m), IRC_PARSE_OK);
	assert_string_equal(tag(&m, "a"), "1");
	assert_string_equal(m.source, "src");
	assert_string_equal(m.command, "PRIVMSG");
	assert_int_equal(m.nparams, 3);
	assert_string_equal(m.params[0], "#c");
	assert_string_equal(m.params[1], "x");
	assert_string_equal(m.params[2], "  y ");

	/* Spaces at the end make no empty parameter. */
	assert_int_equal(parse("JOIN #a   ", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "#a");

	/* Spaces before the message are skipped, tags and all. */
	assert_int_equal(parse("   PING x", &m), IRC_PARSE_OK);
	assert_string_equal(m.command, "PING");
	assert_int_equal(parse("  @a=1 PING", &m), IRC_PARSE_OK);
	assert_string_equal(tag(&m, "a"), "1");

	/* Only SPACE separates: a tab is part of the word. */
	assert_int_equal(parse("PING\tx", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("PING a\tb", &m), IRC_PARSE_OK);
	assert_string_equal(m.params[0], "a\tb");
}

static void
test_fifteen_params(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 15);
	assert_string_equal(m.params[0], "1");
	assert_string_equal(m.params[14], "15");

	/* RFC 2812: after 14 middles the 15th is the rest, ':' or not. */
	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  17 ", &m),
	    IRC_PARSE_OK);
	assert_int_equal(m.nparams, IRC_PARAMS_MAX);
	assert_string_equal(m.params[13], "14");
	assert_string_equal(m.params[14], "15 16  17 ");

	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :a b", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 15);
	assert_string_equal(m.params[14], "a b");

	assert_int_equal(parse("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 ::x", &m), IRC_PARSE_OK);
	assert_string_equal(m.params[14], ":x");

	/* A trailing parameter earlier ends the list as usual. */
	assert_int_equal(parse("CMD 1 2 :3 4 5 6 7 8 9 10 11 12 13 14 15 16", &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 3);
	assert_string_equal(m.params[2], "3 4 5 6 7 8 9 10 11 12 13 14 15 16");
}

static void
test_line_length(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse_sized(0, IRC_LINE_MAX - 2, &m), IRC_PARSE_OK);
	assert_int_equal(strlen(m.params[0]), IRC_LINE_MAX - 2 - 4);
	assert_int_equal(parse_sized(0, IRC_LINE_MAX - 1, &m), IRC_PARSE_TOO_LONG);
	assert_null(m.command);

	/* Tags do not eat into the 510. */
	assert_int_equal(parse_sized(100, IRC_LINE_MAX - 2, &m), IRC_PARSE_OK);
	assert_int_equal(parse_sized(100, IRC_LINE_MAX - 1, &m), IRC_PARSE_TOO_LONG);
	assert_int_equal(parse_sized(IRC_TAGS_LEN_MAX, IRC_LINE_MAX - 2, &m), IRC_PARSE_OK);
	assert_int_equal(strlen(tag(&m, "k")), IRC_TAGS_LEN_MAX - 4);
	assert_int_equal(parse_sized(IRC_TAGS_LEN_MAX, IRC_LINE_MAX - 1, &m),
	    IRC_PARSE_TOO_LONG);

	/* Spaces before the message count: they were sent. */
	memset(line, ' ', 10);
	memcpy(line + 10, "CMD ", 4);
	memset(line + 14, 'x', IRC_LINE_MAX - 2 - 14);
	line[IRC_LINE_MAX - 2] = '\0';
	assert_int_equal(irc_parse(line, IRC_LINE_MAX - 2, &m), IRC_PARSE_OK);
	memset(line, ' ', 11);
	memcpy(line + 11, "CMD ", 4);
	memset(line + 15, 'x', IRC_LINE_MAX - 2 - 14);
	line[IRC_LINE_MAX - 1] = '\0';
	assert_int_equal(irc_parse(line, IRC_LINE_MAX - 1, &m), IRC_PARSE_TOO_LONG);
}

static void
test_tags_length(void **state)
{
	(void)state;
	struct irc_message m;
	/* IRC_TAGS_LEN_MAX bytes with the '@' and the space: the most allowed. */
	assert_int_equal(parse_sized(IRC_TAGS_LEN_MAX, 10, &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 1);
	assert_string_equal(m.command, "CMD");
	assert_int_equal(parse_sized(IRC_TAGS_LEN_MAX + 1, 10, &m), IRC_PARSE_TAGS_TOO_LONG);
	assert_null(m.command);

	/* With no space after them, the tags are measured as if it were there. */
	line[0] = '@';
	memset(line + 1, 'a', IRC_TAGS_LEN_MAX - 2);
	line[IRC_TAGS_LEN_MAX - 1] = '\0';
	assert_int_equal(irc_parse(line, IRC_TAGS_LEN_MAX - 1, &m), IRC_PARSE_NO_COMMAND);
	line[0] = '@';
	memset(line + 1, 'a', IRC_TAGS_LEN_MAX - 1);
	line[IRC_TAGS_LEN_MAX] = '\0';
	assert_int_equal(irc_parse(line, IRC_TAGS_LEN_MAX, &m), IRC_PARSE_TAGS_TOO_LONG);
}

static void
test_empty(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse("", &m), IRC_PARSE_EMPTY);
	assert_null(m.command);
	assert_int_equal(parse("     ", &m), IRC_PARSE_EMPTY);

	/* A line is over at its first NUL, whatever len says. */
	memcpy(line, "\0PING", 6);
	assert_int_equal(irc_parse(line, 5, &m), IRC_PARSE_EMPTY);
	memcpy(line, "PING a\0b c", 11);
	assert_int_equal(irc_parse(line, 10, &m), IRC_PARSE_OK);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "a");

	/* len is the end even without a NUL there. */
	memcpy(line, "PING abc", 9);
	assert_int_equal(irc_parse(line, 8, &m), IRC_PARSE_OK);
}

static void
test_no_command(void **state)
{
	(void)state;
	struct irc_message m;
	assert_int_equal(parse(":source", &m), IRC_PARSE_NO_COMMAND);
	assert_null(m.command);
	assert_int_equal(parse(":source   ", &m), IRC_PARSE_NO_COMMAND);
	assert_int_equal(parse(":", &m), IRC_PARSE_NO_COMMAND);
	assert_int_equal(parse("@a=b", &m), IRC_PARSE_NO_COMMAND);
	assert_null(m.command);
	assert_int_equal(parse("@a=b   ", &m), IRC_PARSE_NO_COMMAND);
	assert_int_equal(parse("@a=b :src", &m), IRC_PARSE_NO_COMMAND);
	assert_int_equal(parse("@", &m), IRC_PARSE_NO_COMMAND);
}

static void
test_bad_command(void **state)
{
	(void)state;
	struct irc_message m;
	/* The command is still there, for the ERR_UNKNOWNCOMMAND reply. */
	assert_int_equal(parse("12 a", &m), IRC_PARSE_BAD_COMMAND);
	assert_string_equal(m.command, "12");
	assert_int_equal(parse("1234", &m), IRC_PARSE_BAD_COMMAND);
	assert_string_equal(m.command, "1234");
	assert_int_equal(parse(":src PR1VMSG #a :x", &m), IRC_PARSE_BAD_COMMAND);
	assert_string_equal(m.command, "PR1VMSG");
	assert_int_equal(parse("1", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("12a", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("A12", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("PRIV-MSG", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("@a b\xc3\xa9", &m), IRC_PARSE_BAD_COMMAND);
	assert_int_equal(parse("/nick", &m), IRC_PARSE_BAD_COMMAND);

	assert_int_equal(parse("999", &m), IRC_PARSE_OK);
	assert_int_equal(parse("000 x", &m), IRC_PARSE_OK);
	assert_int_equal(parse("x", &m), IRC_PARSE_OK);
}

static void
roundtrip(const char *value)
{
	char esc[256];
	size_t n = irc_tag_escape(esc, sizeof esc, value);
	assert_true(n < sizeof esc);
	assert_int_equal(strlen(esc), n);
	assert_null(strpbrk(esc, " ;\r\n"));

	char s[300];
	snprintf(s, sizeof s, "@+x=%s;y=1 TAGMSG #c", esc);
	struct irc_message m;
	assert_int_equal(parse(s, &m), IRC_PARSE_OK);
	assert_int_equal(m.ntags, 2);
	assert_string_equal(tag(&m, "+x"), value);
	assert_string_equal(tag(&m, "y"), "1");
	assert_string_equal(m.params[0], "#c");
}

static void
test_escape_roundtrip(void **state)
{
	(void)state;
	char esc[64];
	assert_int_equal(irc_tag_escape(esc, sizeof esc, "raw+:=,escaped; \\"), 20);
	assert_string_equal(esc, "raw+:=,escaped\\:\\s\\\\");
	assert_int_equal(irc_tag_escape(esc, sizeof esc, "a\r\nb"), 6);
	assert_string_equal(esc, "a\\r\\nb");
	assert_int_equal(irc_tag_escape(esc, sizeof esc, ""), 0);
	assert_string_equal(esc, "");

	roundtrip("");
	roundtrip("plain");
	roundtrip("raw+:=,escaped; \\");
	roundtrip("\\");
	roundtrip("\\\\s");
	roundtrip("end with backslash\\");
	roundtrip(";;;   \r\n\r\n");
	roundtrip("\\b \\: \\s");
	roundtrip("caf\xc3\xa9 \xe2\x9c\x93");
	roundtrip("=@:+/");
}

static void
test_escape_truncates(void **state)
{
	(void)state;
	char esc[8];
	/* Like snprintf: the length it needs, NUL-terminated output. */
	memset(esc, '#', sizeof esc);
	assert_int_equal(irc_tag_escape(esc, 4, "abcdef"), 6);
	assert_string_equal(esc, "abc");

	/* Never half an escape, and nothing after the one that did not fit. */
	memset(esc, '#', sizeof esc);
	assert_int_equal(irc_tag_escape(esc, 3, "a;b"), 4);
	assert_string_equal(esc, "a");
	memset(esc, '#', sizeof esc);
	assert_int_equal(irc_tag_escape(esc, 4, "a;b"), 4);
	assert_string_equal(esc, "a\\:");
	memset(esc, '#', sizeof esc);
	assert_int_equal(irc_tag_escape(esc, 1, "x"), 1);
	assert_string_equal(esc, "");
	assert_int_equal(irc_tag_escape(NULL, 0, "a b"), 4);
}

static void
test_param_is_middle(void **state)
{
	(void)state;
	assert_true(irc_param_is_middle("abc"));
	assert_true(irc_param_is_middle("#chan"));
	assert_true(irc_param_is_middle("a:b"));
	assert_true(irc_param_is_middle("*"));
	assert_false(irc_param_is_middle(""));
	assert_false(irc_param_is_middle(":a"));
	assert_false(irc_param_is_middle(":"));
	assert_false(irc_param_is_middle("a b"));
	assert_false(irc_param_is_middle(" "));
	assert_false(irc_param_is_middle(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_command),
		cmocka_unit_test(test_numeric_command),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_tag_escapes),
		cmocka_unit_test(test_tag_values_missing_and_empty),
		cmocka_unit_test(test_client_and_vendor_tags),
		cmocka_unit_test(test_duplicate_tags_last_wins),
		cmocka_unit_test(test_tag_count),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_multiple_spaces),
		cmocka_unit_test(test_fifteen_params),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_tags_length),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_bad_command),
		cmocka_unit_test(test_escape_roundtrip),
		cmocka_unit_test(test_escape_truncates),
		cmocka_unit_test(test_param_is_middle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
