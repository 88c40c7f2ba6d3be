/* console.h - kernel output through OpenSBI's console, whole lines at a time. */
#ifndef RV_CONSOLE_H
#define RV_CONSOLE_H

/* Write s while holding the console lock (interrupts masked), so the lines of
 * different harts never interleave. Safe to call again from a trap or panic
 * on a hart that already holds the lock. */
void console_puts(const char *s);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* RV_CONSOLE_H */
