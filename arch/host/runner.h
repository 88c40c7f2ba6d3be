/* runner.h - between the host test runner (runner.c) and its timer
 * interrupts (runner_timer.c). */
#ifndef HA_HOST_RUNNER_H
#define HA_HOST_RUNNER_H

/* Called by each test CPU's thread before it runs anything: the timer
 * interrupts this thread as CPU `cpu`. */
void runner_timer_register(unsigned cpu);

#endif /* HA_HOST_RUNNER_H */
