/*
 * death_cases.h - misuse that a checked build (-DHA_CHECKED) must stop: each
 * case does one wrong thing through the public ABI. The run must end in
 * ha_fault -> ha_embed_panic with a message that names the pointer
 * ("hartalloc: pointer 0x...: ...") and matches the case's `fault` pattern.
 * A case that returns was not caught.
 *
 * Written once against hartalloc.h; tests/death/death_host.c runs each case in
 * a forked child of the host.
 */
#ifndef HA_DEATH_CASES_H
#define HA_DEATH_CASES_H

/* Called by a case with the pointer the fault message must name, just before
 * the misuse. */
typedef void (*death_note_fn)(const void *ptr);

struct death_case {
    const char *name;
    const char *what;  /* one line for listings                                */
    const char *fault; /* extended regular expression, case-insensitive        */
    void (*run)(death_note_fn note);
};

extern const struct death_case death_cases[];
extern const unsigned death_case_count;

#endif /* HA_DEATH_CASES_H */
