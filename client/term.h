/* The line the user is typing, edited by libedit through its readline
 * callback interface, and the one rule for everything else that reaches
 * the terminal while it is there: term_hide, print, term_show. Hiding wipes
 * the prompt and the typed text from the screen (libedit keeps them);
 * showing draws them again below what was printed. */
#ifndef PARLEY_TERM_H
#define PARLEY_TERM_H

#include <stddef.h>

/* Called with each line the user enters, which it then owns (free it), or
 * with NULL at the end of input (Ctrl-D on an empty line). */
typedef void term_line_fn(char *line);

/* Takes over the terminal on stdin and stdout and draws the prompt. */
void term_start(const char *prompt, term_line_fn *fn);
/* Gives the terminal back as it was. Safe to call more than once, and
 * from inside a term_line_fn. Until term_start and after term_stop the
 * other functions do nothing, so callers need not know whether there is
 * a terminal. */
void term_stop(void);

/* Lets libedit read what is waiting on stdin; may call the line function. */
void term_read(void);

/* They nest: only the outermost pair touches the screen. */
void term_hide(void);
void term_show(void);

/* Inside a term_line_fn: removes the entered line, prompt included, from
 * the screen, for the caller to print it in another form. */
void term_erase_entered(void);

void term_set_prompt(const char *prompt);

/* What Tab completes: fn fills out with at most max candidates for word,
 * which starts at byte start of the line, and *suffix with what goes
 * after the one chosen, before the space; it returns how many. One is
 * put in place; several put in what they have in common (ASCII case
 * ignored), and a second Tab lists them. */
typedef size_t term_complete_fn(size_t start, const char *word,
    const char **out, size_t max, const char **suffix);
void term_set_completion(term_complete_fn *fn);
/* After SIGWINCH: the width changed. */
void term_resize(void);
/* After SIGCONT: whoever ran meanwhile may have reset the terminal. */
void term_resume(void);

#endif
