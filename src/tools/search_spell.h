// search_spell.h — "did you mean": the words of an index's passage titles, and the nearest of them
// to a query word the index does not know (a misspelt or cut-off name: "Pimbabwe", "Kzakhstan",
// "Vanu"). Used by search_index.c before it ranks; internal to the library.
#ifndef TF_SEARCH_SPELL_H
#define TF_SEARCH_SPELL_H

#include <stddef.h>

typedef struct spell_lexicon spell_lexicon;

// An empty lexicon (NULL when out of memory).
spell_lexicon *spell_new(void);
void spell_free(spell_lexicon *lx);

// Adds the words of one title (runs of ASCII letters, 3..SPELL_MAX_WORD bytes; words with digits
// or other bytes are skipped), in indexing order: a word keeps the order of its first title, and
// is marked a name when some title writes it capitalised. 0, or -1 when out of memory.
#define SPELL_MAX_WORD 40
int spell_add_title(spell_lexicon *lx, const char *title);

// Sorts the words for lookups; call once, after the last spell_add_title. 0, or -1 when out of memory.
int spell_finish(spell_lexicon *lx);
size_t spell_count(const spell_lexicon *lx);

// The lexicon's word nearest to word[0..len) (compared lower-cased), written lower-cased into
// out[cap]; 1 when one is near enough, 0 otherwise. Near enough: an optimal-string-alignment edit
// distance (insertions, deletions, substitutions, swaps of neighbours) of at most 1 for words of
// 4-5 letters, 2 for 6-8, 3 for 9 and more; or word is the start of a lexicon word, at least 4
// letters and at least half of it (a name cut short), counted as distance 1. Ties go to a name
// when word is capitalised, then to the smaller difference in length, then to the word of the
// earliest title. Words of fewer than 4 letters, or not all letters, are never corrected.
int spell_nearest(const spell_lexicon *lx, const char *word, size_t len, char *out, size_t cap);

// 1 when word[0..len) (any case) is a lexicon word that some title writes capitalised (a name:
// "Sri", "Kenya"; not "name" or "yes", which titles write in lower case), else 0.
int spell_is_name(const spell_lexicon *lx, const char *word, size_t len);

// The optimal-string-alignment distance between a[0..la) and b[0..lb) (ASCII, case-insensitive),
// or limit + 1 when it exceeds limit (the computation stops early). la, lb <= SPELL_MAX_WORD.
int spell_distance(const char *a, size_t la, const char *b, size_t lb, int limit);

#endif
