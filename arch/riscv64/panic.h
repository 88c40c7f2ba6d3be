/* panic.h - the two ways the kernel gives up. */
#ifndef RV_PANIC_H
#define RV_PANIC_H

/* A kernel bug: prints "PANIC hart H cpu C at file:line: message" and exits
 * with EXIT_PANIC. */
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
void panic_at(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* A bad configuration (device tree, boot arguments): prints "error: message"
 * and exits with `code`; no file:line, since the user has to act, not us. */
void die(unsigned code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

#endif /* RV_PANIC_H */
