// result_text.h — tidying a tool's result for inline use in "[Tool(input) -> result]" (internal).
#ifndef TF_RESULT_TEXT_H
#define TF_RESULT_TEXT_H

#include <stddef.h>

// Copies in[0..len) into out[cap] as one line: whitespace and control-character runs become one
// space, leading/trailing spaces go, '[' and ']' become '(' and ')' (so the result cannot close the
// call early), and the text is cut to at most budget bytes (and cap - 1) at the last space when
// that keeps at least half the budget, else at a UTF-8 character boundary. Returns the length
// written.
size_t result_clean(char *out, size_t cap, const char *in, size_t len, size_t budget);

#endif
