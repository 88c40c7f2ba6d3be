/*
 * ha_format.h - a freestanding snprintf subset, shared by the allocator core
 * (statistics, check reports, fault messages), the kernel and the tests.
 *
 * Conversions: %s %c %d %i %u %x %X %p %%, with length modifiers l, ll, z
 * and an optional '0' flag and field width (%08lx, %5u, %-12s).
 */
#ifndef HA_FORMAT_H
#define HA_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Like vsnprintf: writes at most n-1 characters plus NUL, returns the length
 * the full output would have had. */
int ha_vformat(char *buf, size_t n, const char *fmt, va_list ap);
int ha_format(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Format into a line of at most HA_FORMAT_LINE - 1 characters on the stack
 * and hand it to puts: the printf of a console that only writes strings. */
#define HA_FORMAT_LINE 512
void ha_vformat_puts(void (*puts)(const char *s), const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif
#endif /* HA_FORMAT_H */
