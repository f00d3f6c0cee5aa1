#include "term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <editline/readline.h>

/* Notes on libedit 3.1 (Debian 12's 20221030), found by reading its
 * readline.c and by trying:
 * - After it hands over a line, the next rl_callback_read_char reads in
 *   buffered mode and blocks until Enter, unless the handler is installed
 *   again; so on_line installs it again every time.
 * - rl_redisplay pushes the REPRINT character (^R) into the input, which
 *   its readline emulation binds to incremental search; so redrawing is
 *   rl_forced_update_display only. It draws the prompt and the line at
 *   the cursor, on the assumption that the row is empty.
 * - rl_replace_line("") does nothing and rl_on_new_line is a stub; so the
 *   typed text is never touched: it is wiped from the screen with ANSI
 *   sequences, counting the rows it fills, and drawn again.
 * - Its signal handlers are in place only inside rl_callback_read_char;
 *   the rest of the time SIGINT, SIGWINCH and SIGCONT are the caller's
 *   (term_resize, term_resume, term_stop).
 * - A key that starts a sequence (ESC, ^V, ^R search) makes it read on,
 *   blocking, until the sequence ends; lines from the server wait. So
 *   does its question before listing more than rl_completion_query_items
 *   completions; so no more than that are ever offered.
 * - Tab calls rl_attempted_completion_function, and file names when that
 *   finds nothing unless it sets rl_attempted_completion_over. Words are
 *   split at rl_basic_word_break_characters, which by default holds
 *   characters that nicknames may hold ({, |, `). */

/* Lines kept for recalling with the arrow keys. */
#define TERM_HISTORY_MAX 1000
/* Completions offered for one Tab, at most (see above). */
#define TERM_COMPLETE_MAX 100

static struct {
	int active;
	int hidden;           /* term_hide depth */
	int entered_rows;     /* rows the entered line fills, inside on_line */
	term_line_fn *fn;
	term_complete_fn *complete;
	char prompt[512];
} term;

/* The column the terminal reaches printing the n bytes at s from column
 * col, counted as libedit draws them: tabs to the next multiple of 8,
 * control characters as ^X, other unprintable ones as \U+XXXX. */
static size_t
width_from(size_t col, const char *s, size_t n)
{
	mbstate_t st;

	memset(&st, 0, sizeof st);
	while (n > 0) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s, n, &st);
		if (k == (size_t)-1 || k == (size_t)-2) {
			memset(&st, 0, sizeof st);
			k = 1;
			wc = 0xFFFD;
		} else if (k == 0) {
			k = 1;
		}
		int w = wcwidth(wc);
		if (wc == L'\t')
			col = (col | 7) + 1;
		else if (wc < 0x20 || wc == 0x7F)
			col += 2;
		else if (w < 0)
			col += wc > 0xFFFF ? 8 : 7;
		else
			col += (size_t)w;
		s += k;
		n -= k;
	}
	return col;
}

static size_t
screen_cols(void)
{
	int cols = 0;

	rl_get_screen_size(NULL, &cols);
	return cols > 0 ? (size_t)cols : 80;
}

static size_t
prompt_width(void)
{
	return width_from(0, term.prompt, strlen(term.prompt));
}

static void
on_line(char *line)
{
	size_t cols = screen_cols();

	/* libedit has moved to the row below the line; when the line ends
	 * exactly at the margin its cursor had already gone down one. */
	if (line != NULL) {
		term.entered_rows = (int)(width_from(prompt_width(), line,
		    strlen(line)) / cols) + 1;
		if (*line != '\0')
			add_history(line);
	} else {
		/* Ctrl-D left "^D" after the prompt, on this row. */
		fputs("\r\033[K", stdout);
		term.entered_rows = 0;
	}
	/* Until the prompt is drawn again the input is not on the screen:
	 * whatever fn prints needs no hiding. */
	term.hidden++;
	term.fn(line);
	term.entered_rows = 0;
	if (!term.active)
		return;
	term.hidden--;
	rl_callback_handler_install(term.prompt, on_line);
}

/* Bytes the n candidates have in common from the start, ASCII case
 * ignored, not ending inside a UTF-8 character. */
static size_t
common_prefix(const char **cands, size_t n)
{
	size_t len = strlen(cands[0]);

	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < len && cands[i][k] != '\0' &&
		    (cands[i][k] == cands[0][k] ||
		    (((cands[i][k] | 0x20) == (cands[0][k] | 0x20)) &&
		    (cands[0][k] | 0x20) >= 'a' && (cands[0][k] | 0x20) <= 'z')))
			k++;
		len = k;
	}
	while (len > 0 && ((unsigned char)cands[0][len] & 0xC0) == 0x80)
		len--;
	return len;
}

/* libedit's matches: [0] what replaces the word, then the candidates to
 * list, NULL-ended; it frees them. */
static char **
on_complete(const char *word, int start, int end)
{
	const char *cands[TERM_COMPLETE_MAX], *suffix = "";

	(void)end;
	rl_attempted_completion_over = 1;
	if (term.complete == NULL || start < 0)
		return NULL;
	size_t n = term.complete((size_t)start, word, cands,
	    TERM_COMPLETE_MAX, &suffix);
	if (n == 0)
		return NULL;
	char **m = calloc(n + 2, sizeof *m);
	if (m == NULL)
		return NULL;
	if (n == 1) {
		size_t len = strlen(cands[0]), slen = strlen(suffix);
		if ((m[0] = malloc(len + slen + 1)) != NULL) {
			memcpy(m[0], cands[0], len);
			memcpy(m[0] + len, suffix, slen + 1);
		}
	} else {
		m[0] = strndup(cands[0], common_prefix(cands, n));
		for (size_t i = 0; i < n; i++)
			if ((m[i + 1] = strdup(cands[i])) == NULL)
				break;
	}
	if (m[0] == NULL || (n > 1 && m[n] == NULL)) {
		for (size_t i = 0; i <= n; i++)
			free(m[i]);
		free(m);
		return NULL;
	}
	return m;
}

void
term_set_completion(term_complete_fn *fn)
{
	term.complete = fn;
}

void
term_start(const char *prompt, term_line_fn *fn)
{
	term.fn = fn;
	snprintf(term.prompt, sizeof term.prompt, "%s", prompt);
	rl_readline_name = "parley"; /* for "parley:" lines in ~/.editrc */
	term.active = 1;
	rl_callback_handler_install(term.prompt, on_line);
	stifle_history(TERM_HISTORY_MAX);
	static char breaks[] = " ";
	rl_basic_word_break_characters = breaks;
	rl_completer_word_break_characters = breaks;
	rl_attempted_completion_function = on_complete;
	rl_completion_query_items = TERM_COMPLETE_MAX;
}

void
term_stop(void)
{
	if (!term.active)
		return;
	term_hide();
	term.active = 0;
	term.hidden = 0;
	rl_callback_handler_remove();
	fflush(stdout);
}

void
term_read(void)
{
	if (term.active)
		rl_callback_read_char();
}

void
term_hide(void)
{
	if (!term.active || term.hidden++ > 0)
		return;
	/* The cursor is on the row of rl_point; the prompt and line start
	 * at column 0 of the row this many above it. */
	size_t row = width_from(prompt_width(), rl_line_buffer,
	    (size_t)rl_point) / screen_cols();
	fputc('\r', stdout);
	if (row > 0)
		fprintf(stdout, "\033[%zuA", row);
	fputs("\033[J", stdout);
	fflush(stdout);
}

void
term_show(void)
{
	if (!term.active || --term.hidden > 0)
		return;
	fflush(stdout);
	fflush(stderr);
	rl_forced_update_display();
}

void
term_erase_entered(void)
{
	if (!term.active || term.entered_rows == 0)
		return;
	fprintf(stdout, "\033[%dA\r\033[J", term.entered_rows);
	term.entered_rows = 0;
	fflush(stdout);
}

void
term_set_prompt(const char *prompt)
{
	if (strcmp(prompt, term.prompt) == 0)
		return;
	term_hide();
	snprintf(term.prompt, sizeof term.prompt, "%s", prompt);
	if (term.active)
		rl_set_prompt(term.prompt);
	term_show();
}

void
term_resize(void)
{
	if (!term.active)
		return;
	rl_resize_terminal();
	term_hide();
	term_show();
}

void
term_resume(void)
{
	if (!term.active)
		return;
	/* libedit believes the terminal is still in its mode and would not
	 * set it again; leaving that mode first makes it look afresh. */
	rl_deprep_terminal();
	rl_prep_terminal(0);
	term_hide();
	term_show();
}
